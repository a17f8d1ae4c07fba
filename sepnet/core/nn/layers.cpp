#include "sepnet/core/nn/layers.h"

#include <chrono>
#include <cmath>
#include <stdexcept>

#include "sepnet/core/ops.h"
#include "sepnet/core/profiler.h"

namespace sepnet::nn {

namespace {
Tensor uniform_tensor(const Shape& shape, float bound, Rng& rng) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(-bound, bound);
  return t;
}
}  // namespace

Conv2d::Conv2d(const Conv2dOptions& o, Rng& rng) : options_(o) {
  if (o.in_channels % o.groups || o.out_channels % o.groups)
    throw std::invalid_argument("Conv2d: channels not divisible by groups");
  if (o.layout == ConvLayout::nchw_in_nhwc_out && o.groups != 1)
    throw std::invalid_argument("Conv2d: an NCHW-to-NHWC conv must have groups = 1");
  const int fan_in = o.in_channels / o.groups * o.kernel_size * o.kernel_size;
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  weight = register_parameter(
      "weight", uniform_tensor({o.out_channels, o.in_channels / o.groups, o.kernel_size, o.kernel_size}, bound, rng));
  if (o.bias) bias = register_parameter("bias", uniform_tensor({o.out_channels}, bound, rng));
}

Tensor Conv2d::forward(const Tensor& x) {
  switch (options_.layout) {
    case ConvLayout::nhwc:
      return ops::conv2d_nhwc(x, weight, bias, options_.stride, options_.padding, options_.groups);
    case ConvLayout::nchw_in_nhwc_out:
      return ops::conv2d_nchw_to_nhwc(x, weight, bias, options_.stride, options_.padding);
    case ConvLayout::nchw: break;
  }
  return ops::conv2d(x, weight, bias, options_.stride, options_.padding, options_.groups);
}

std::string Conv2d::describe() const {
  std::string s = "Conv2d(" + std::to_string(options_.in_channels) + ", " + std::to_string(options_.out_channels) +
                  ", kernel_size=" + std::to_string(options_.kernel_size);
  if (options_.stride != 1) s += ", stride=" + std::to_string(options_.stride);
  if (options_.padding) s += ", padding=" + std::to_string(options_.padding);
  if (options_.groups != 1) s += ", groups=" + std::to_string(options_.groups);
  if (!options_.bias) s += ", bias=False";
  return s + ")";
}

Shape Conv2d::output_shape(const Shape& in) const {
  const int k = options_.kernel_size, s = options_.stride, p = options_.padding;
  const bool in_last = options_.layout == ConvLayout::nhwc;
  const int64_t h = in_last ? in[1] : in[2], w = in_last ? in[2] : in[3];
  const int64_t oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
  if (options_.layout != ConvLayout::nchw) return {in[0], oh, ow, options_.out_channels};
  return {in[0], options_.out_channels, oh, ow};
}

int64_t Conv2d::macs(const Shape& in) const {
  const Shape out = output_shape(in);
  return shape_numel(out) * (options_.in_channels / options_.groups) * options_.kernel_size * options_.kernel_size;
}

Linear::Linear(int in_features, int out_features, Rng& rng, bool has_bias) : in_(in_features), out_(out_features) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(in_features));
  weight = register_parameter("weight", uniform_tensor({out_features, in_features}, bound, rng));
  if (has_bias) bias = register_parameter("bias", uniform_tensor({out_features}, bound, rng));
}

Tensor Linear::forward(const Tensor& x) { return ops::linear(x, weight, bias); }
std::string Linear::describe() const {
  return "Linear(" + std::to_string(in_) + ", " + std::to_string(out_) + ")";
}
Shape Linear::output_shape(const Shape& in) const { return {in[0], out_}; }
int64_t Linear::macs(const Shape& in) const { return in[0] * static_cast<int64_t>(in_) * out_; }

BatchNorm2d::BatchNorm2d(int channels, float momentum, float eps, bool channels_last)
    : channels_(channels), momentum_(momentum), eps_(eps), channels_last_(channels_last) {
  weight = register_parameter("weight", Tensor::full({channels}, 1.0f));
  bias = register_parameter("bias", Tensor::zeros({channels}));
  running_mean = register_buffer("running_mean", Tensor::zeros({channels}));
  running_var = register_buffer("running_var", Tensor::full({channels}, 1.0f));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  const auto bn = channels_last_ ? ops::batch_norm2d_nhwc : ops::batch_norm2d;
  return bn(x, weight, bias, running_mean, running_var, is_training(), momentum_, eps_, false);
}
Tensor BatchNorm2d::forward_relu(const Tensor& x) {
  const auto bn = channels_last_ ? ops::batch_norm2d_nhwc : ops::batch_norm2d;
  return bn(x, weight, bias, running_mean, running_var, is_training(), momentum_, eps_, /*fuse_relu=*/true);
}

