// Finite-difference gradient checking for ops (central differences in double-accumulated
// float32). The scalar probed is Σ f(x)·R with a fixed random R, so every output element
// contributes with its own weight and a wrong sign, scale or missing term shows up.
#pragma once
#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/random.h"

namespace sepnet::testing {

inline Tensor random_tensor(const Shape& shape, Rng& rng, float low = -1.0f, float high = 1.0f) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = rng.uniform(low, high);
  return t;
}

// Values with |v| in [gap, 1]: no element sits near ReLU's kink.
inline Tensor random_away_from_zero(const Shape& shape, Rng& rng, float gap = 0.1f) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) {
    float v = rng.uniform(gap, 1.0f);
    t.data()[i] = rng.uniform(0.0f, 1.0f) < 0.5f ? -v : v;
  }
  return t;
}

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

struct GradcheckResult {
  double max_error;  // max |analytic − numeric| / max(|numeric|), per input, worst input
  int worst_input;
};

inline double weighted_sum(const Tensor& out, const std::vector<float>& r) {
  double s = 0.0;
  for (int64_t i = 0; i < out.numel(); ++i) s += static_cast<double>(out.data()[i]) * r[static_cast<size_t>(i)];
  return s;
}

// Inputs flagged requires_grad are checked; others are held constant.
inline GradcheckResult gradcheck(const OpFn& f, std::vector<Tensor> inputs, uint64_t seed = 7, float eps = 1e-2f) {
  Rng rng(seed);
  for (Tensor& t : inputs) t.zero_grad();
  Tensor out = f(inputs);
  std::vector<float> r(static_cast<size_t>(out.numel()));
  for (float& v : r) v = rng.uniform(-1.0f, 1.0f);
  Tensor weights = Tensor::from_vector(out.shape(), r);
  ops::sum(ops::mul(out, weights)).backward();

  GradcheckResult result{0.0, -1};
  for (size_t i = 0; i < inputs.size(); ++i) {
    Tensor& x = inputs[i];
    if (!x.requires_grad()) continue;
    std::vector<float> analytic = x.grad().defined() ? x.grad().to_vector() : std::vector<float>(x.numel(), 0.0f);
    double max_diff = 0.0, max_ref = 0.0;
    NoGradGuard no_grad;
    for (int64_t j = 0; j < x.numel(); ++j) {
      const float saved = x.data()[j];
      x.data()[j] = saved + eps;
      const double plus = weighted_sum(f(inputs), r);
      x.data()[j] = saved - eps;
      const double minus = weighted_sum(f(inputs), r);
      x.data()[j] = saved;
      const double numeric = (plus - minus) / (2.0 * eps);
      max_diff = std::max(max_diff, std::fabs(numeric - analytic[static_cast<size_t>(j)]));
      max_ref = std::max(max_ref, std::fabs(numeric));
    }
    const double err = max_diff / std::max(max_ref, 1e-3);
    if (err > result.max_error || result.worst_input < 0) result = {err, static_cast<int>(i)};
  }
  return result;
}

}  // namespace sepnet::testing
