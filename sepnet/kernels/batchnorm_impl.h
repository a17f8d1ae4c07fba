// Internal: the batch-norm kernel bodies, compiled once per ISA. Included by
// batchnorm_scalar.cpp (baseline x86-64) and batchnorm_avx2.cpp / batchnorm_avx512.cpp (their
// own -m flags), each exporting them as its row of the variants table; the plain loops
// vectorize to the width each TU allows. Everything sits in an anonymous
// namespace so no copy built with one ISA's flags can be linked into another's path.
// Channel sums use LaneSum (kernels/lane_sum.h) over a whole channel (every plane of the
// batch), reduced once per channel: results do not depend on the thread count. Reducing per
// plane instead cost more than the sums on 8×8 planes.
#pragma once
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/lane_sum.h"
#include "sepnet/kernels/parallel.h"

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
          const float t = xp[i] * scale + shift;
          yp[i] = t > 0.0f ? t : 0.0f;
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

// ---- channels-last ----------------------------------------------------------------------------
// Rows are C floats long, often 16–64: loops over one row vectorize badly (one or two vectors
// plus loop overhead per row; C = 16 ran 3.7× slower than the NCHW kernel). So rows are taken
// G at a time (G·C ≥ 256 floats) as one flat run, with per-channel constants repeated G times.

inline long nhwc_group_rows(int channels) { return channels >= 256 ? 1 : 256 / channels; }
// Rows per partial sum: a fixed number of groups, so sums do not depend on the thread count.
inline long nhwc_chunk_rows(int channels) {
  const long g = nhwc_group_rows(channels);
  return g * (g >= 256 ? 1 : 256 / g);
}
inline int nhwc_threads(long rows, int channels, long chunk_rows) {
  const long t = threads_for(rows * channels, 1 << 15), chunks = (rows + chunk_rows - 1) / chunk_rows;
  return static_cast<int>(t < chunks ? t : chunks);
}
// v[c] repeated over G rows: [G·C].
inline std::vector<float> nhwc_repeat(const float* v, int channels) {
  const long g = nhwc_group_rows(channels);
  std::vector<float> r(static_cast<size_t>(g * channels));
  for (long i = 0; i < g * channels; ++i) r[i] = v[i % channels];
  return r;
}

// out[t·C + c] = Σ over rows of term t at channel c: body(flat, len, p) adds the len elements
// from flat offset `flat` (a whole number of rows, at most G) into p[t·L + i], L = G·C; partial
// sums per chunk in float, then chunks and the G row slots added in double in a fixed order.
template <int Terms, class F>
void nhwc_channel_sums(long rows, int channels, F&& body, double* out) {
  const long g = nhwc_group_rows(channels), L = g * channels, chunk_rows = nhwc_chunk_rows(channels);
  const long chunks = (rows + chunk_rows - 1) / chunk_rows;
  std::vector<float> partial(static_cast<size_t>(chunks) * Terms * L, 0.0f);
#pragma omp parallel for num_threads(nhwc_threads(rows, channels, chunk_rows)) schedule(static)
  for (long k = 0; k < chunks; ++k) {
    float* p = partial.data() + k * Terms * L;
    const long r1 = std::min(rows, (k + 1) * chunk_rows);
    for (long r = k * chunk_rows; r < r1; r += g) body(r * channels, (std::min(r1, r + g) - r) * channels, p);
  }
  for (int i = 0; i < Terms * channels; ++i) out[i] = 0.0;
  for (long k = 0; k < chunks; ++k)
    for (int t = 0; t < Terms; ++t)
      for (long j = 0; j < g; ++j)
        for (int c = 0; c < channels; ++c)
          out[t * channels + c] += partial[(k * Terms + t) * L + j * channels + c];
}

// Calls body(flat, len) over groups of rows in parallel (element-wise passes).
template <class F>
void nhwc_for_groups(long rows, int channels, F&& body) {
  const long g = nhwc_group_rows(channels);
  const long groups = (rows + g - 1) / g;
#pragma omp parallel for num_threads(nhwc_threads(rows, channels, nhwc_chunk_rows(channels))) schedule(static)
  for (long k = 0; k < groups; ++k)
    body(k * g * channels, (std::min(rows, (k + 1) * g) - k * g) * channels);
}

// y = x·scale[c] + shift[c], ReLU if relu.
inline void nhwc_affine(long rows, int channels, const float* x, const float* scale, const float* shift,
                        bool relu, float* y) {
  const std::vector<float> sc = nhwc_repeat(scale, channels), sh = nhwc_repeat(shift, channels);
  nhwc_for_groups(rows, channels, [&](long flat, long len) {
    const float* __restrict xr = x + flat;
    float* __restrict yr = y + flat;
    const float* __restrict a = sc.data();
    const float* __restrict b = sh.data();
    if (relu)
      for (long i = 0; i < len; ++i) {
        const float v = xr[i] * a[i] + b[i];
        yr[i] = v > 0.0f ? v : 0.0f;
      }
    else
      for (long i = 0; i < len; ++i) yr[i] = xr[i] * a[i] + b[i];
  });
}