std::string BatchNorm2d::describe() const { return "BatchNorm2d(" + std::to_string(channels_) + ")"; }

Tensor ReLU::forward(const Tensor& x) { return ops::relu(x); }

Tensor MaxPool2d::forward(const Tensor& x) { return ops::max_pool2d(x, kernel_, stride_); }
std::string MaxPool2d::describe() const {
  return "MaxPool2d(kernel_size=" + std::to_string(kernel_) + ", stride=" + std::to_string(stride_) + ")";
}
Shape MaxPool2d::output_shape(const Shape& in) const {
  return {in[0], in[1], (in[2] - kernel_) / stride_ + 1, (in[3] - kernel_) / stride_ + 1};
}

Tensor GlobalAvgPool::forward(const Tensor& x) {
  if (channels_last_) return ops::global_avg_pool_nhwc(x);
  // mean over H·W: reshape to [N·C, H·W] and use a linear map with a constant weight row.
  const int64_t hw = x.dim(2) * x.dim(3);
  Tensor flat = ops::reshape(x, {x.dim(0) * x.dim(1), hw});
  Tensor w = Tensor::full({1, hw}, 1.0f / static_cast<float>(hw));
  return ops::reshape(ops::linear(flat, w, Tensor()), {x.dim(0), x.dim(1)});
}

Tensor Flatten::forward(const Tensor& x) { return ops::flatten(x); }
Shape Flatten::output_shape(const Shape& in) const {
  int64_t rest = 1;
  for (size_t i = 1; i < in.size(); ++i) rest *= in[i];
  return {in[0], rest};
}

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> layers) {
  for (auto& l : layers) add(l);
}

void Sequential::add(std::shared_ptr<Module> layer) { register_module(std::to_string(size()), std::move(layer)); }

// A BatchNorm2d directly followed by a ReLU runs as one fused op (one pass over the data
// instead of two, forward and backward); the ReLU child stays in place (checkpoint names and
// printed structure do not change) and is skipped. The profiler books the pair on the BN layer.
BatchNorm2d* Sequential::fusable_bn_relu(size_t i) const {
  const auto& layers = children();
  if (i + 1 >= layers.size()) return nullptr;
  auto* bn = dynamic_cast<BatchNorm2d*>(layers[i].second.get());
  return bn && dynamic_cast<ReLU*>(layers[i + 1].second.get()) ? bn : nullptr;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor h = x;
  const auto& layers = children();
  for (size_t i = 0; i < layers.size(); ++i) {
    const auto& [name, layer] = layers[i];
    BatchNorm2d* fused = fusable_bn_relu(i);
    Module* module = layer.get();  // a structured binding is not capturable in C++17 or clang 14
    auto run = [&] { return fused ? fused->forward_relu(h) : module->forward(h); };
    if (!profiler::enabled()) {
      h = run();
    } else {
      profiler::Scope scope(name, fused ? layer->describe() + "+ReLU" : layer->describe());
      const int64_t macs = layer->children().empty() ? layer->macs(h.shape()) : 0;
      const int64_t in_numel = h.numel();
      const auto start = std::chrono::steady_clock::now();
      h = run();
      if (layer->children().empty()) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        // Minimum traffic of the call: read input and parameters, write output (FP32).
        const int64_t bytes = 4 * (in_numel + h.numel() + layer->parameter_count());
        profiler::add_forward(scope.id(), seconds, macs, bytes);
      }
    }
    if (fused) ++i;  // the ReLU ran inside the fused op
  }
  return h;
}

Shape Sequential::output_shape(const Shape& in) const {
  Shape s = in;
  for (auto& [name, layer] : children()) s = layer->output_shape(s);
  return s;
}

int64_t Sequential::macs(const Shape& in) const {
  Shape s = in;
  int64_t total = 0;
  for (auto& [name, layer] : children()) {
    total += layer->macs(s);
    s = layer->output_shape(s);
  }
  return total;
}

}  // namespace sepnet::nn
