// nn modules: named parameters and buffers, train/eval mode, nested children.
// Names follow PyTorch's state_dict convention ("conv_module.0.weight").
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sepnet/core/tensor.h"

namespace sepnet::nn {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }

  // A one-line description, e.g. "Conv2d(1, 6, kernel_size=5, stride=1)".
  virtual std::string describe() const = 0;
  // Shape of the output for an input of `in` (batch included), and multiply-accumulates.
  virtual Shape output_shape(const Shape& in) const { return in; }
  virtual int64_t macs(const Shape& in) const { return 0; }

  NamedTensors named_parameters(const std::string& prefix = "") const;
  NamedTensors named_buffers(const std::string& prefix = "") const;
  // Parameters then buffers of each module, in registration order (PyTorch's state_dict order).
  NamedTensors state_dict(const std::string& prefix = "") const;
  std::vector<Tensor> parameters() const;
  int64_t parameter_count() const;

  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const { return children_; }

 protected:
  Tensor& register_parameter(const std::string& name, Tensor t);
  Tensor& register_buffer(const std::string& name, Tensor t);
  void register_module(const std::string& name, std::shared_ptr<Module> m);

 private:
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

}  // namespace sepnet::nn
