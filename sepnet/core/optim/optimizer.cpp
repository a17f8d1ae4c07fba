#include "sepnet/core/optim/optimizer.h"

#include <cmath>

namespace sepnet::optim {

void Optimizer::zero_grad() {
  for (Tensor& p : params_) p.zero_grad();
}

Sgd::Sgd(std::vector<Tensor> params, const SgdOptions& options) : Optimizer(std::move(params)), options_(options) {
  lr_ = options.lr;
  for (const Tensor& p : params_) momentum_.push_back(Tensor::zeros(p.shape()));
}

void Sgd::step() {
  const float mu = options_.momentum, wd = options_.weight_decay, lr = lr_;
  const bool first = steps_ == 0;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.impl()->has_grad()) continue;
    // Restrict-qualified, branch-free loops so they vectorize (the per-element branches on
    // momentum and first step made this 5 % of a small model's training step).
    float* __restrict w = p.data();
    const float* __restrict g = p.impl()->grad->data();
    float* __restrict buf = mu != 0.0f ? momentum_[i].data() : nullptr;
    const int64_t n = p.numel();
    if (mu == 0.0f) {
      for (int64_t j = 0; j < n; ++j) w[j] -= lr * (g[j] + wd * w[j]);
    } else if (first) {
      for (int64_t j = 0; j < n; ++j) {
        buf[j] = g[j] + wd * w[j];
        w[j] -= lr * buf[j];
      }
    } else {
      for (int64_t j = 0; j < n; ++j) {
        buf[j] = mu * buf[j] + (g[j] + wd * w[j]);
        w[j] -= lr * buf[j];
      }
    }
  }
  ++steps_;
}

nn::NamedTensors Sgd::state() const {
  nn::NamedTensors out;
  for (size_t i = 0; i < momentum_.size(); ++i) out.emplace_back("momentum." + std::to_string(i), momentum_[i]);
  return out;
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Optimizer(std::move(params)), options_(options) {
  lr_ = options.lr;
  for (const Tensor& p : params_) {
    m_.push_back(Tensor::zeros(p.shape()));
    v_.push_back(Tensor::zeros(p.shape()));
  }
}

void Adam::step() {
  ++steps_;
  const float b1 = options_.beta1, b2 = options_.beta2;
  const float correction1 = 1.0f - std::pow(b1, static_cast<float>(steps_));
  const float correction2 = 1.0f - std::pow(b2, static_cast<float>(steps_));
  const float step_size = lr_ / correction1;
  const float sqrt_c2 = std::sqrt(correction2);
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.impl()->has_grad()) continue;
    float* __restrict w = p.data();  // restrict: lets the loop vectorize
    const float* __restrict g = p.impl()->grad->data();
    float* __restrict m = m_[i].data();
    float* __restrict v = v_[i].data();
    const int64_t n = p.numel();
    const float wd = options_.weight_decay;
    for (int64_t j = 0; j < n; ++j) {
      const float d = g[j] + wd * w[j];
      m[j] = b1 * m[j] + (1.0f - b1) * d;
      v[j] = b2 * v[j] + (1.0f - b2) * d * d;
      w[j] -= step_size * m[j] / (std::sqrt(v[j]) / sqrt_c2 + options_.eps);
    }
  }
}

nn::NamedTensors Adam::state() const {
  nn::NamedTensors out;
  for (size_t i = 0; i < m_.size(); ++i) {
    out.emplace_back("exp_avg." + std::to_string(i), m_[i]);
    out.emplace_back("exp_avg_sq." + std::to_string(i), v_[i]);
  }
  return out;
}

}  // namespace sepnet::optim
