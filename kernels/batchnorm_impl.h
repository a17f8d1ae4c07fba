// Internal: the batch-norm kernel bodies, compiled once per ISA. Included by batchnorm.cpp
// (baseline x86-64) and batchnorm_avx2.cpp / batchnorm_avx512.cpp (their own -m flags); the
// plain loops vectorize to the width each TU allows. Everything sits in an anonymous
// namespace so no copy built with one ISA's flags can be linked into another's path.
// Channel sums use LaneSum (kernels/lane_sum.h) over a whole channel (every plane of the
// batch), reduced once per channel: results do not depend on the thread count. Reducing per
// plane instead cost more than the sums on 8×8 planes.
#pragma once
#include <omp.h>

#include <cmath>

#include "kernels/batchnorm.h"
#include "kernels/lane_sum.h"
#include "kernels/parallel.h"

namespace sepnet::kernels {
namespace {
inline const float* plane(const float* p, const BatchNormShape& s, int n, int c) {
  return p + (static_cast<long>(n) * s.channels + c) * s.spatial;
}
inline float* plane(float* p, const BatchNormShape& s, int n, int c) {
  return p + (static_cast<long>(n) * s.channels + c) * s.spatial;
}
// Work is split by channel, so never more threads than channels.
int channel_threads(const BatchNormShape& s) {
  int t = threads_for(static_cast<long>(s.batch) * s.channels * s.spatial, 1 << 15);
  return t < s.channels ? t : s.channels;
}

void forward_train_impl(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, float eps,
                        float* y, float* mean, float* var, float* invstd, bool fuse_relu) {
  const double count = static_cast<double>(s.batch) * s.spatial;
  const int threads = channel_threads(s);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int c = 0; c < s.channels; ++c) {
    LaneSum sum;
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      sum.add(s.spatial, [xp](long i) { return xp[i]; });
    }
    const double m = sum.total() / count;
    const float mf = static_cast<float>(m);
    LaneSum sq;  // two passes (mean first): no cancellation when |mean| >> std
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      sq.add(s.spatial, [xp, mf](long i) { return (xp[i] - mf) * (xp[i] - mf); });
    }
    const double v = sq.total() / count;
    const float is = static_cast<float>(1.0 / std::sqrt(v + eps));
    mean[c] = mf;
    var[c] = static_cast<float>(v);
    invstd[c] = is;
    const float scale = gamma[c] * is, shift = beta[c] - mf * scale;
    for (int n = 0; n < s.batch; ++n) {
      const float* __restrict xp = plane(x, s, n, c);
      float* __restrict yp = plane(y, s, n, c);
      if (fuse_relu)
        for (long i = 0; i < s.spatial; ++i) {
          const float v = xp[i] * scale + shift;
          yp[i] = v > 0.0f ? v : 0.0f;
        }
      else
        for (long i = 0; i < s.spatial; ++i) yp[i] = xp[i] * scale + shift;
    }
  }
}

void forward_eval_impl(const BatchNormShape& s, const float* x, const float* gamma,
                            const float* beta, const float* running_mean, const float* running_var,
                            float eps, float* y, bool fuse_relu) {
  const int threads = threads_for(static_cast<long>(s.batch) * s.channels * s.spatial, 1 << 15);
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2) if (threads > 1)
  for (int n = 0; n < s.batch; ++n)
    for (int c = 0; c < s.channels; ++c) {
      const float scale = gamma[c] / std::sqrt(running_var[c] + eps);
      const float shift = beta[c] - running_mean[c] * scale;
      const float* xp = plane(x, s, n, c);
      float* yp = plane(y, s, n, c);
      if (fuse_relu)
        for (long i = 0; i < s.spatial; ++i) {
          float v = xp[i] * scale + shift;
          yp[i] = v > 0.0f ? v : 0.0f;
        }
      else
        for (long i = 0; i < s.spatial; ++i) yp[i] = xp[i] * scale + shift;
    }
}

// One channel of the backward. Masked: grad_y is w.r.t. the fused ReLU output r, so the BN
// output's gradient is grad_y where r > 0 and 0 elsewhere (a select, so the loops still vectorize).
template <bool Masked>
void backward_channel(const BatchNormShape& s, int c, const float* x, const float* grad_y, const float* relu_output,
                      const float* gamma, const float* mean, const float* invstd, float* grad_x, float* grad_gamma,
                      float* grad_beta, bool accumulate_x) {
  const double count = static_cast<double>(s.batch) * s.spatial;
  // sum_dy = Σ dy, sum_dy_xhat = Σ dy·x̂ with x̂ = (x − mean)·invstd
  const float m = mean[c], is = invstd[c];
  LaneSum dy, dy_xc;  // Σ dy and Σ dy·(x − mean)
  for (int n = 0; n < s.batch; ++n) {
    const float* xp = plane(x, s, n, c);
    const float* gp = plane(grad_y, s, n, c);
    const float* rp = Masked ? plane(relu_output, s, n, c) : nullptr;
    auto g = [gp, rp](long i) {
      const float v = gp[i];  // loaded unconditionally, so the select vectorizes
      return Masked ? (rp[i] > 0.0f ? v : 0.0f) : v;
    };
    dy.add(s.spatial, g);
    dy_xc.add(s.spatial, [g, xp, m](long i) { return g(i) * (xp[i] - m); });
  }
  const double sum_dy = dy.total(), sum_dy_xhat = dy_xc.total() * is;
  if (grad_gamma) grad_gamma[c] += static_cast<float>(sum_dy_xhat);
  if (grad_beta) grad_beta[c] += static_cast<float>(sum_dy);
  if (!grad_x) return;
  // dx = gamma·invstd·(dy − mean(dy) − x̂·mean(dy·x̂))
  const float k = gamma[c] * is;
  const float mean_dy = static_cast<float>(sum_dy / count);
  const float mean_dy_xhat = static_cast<float>(sum_dy_xhat / count);
  for (int n = 0; n < s.batch; ++n) {
    const float* xp = plane(x, s, n, c);
    const float* gp = plane(grad_y, s, n, c);
    const float* rp = Masked ? plane(relu_output, s, n, c) : nullptr;
    float* __restrict dp = plane(grad_x, s, n, c);
    auto g = [gp, rp](long i) {
      const float v = gp[i];  // loaded unconditionally, so the select vectorizes
      return Masked ? (rp[i] > 0.0f ? v : 0.0f) : v;
    };
    if (accumulate_x)
      for (long i = 0; i < s.spatial; ++i) dp[i] += k * (g(i) - mean_dy - (xp[i] - m) * is * mean_dy_xhat);
    else
      for (long i = 0; i < s.spatial; ++i) dp[i] = k * (g(i) - mean_dy - (xp[i] - m) * is * mean_dy_xhat);
  }
}

void backward_impl(const BatchNormShape& s, const float* x, const float* grad_y,
                        const float* gamma, const float* mean, const float* invstd, float* grad_x,
                        float* grad_gamma, float* grad_beta, bool accumulate_x, const float* relu_output) {
  const int threads = channel_threads(s);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int c = 0; c < s.channels; ++c) {
    if (relu_output)
      backward_channel<true>(s, c, x, grad_y, relu_output, gamma, mean, invstd, grad_x, grad_gamma, grad_beta,
                             accumulate_x);
    else
      backward_channel<false>(s, c, x, grad_y, nullptr, gamma, mean, invstd, grad_x, grad_gamma, grad_beta,
                              accumulate_x);
  }
}

}  // namespace
}  // namespace sepnet::kernels
