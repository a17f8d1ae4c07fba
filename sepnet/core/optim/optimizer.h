// Optimizers with PyTorch's update rules, so hyper-parameters carry over.
#pragma once
#include <string>
#include <vector>

#include "sepnet/core/nn/module.h"

namespace sepnet::optim {

class Optimizer {
 public:
  explicit Optimizer(std::vector<Tensor> params) : params_(std::move(params)) {}
  virtual ~Optimizer() = default;
  virtual void step() = 0;
  void zero_grad();
  float learning_rate() const { return lr_; }
  void set_learning_rate(float lr) { lr_ = lr; }
  virtual std::string name() const = 0;
  // Internal state (momentum buffers, Adam moments) by name, and the step count, so a
  // checkpoint can resume training exactly.
  virtual nn::NamedTensors state() const = 0;
  int64_t step_count() const { return steps_; }
  void set_step_count(int64_t n) { steps_ = n; }

 protected:
  std::vector<Tensor> params_;
  float lr_ = 0.01f;
  int64_t steps_ = 0;
};

struct SgdOptions {
  float lr = 0.01f, momentum = 0.0f, weight_decay = 0.0f;
};

// PyTorch SGD: g += wd·p; buf = momentum·buf + g (buf = g on the first step); p -= lr·buf.
class Sgd : public Optimizer {
 public:
  Sgd(std::vector<Tensor> params, const SgdOptions& options);
  void step() override;
  std::string name() const override { return "sgd"; }
  nn::NamedTensors state() const override;

 private:
  SgdOptions options_;
  std::vector<Tensor> momentum_;
};

struct AdamOptions {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
};

// PyTorch Adam (L2 weight decay added to the gradient, bias-corrected moments).
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options);
  void step() override;
  std::string name() const override { return "adam"; }
  nn::NamedTensors state() const override;

 private:
  AdamOptions options_;
  std::vector<Tensor> m_, v_;
};

}  // namespace sepnet::optim
