#include "core/optim/optimizer.h"

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
  const float mu = options_.momentum, wd = options_.weight_decay;
  for (size_t i = 0; i < params_.size(); ++i) {
    Tensor& p = params_[i];
    if (!p.impl()->has_grad()) continue;
    float* w = p.data();
    const float* g = p.impl()->grad->data();
    float* buf = momentum_[i].data();
    for (int64_t j = 0; j < p.numel(); ++j) {
      float d = g[j] + wd * w[j];
      if (mu != 0.0f) {
        buf[j] = steps_ == 0 ? d : mu * buf[j] + d;
        d = buf[j];
      }
      w[j] -= lr_ * d;
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
    float* w = p.data();
    const float* g = p.impl()->grad->data();
    float* m = m_[i].data();
    float* v = v_[i].data();
    for (int64_t j = 0; j < p.numel(); ++j) {
      const float d = g[j] + options_.weight_decay * w[j];
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
