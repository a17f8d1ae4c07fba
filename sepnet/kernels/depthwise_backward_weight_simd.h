// Internal: the NCHW depthwise weight gradient (depthwise_simd.h), a template on the vector
// type B. Per tap, a dot product of the flat grad_output (zeroed garbage columns) with the
// shifted input buffer (depthwise_padded_plane_simd.h): KH·KW vector accumulators in one pass.
// Partials per (n, c) plane are summed over n in a fixed order: deterministic for any thread
// count.
#pragma once
#include <cstring>
#include <vector>

#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_padded_plane_simd.h"
#include "sepnet/kernels/simd_hsum.h"

namespace sepnet::kernels::dw {
namespace {

// out[t] = Σ_oy Σ_{x < gw} g[oy·gw + x] · base[oy·row_step + off[t] + x] for G taps at once
// (G vector accumulators). gw is a multiple of the vector width; g is zero past each row's ow.
template <class B, int G>
void corr_taps(const float* base, long row_step, const long* off, const float* g, int oh, long gw,
               float* out) {
  constexpr long V = static_cast<long>(B::size);
  B acc[G];
  for (int t = 0; t < G; ++t) acc[t] = B(0.0f);
  for (int oy = 0; oy < oh; ++oy) {
    const float* row = base + oy * row_step;
    const float* grow = g + oy * gw;
    for (long x = 0; x < gw; x += V) {
      const B gv = B::load_unaligned(grow + x);
      for (int t = 0; t < G; ++t) acc[t] = fma(gv, B::load_unaligned(row + off[t] + x), acc[t]);
    }
  }
  for (int t = 0; t < G; ++t) out[t] = hsum(acc[t]);
}

template <class B>
float sum_span(const float* g, long n) {
  constexpr long V = static_cast<long>(B::size);
  B a0(0.0f), a1(0.0f);
  long x = 0;
  for (; x + 2 * V <= n; x += 2 * V) {
    a0 += B::load_unaligned(g + x);
    a1 += B::load_unaligned(g + x + V);
  }
  for (; x < n; x += V) a0 += B::load_unaligned(g + x);
  return hsum(a0 + a1);
}

template <class B>
void corr_all_taps(int taps, const float* base, long row_step, const long* off, const float* g,
                   int oh, long gw, float* out) {
  // As many accumulators as the register file holds (16 ymm / 32 zmm registers).
  constexpr int kMaxAcc = B::size >= 16 ? 25 : (B::size >= 8 ? 12 : 9);
  if (taps == 9) return corr_taps<B, 9>(base, row_step, off, g, oh, gw, out);
  if (taps == 25 && kMaxAcc >= 25) return corr_taps<B, 25>(base, row_step, off, g, oh, gw, out);
  int t = 0;
  for (; t + 5 <= taps; t += 5) corr_taps<B, 5>(base, row_step, off + t, g, oh, gw, out + t);
  for (; t < taps; ++t) corr_taps<B, 1>(base, row_step, off + t, g, oh, gw, out + t);
}

template <class B>
void backward_weight_impl(const DepthwiseShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias) {
  constexpr long V = static_cast<long>(B::size);
  const int oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  const int taps = kh * kw;
  const Layout l = make_layout<B>(s.in_h + 2 * s.pad, s.in_w + 2 * s.pad, s.stride);
  std::vector<long> off(taps);
  for (int ki = 0; ki < kh; ++ki)
    for (int kj = 0; kj < kw; ++kj)
      off[ki * kw + kj] = (kj % s.stride) * l.sub_size + static_cast<long>(ki) * l.wrow + kj / s.stride;
  const long row_step = static_cast<long>(s.stride) * l.wrow;
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
  const long gw = round_up(ow, V);  // grad_output rows padded with zeros to whole vectors
  // partial[p][0..taps) = this plane's weight gradient, partial[p][taps] = its bias gradient.
  const int stride_p = taps + 1;
  std::vector<float> partial(planes * stride_p);
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), g(oh * gw + V, 0.0f);
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      fill_phases(l, input + p * in_plane, s.in_h, s.in_w, s.pad, buf.data());
      const float* go = grad_output + p * out_plane;
      for (int oy = 0; oy < oh; ++oy)
        std::memcpy(g.data() + oy * gw, go + static_cast<long>(oy) * ow, sizeof(float) * ow);
      float* part = partial.data() + p * stride_p;
      corr_all_taps<B>(taps, buf.data(), row_step, off.data(), g.data(), oh, gw, part);
      part[taps] = sum_span<B>(g.data(), oh * gw);
    }
    // Fixed-order reduction over the batch: independent of the thread count.
#pragma omp for schedule(static)
    for (int c = 0; c < s.channels; ++c) {
      float* gwt = grad_weight + static_cast<long>(c) * taps;
      for (int b = 0; b < s.batch; ++b) {
        const float* part = partial.data() + (static_cast<long>(b) * s.channels + c) * stride_p;
        for (int t = 0; t < taps; ++t) gwt[t] += part[t];
        if (grad_bias) grad_bias[c] += part[taps];
      }
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::dw
