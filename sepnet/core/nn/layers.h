// The layers the MNIST models and MobileNet need. Initialisation follows PyTorch's defaults
// (Kaiming-uniform with a = √5: U(−1/√fan_in, 1/√fan_in) for weights and biases), so runs
// are comparable with PyTorch's.
#pragma once
#include <initializer_list>

#include "sepnet/core/nn/module.h"
#include "sepnet/core/random.h"

namespace sepnet::nn {

// Activation layouts of a conv's input and output. Parameters and checkpoint names are the same
// for all three.
enum class ConvLayout {
  nchw,              // ops::conv2d
  nhwc,              // ops::conv2d_nhwc: channels-last in and out
  nchw_in_nhwc_out,  // ops::conv2d_nchw_to_nhwc: a channels-last network's stem (groups 1)
};

struct Conv2dOptions {
  int in_channels, out_channels, kernel_size;
  int stride = 1, padding = 0, groups = 1;
  bool bias = true;
  ConvLayout layout = ConvLayout::nchw;
};

class Conv2d : public Module {
 public:
  Conv2d(const Conv2dOptions& options, Rng& rng);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Shape output_shape(const Shape& in) const override;
  int64_t macs(const Shape& in) const override;
  const Conv2dOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  Conv2dOptions options_;
};

class Linear : public Module {
 public:
  Linear(int in_features, int out_features, Rng& rng, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Shape output_shape(const Shape& in) const override;
  int64_t macs(const Shape& in) const override;
  Tensor weight, bias;

 private:
  int in_, out_;
};

class BatchNorm2d : public Module {
 public:
  explicit BatchNorm2d(int channels, float momentum = 0.1f, float eps = 1e-5f, bool channels_last = false);
  Tensor forward(const Tensor& x) override;
  // relu(forward(x)) as one fused op; Sequential uses it for a BatchNorm2d followed by a ReLU.
  Tensor forward_relu(const Tensor& x);
  std::string describe() const override;
  float eps() const { return eps_; }
  // PyTorch's int64 num_batches_tracked is not kept: with a fixed momentum it changes nothing.
  Tensor weight, bias, running_mean, running_var;

 private:
  int channels_;
  float momentum_, eps_;
  bool channels_last_;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU()"; }
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int kernel, int stride = 0) : kernel_(kernel), stride_(stride > 0 ? stride : kernel) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Shape output_shape(const Shape& in) const override;
  int kernel() const { return kernel_; }
  int stride() const { return stride_; }

 private:
  int kernel_, stride_;
};

// Global average pooling [N, C, H, W] -> [N, C] (MobileNet's head), as a reshape + mean;
// channels_last: [N, H, W, C] -> [N, C].
class GlobalAvgPool : public Module {
 public:
  explicit GlobalAvgPool(bool channels_last = false) : channels_last_(channels_last) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "GlobalAvgPool()"; }
  Shape output_shape(const Shape& in) const override { return {in[0], channels_last_ ? in[3] : in[1]}; }

 private:
  bool channels_last_;
};

class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Flatten()"; }
  Shape output_shape(const Shape& in) const override;
};

class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> layers);
  void add(std::shared_ptr<Module> layer);  // named by position: "0", "1", ...
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sequential"; }
  Shape output_shape(const Shape& in) const override;
  int64_t macs(const Shape& in) const override;
  size_t size() const { return children().size(); }

 private:
  BatchNorm2d* fusable_bn_relu(size_t i) const;  // child i if it is a BN followed by a ReLU
};

}  // namespace sepnet::nn
