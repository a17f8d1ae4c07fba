#include "kernels/batchnorm.h"

#include <cmath>

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
// Sums in 8 interleaved lanes, combined in a fixed order: the compiler vectorizes this (it may
// not reorder a single float accumulator), and the result is still run-to-run deterministic.
constexpr int kLanes = 8;
template <class F>
inline float lane_sum(long n, F&& term) {
  float acc[kLanes] = {};
  long i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += term(i + l);
  for (; i < n; ++i) acc[0] += term(i);
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

int channel_threads(const BatchNormShape& s) {
  int t = threads_for(static_cast<long>(s.batch) * s.channels * s.spatial, 1 << 15);
  return t < s.channels ? t : s.channels;
}
}  // namespace

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, float eps, float* y, float* mean, float* var,
                             float* invstd) {
  const double count = static_cast<double>(s.batch) * s.spatial;
  const int threads = channel_threads(s);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int c = 0; c < s.channels; ++c) {
    double sum = 0.0;
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      sum += lane_sum(s.spatial, [xp](long i) { return xp[i]; });
    }
    const double m = sum / count;
    double sq = 0.0;
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      const float mf = static_cast<float>(m);
      sq += lane_sum(s.spatial, [xp, mf](long i) { return (xp[i] - mf) * (xp[i] - mf); });
    }
    const double v = sq / count;
    const float is = static_cast<float>(1.0 / std::sqrt(v + eps));
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(v);
    invstd[c] = is;
    const float scale = gamma[c] * is, shift = beta[c] - static_cast<float>(m) * scale;
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      float* yp = plane(y, s, n, c);
      for (long i = 0; i < s.spatial; ++i) yp[i] = xp[i] * scale + shift;
    }
  }
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
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

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* grad_y,
                        const float* gamma, const float* mean, const float* invstd, float* grad_x,
                        float* grad_gamma, float* grad_beta, bool accumulate_x) {
  const double count = static_cast<double>(s.batch) * s.spatial;
  const int threads = channel_threads(s);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int c = 0; c < s.channels; ++c) {
    // sum_dy = Σ dy, sum_dy_xhat = Σ dy·x̂ with x̂ = (x − mean)·invstd
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    const float m = mean[c], is = invstd[c];
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      const float* gp = plane(grad_y, s, n, c);
      sum_dy += lane_sum(s.spatial, [gp](long i) { return gp[i]; });
      sum_dy_xhat += static_cast<double>(lane_sum(s.spatial, [gp, xp, m](long i) { return gp[i] * (xp[i] - m); })) * is;
    }
    if (grad_gamma) grad_gamma[c] += static_cast<float>(sum_dy_xhat);
    if (grad_beta) grad_beta[c] += static_cast<float>(sum_dy);
    if (!grad_x) continue;
    // dx = gamma·invstd·(dy − mean(dy) − x̂·mean(dy·x̂))
    const float k = gamma[c] * is;
    const float mean_dy = static_cast<float>(sum_dy / count);
    const float mean_dy_xhat = static_cast<float>(sum_dy_xhat / count);
    for (int n = 0; n < s.batch; ++n) {
      const float* xp = plane(x, s, n, c);
      const float* gp = plane(grad_y, s, n, c);
      float* __restrict dp = plane(grad_x, s, n, c);
      if (accumulate_x)
        for (long i = 0; i < s.spatial; ++i) dp[i] += k * (gp[i] - mean_dy - (xp[i] - m) * is * mean_dy_xhat);
      else
        for (long i = 0; i < s.spatial; ++i) dp[i] = k * (gp[i] - mean_dy - (xp[i] - m) * is * mean_dy_xhat);
    }
  }
}

}  // namespace sepnet::kernels
