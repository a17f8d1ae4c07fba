// Tensor: float32, N-d shape, contiguous 64-byte-aligned storage, shared by reshape views.
// A Tensor is a cheap handle (shared_ptr); copies alias the same data.
// Autograd state lives in the same TensorImpl: ops record their inputs and a backward
// function on the result when gradients are enabled (see core/autograd.h).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sepnet/core/storage.h"

namespace sepnet {

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);
std::string shape_to_string(const Shape& shape);  // "[64, 1, 28, 28]"

struct TensorImpl {
  Shape shape;
  std::shared_ptr<Storage> storage;
  int64_t offset = 0;  // in floats, for views
  bool requires_grad = false;
  std::shared_ptr<Storage> grad;  // lazily allocated, zero-initialised, same numel

  // Autograd: set on results of ops while recording. backward_fn reads self's grad and
  // accumulates into the grads of `inputs`. Cleared after backward() so activations are freed.
  std::vector<std::shared_ptr<TensorImpl>> inputs;
  std::function<void(TensorImpl& self)> backward_fn;
  int profile_layer = -1;  // the profiler scope the op ran in (core/profiler.h)

  int64_t numel() const { return shape_numel(shape); }
  float* data() { return storage->data() + offset; }
  const float* data() const { return storage->data() + offset; }
  // Gradient buffer, allocated (zeroed) on first use.
  float* grad_data();
  // For a backward kernel that writes every element of this gradient: allocates it without
  // zeroing when it does not exist yet (accumulate = false: the kernel must assign), else
  // returns the existing one (accumulate = true). Saves a memset per activation per step.
  float* grad_data_for_write(bool& accumulate);
  bool has_grad() const { return grad != nullptr; }
};

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  static Tensor empty(const Shape& shape);
  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl_->shape; }
  int64_t dim(int i) const;  // negative counts from the end
  int ndim() const { return static_cast<int>(impl_->shape.size()); }
  int64_t numel() const { return impl_->numel(); }
  float* data() { return impl_->data(); }
  const float* data() const { return impl_->data(); }
  float item() const;  // the value of a one-element tensor
  std::vector<float> to_vector() const;

  bool requires_grad() const { return impl_->requires_grad; }
  Tensor& set_requires_grad(bool on = true);
  // The accumulated gradient (a tensor without autograd), or an undefined Tensor if none.
  Tensor grad() const;
  void zero_grad();  // drops the gradient buffer's contents (keeps it allocated)

  // Reverse-mode autodiff from this one-element tensor: d(this)/d(leaf) accumulates into
  // every leaf that requires grad. The recorded graph is released afterwards.
  void backward();

  Tensor detach() const;  // same data, no autograd history
  Tensor clone() const;   // copied data, no autograd history
  void copy_from(const Tensor& other);  // data copy, shapes must have the same numel

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

}  // namespace sepnet