// One pass for both statistics (each pass streams the whole tensor, unlike NCHW's per-channel
// passes that stay in cache): sums of x − K and (x − K)² with K = the first row, a shift near
// the mean, so E[(x−K)²] − E[x−K]² does not cancel catastrophically (the "shifted data"
// variance algorithm; a shift within a few std of the mean loses no more than two passes do).
void nhwc_forward_train_impl(long rows, int channels, const float* x, const float* gamma, const float* beta,
                             float eps, float* y, float* mean, float* var, float* invstd, bool fuse_relu) {
  const long L = nhwc_group_rows(channels) * channels;
  const std::vector<float> k_rep = nhwc_repeat(x, channels);
  std::vector<double> sums(2L * channels);
  nhwc_channel_sums<2>(rows, channels, [&](long flat, long len, float* __restrict p) {
    const float* __restrict xr = x + flat;
    const float* __restrict kr = k_rep.data();
    float* __restrict q = p + L;
    for (long i = 0; i < len; ++i) {
      const float d = xr[i] - kr[i];
      p[i] += d;
      q[i] += d * d;
    }
  }, sums.data());
  std::vector<float> scale(channels), shift(channels);
  for (int c = 0; c < channels; ++c) {
    const double d_mean = sums[c] / static_cast<double>(rows);
    const double v = std::max(0.0, sums[channels + c] / static_cast<double>(rows) - d_mean * d_mean);
    const float m = static_cast<float>(x[c] + d_mean);
    const float is = static_cast<float>(1.0 / std::sqrt(v + eps));
    mean[c] = m;
    var[c] = static_cast<float>(v);
    invstd[c] = is;
    scale[c] = gamma[c] * is;
    shift[c] = beta[c] - m * scale[c];
  }
  nhwc_affine(rows, channels, x, scale.data(), shift.data(), fuse_relu, y);
}

void nhwc_forward_eval_impl(long rows, int channels, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float eps, float* y,
                            bool fuse_relu) {
  std::vector<float> scale(channels), shift(channels);
  for (int c = 0; c < channels; ++c) {
    scale[c] = gamma[c] / std::sqrt(running_var[c] + eps);
    shift[c] = beta[c] - running_mean[c] * scale[c];
  }
  nhwc_affine(rows, channels, x, scale.data(), shift.data(), fuse_relu, y);
}

template <bool Masked>
void nhwc_backward_body(long rows, int channels, const float* x, const float* grad_y, const float* relu_output,
                        const float* gamma, const float* mean, const float* invstd, float* grad_x,
                        float* grad_gamma, float* grad_beta, bool accumulate_x) {
  const long L = nhwc_group_rows(channels) * channels;
  const std::vector<float> m_rep = nhwc_repeat(mean, channels);
  // sums[0][c] = Σ dy, sums[1][c] = Σ dy·(x − mean); dy is 0 where the fused ReLU output is 0.
  std::vector<double> sums(2L * channels);
  nhwc_channel_sums<2>(rows, channels, [&](long flat, long len, float* __restrict p) {
    const float* __restrict xr = x + flat;
    const float* __restrict gr = grad_y + flat;
    const float* __restrict rr = Masked ? relu_output + flat : nullptr;
    const float* __restrict mr = m_rep.data();
    float* __restrict q = p + L;
    for (long i = 0; i < len; ++i) {
      const float g = Masked ? (rr[i] > 0.0f ? gr[i] : 0.0f) : gr[i];
      p[i] += g;
      q[i] += g * (xr[i] - mr[i]);
    }
  }, sums.data());
  // dx = gamma·invstd·(dy − mean(dy) − x̂·mean(dy·x̂)), x̂ = (x − mean)·invstd, written as
  // a·dy + b·x + d per channel.
  std::vector<float> a(channels), b(channels), d(channels);
  for (int c = 0; c < channels; ++c) {
    const double sum_dy = sums[c], sum_dy_xhat = sums[channels + c] * invstd[c];
    if (grad_gamma) grad_gamma[c] += static_cast<float>(sum_dy_xhat);
    if (grad_beta) grad_beta[c] += static_cast<float>(sum_dy);
    const float k = gamma[c] * invstd[c];
    const float mean_dy = static_cast<float>(sum_dy / static_cast<double>(rows));
    const float coef = invstd[c] * static_cast<float>(sum_dy_xhat / static_cast<double>(rows));
    a[c] = k;
    b[c] = -k * coef;
    d[c] = k * (coef * mean[c] - mean_dy);
  }
  if (!grad_x) return;
  const std::vector<float> ar = nhwc_repeat(a.data(), channels), br = nhwc_repeat(b.data(), channels),
                           dr_ = nhwc_repeat(d.data(), channels);
  nhwc_for_groups(rows, channels, [&](long flat, long len) {
    const float* __restrict xr = x + flat;
    const float* __restrict gr = grad_y + flat;
    const float* __restrict rr = Masked ? relu_output + flat : nullptr;
    const float* __restrict pa = ar.data();
    const float* __restrict pb = br.data();
    const float* __restrict pd = dr_.data();
    float* __restrict out = grad_x + flat;
    if (accumulate_x)
      for (long i = 0; i < len; ++i) {
        const float g = Masked ? (rr[i] > 0.0f ? gr[i] : 0.0f) : gr[i];
        out[i] += pa[i] * g + pb[i] * xr[i] + pd[i];
      }
    else
      for (long i = 0; i < len; ++i) {
        const float g = Masked ? (rr[i] > 0.0f ? gr[i] : 0.0f) : gr[i];
        out[i] = pa[i] * g + pb[i] * xr[i] + pd[i];
      }
  });
}

void nhwc_backward_impl(long rows, int channels, const float* x, const float* grad_y, const float* gamma,
                        const float* mean, const float* invstd, float* grad_x, float* grad_gamma,
                        float* grad_beta, bool accumulate_x, const float* relu_output) {
  if (relu_output)
    nhwc_backward_body<true>(rows, channels, x, grad_y, relu_output, gamma, mean, invstd, grad_x, grad_gamma,
                             grad_beta, accumulate_x);
  else
    nhwc_backward_body<false>(rows, channels, x, grad_y, nullptr, gamma, mean, invstd, grad_x, grad_gamma,
                              grad_beta, accumulate_x);
}

}  // namespace
}  // namespace sepnet::kernels
