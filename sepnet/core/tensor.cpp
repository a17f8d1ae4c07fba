#include "sepnet/core/tensor.h"

#include <cstring>
#include <stdexcept>

#include "sepnet/core/autograd.h"

namespace sepnet {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

float* TensorImpl::grad_data() {
  if (!grad) grad = make_storage(numel(), /*zero=*/true);
  return grad->data();
}

float* TensorImpl::grad_data_for_write(bool& accumulate) {
  accumulate = grad != nullptr;
  if (!grad) grad = make_storage(numel(), /*zero=*/false);
  return grad->data();
}

namespace {
std::shared_ptr<TensorImpl> new_impl(const Shape& shape, bool zero) {
  for (int64_t d : shape)
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_to_string(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->storage = make_storage(shape_numel(shape), zero);
  return impl;
}
}  // namespace

Tensor Tensor::empty(const Shape& shape) { return Tensor(new_impl(shape, false)); }
Tensor Tensor::zeros(const Shape& shape) { return Tensor(new_impl(shape, true)); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  float* p = t.data();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = value;
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  if (shape_numel(shape) != static_cast<int64_t>(values.size()))
    throw std::invalid_argument("from_vector: shape " + shape_to_string(shape) + " needs " +
                                std::to_string(shape_numel(shape)) + " values, got " +
                                std::to_string(values.size()));
  Tensor t = empty(shape);
  if (!values.empty()) std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

int64_t Tensor::dim(int i) const {
  int n = ndim();
  if (i < 0) i += n;
  if (i < 0 || i >= n) throw std::out_of_range("dim " + std::to_string(i) + " of " + shape_to_string(shape()));
  return impl_->shape[static_cast<size_t>(i)];
}

float Tensor::item() const {
  if (numel() != 1) throw std::invalid_argument("item() on a tensor of shape " + shape_to_string(shape()));
  return data()[0];
}

std::vector<float> Tensor::to_vector() const { return std::vector<float>(data(), data() + numel()); }

Tensor& Tensor::set_requires_grad(bool on) {
  impl_->requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  if (!impl_->grad) return Tensor();
  auto g = std::make_shared<TensorImpl>();
  g->shape = impl_->shape;
  g->storage = impl_->grad;
  return Tensor(g);
}

void Tensor::zero_grad() {
  if (impl_->grad) std::memset(impl_->grad->data(), 0, static_cast<size_t>(numel()) * sizeof(float));
}

void Tensor::backward() { run_backward(*impl_); }

Tensor Tensor::detach() const {
  auto d = std::make_shared<TensorImpl>();
  d->shape = impl_->shape;
  d->storage = impl_->storage;
  d->offset = impl_->offset;
  return Tensor(d);
}

Tensor Tensor::clone() const {
  Tensor t = empty(shape());
  std::memcpy(t.data(), data(), static_cast<size_t>(numel()) * sizeof(float));
  return t;
}

void Tensor::copy_from(const Tensor& other) {
  if (other.numel() != numel())
    throw std::invalid_argument("copy_from: " + shape_to_string(other.shape()) + " into " + shape_to_string(shape()));
  std::memcpy(data(), other.data(), static_cast<size_t>(numel()) * sizeof(float));
}

}  // namespace sepnet
