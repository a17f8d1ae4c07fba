// Internal: the one SIMD body of the depthwise kernels, a template on the vector type B
// (xsimd::batch<float, Arch> for AVX2 / AVX-512, a 1-lane wrapper for the scalar path).
// Included only by the per-ISA translation units; everything lives in an anonymous namespace
// so that no inline function compiled with one ISA's flags can be picked for another (ODR).
//
// Design ("flat plane" formulation):
//  * Each (n, c) plane is first copied into a per-thread zero-bordered scratch buffer whose
//    rows have stride `wrow`. For stride s > 1 the padded plane is split into s·s polyphase
//    sub-planes (row phase × column phase), so every tap (ki, kj) of every output pixel reads
//    sub-plane (ki mod s, kj mod s) at a FIXED offset from the output's flat index
//    j = oy·wrow + ox:   in(oy, ox; ki, kj) = buf[off[ki][kj] + j].
//    Padding, strides and edge cases therefore all disappear from the inner loop: it is a 1-D
//    multiply-add of KH·KW shifted contiguous vectors with broadcast weights.
//  * Large planes are computed row by row straight into the output (W tail = one full vector
//    into a stack temporary; the scratch buffer has slack so over-reads are harmless).
//    Tiny planes (7×7, 8×8, 14×14 at 16 lanes) are computed over the whole flat index range
//    at once, so one vector spans several rows (the wrow-OW garbage columns are computed and
//    dropped) and then compacted into the output: far fewer wasted lanes than one row/vector.
//  * Backward-input is the same forward kernel on grad_output (dilated by the stride and
//    padded by K-1-pad) with the flipped filter, accumulating into grad_input.
//  * Backward-weight is, per tap, a dot product of the flat grad_output (zeroed garbage
//    columns) with the shifted input buffer: KH·KW vector accumulators in one pass. Partials
//    per (n, c) plane are summed over n in a fixed order: deterministic for any thread count.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <vector>

#include "kernels/depthwise.h"
#include "kernels/parallel.h"

namespace sepnet::kernels::dw {
namespace {

// Zero-bordered polyphase copy of one plane: `nsub` sub-planes of `rows` × `wrow`.
struct Layout {
  int stride = 1;
  int rows = 0, wrow = 0;
  long sub_size = 0;
  int nsub = 1;
  long size = 0;  // floats, including slack for full-vector over-reads
};

inline long round_up(long x, long m) { return (x + m - 1) / m * m; }

// Horizontal sum through memory (fixed lane order; avoids GCC 12's noisy reduce intrinsics).
template <class B>
float hsum(const B& v) {
  alignas(64) float lanes[B::size];
  v.store_unaligned(lanes);
  float total = 0.0f;
  for (std::size_t i = 0; i < B::size; ++i) total += lanes[i];
  return total;
}

template <long V>
Layout make_layout(int padded_h, int padded_w, int stride) {
  Layout l;
  l.stride = stride;
  l.rows = (padded_h + stride - 1) / stride + 1;
  l.wrow = (padded_w + stride - 1) / stride;
  l.sub_size = static_cast<long>(l.rows) * l.wrow;
  l.nsub = stride * stride;
  l.size = l.nsub * l.sub_size + l.wrow + 8 * V + 16;
  return l;
}

// off[ki·KW + kj]: where tap (ki, kj) of flat output index 0 lives in the layout.
inline void tap_offsets(const Layout& l, int kh, int kw, long* off) {
  const int s = l.stride;
  for (int ki = 0; ki < kh; ++ki)
    for (int kj = 0; kj < kw; ++kj)
      off[ki * kw + kj] = ((ki % s) * s + (kj % s)) * l.sub_size +
                          static_cast<long>(ki / s) * l.wrow + kj / s;
}

// Copies an h × w plane into the layout at padded position (y + pad, x + pad).
inline void fill_polyphase(const Layout& l, const float* src, int h, int w, int pad, float* buf) {
  const int s = l.stride;
  if (s == 1) {
    for (int y = 0; y < h; ++y)
      std::memcpy(buf + static_cast<long>(y + pad) * l.wrow + pad, src + static_cast<long>(y) * w,
                  sizeof(float) * w);
    return;
  }
  for (int y = 0; y < h; ++y) {
    const int py = y + pad;
    const float* in = src + static_cast<long>(y) * w;
    for (int cp = 0; cp < s; ++cp) {
      float* row = buf + ((py % s) * s + cp) * l.sub_size + static_cast<long>(py / s) * l.wrow;
      // First column whose padded position x + pad has phase cp; it lands at (x + pad) / s.
      const int x0 = ((cp - pad) % s + s) % s;
      const int c0 = (x0 + pad) / s;
      for (int x = x0, c = c0; x < w; x += s, ++c) row[c] = in[x];
    }
  }
}

// Copies an oh × ow plane, dilated by `dil`, at position (oy·dil + off_y, ox·dil + off_x) of
// a single rows × cols region of a stride-1 layout, dropping what falls outside (the
// backward-input case: those gradients belong to padding).
inline void fill_dilated(const Layout& l, const float* src, int oh, int ow, int dil, int off_y,
                         int off_x, int rows, int cols, float* buf) {
  for (int oy = 0; oy < oh; ++oy) {
    const int y = oy * dil + off_y;
    if (y < 0 || y >= rows) continue;
    float* row = buf + static_cast<long>(y) * l.wrow;
    const float* in = src + static_cast<long>(oy) * ow;
    if (dil == 1 && off_x >= 0 && off_x + ow <= cols) {
      std::memcpy(row + off_x, in, sizeof(float) * ow);
      continue;
    }
    for (int ox = 0; ox < ow; ++ox) {
      const int x = ox * dil + off_x;
      if (x >= 0 && x < cols) row[x] = in[ox];
    }
  }
}

// dst[x] (+)= bias + Σ_t w[t]·base[off[t] + x] for x in [0, n), then ReLU if asked.
// T > 0: tap count known at compile time (fully unrolled); T == 0: runtime `ntaps`.
template <class B, int T>
void conv_span(const float* base, const long* off, const float* w, int ntaps, long n, float bias,
               bool relu, bool accumulate, float* dst) {
  constexpr long V = static_cast<long>(B::size);
  const int nt = T > 0 ? T : ntaps;
  const B vbias(bias), zero(0.0f);
  auto finish = [&](B acc, float* d) {
    if (accumulate) acc += B::load_unaligned(d);
    if (relu) acc = max(acc, zero);
    acc.store_unaligned(d);
  };
  long x = 0;
  for (; x + 4 * V <= n; x += 4 * V) {
    B a0 = vbias, a1 = vbias, a2 = vbias, a3 = vbias;
    for (int t = 0; t < nt; ++t) {
      const B wt(w[t]);
      const float* q = base + off[t] + x;
      a0 = fma(wt, B::load_unaligned(q), a0);
      a1 = fma(wt, B::load_unaligned(q + V), a1);
      a2 = fma(wt, B::load_unaligned(q + 2 * V), a2);
      a3 = fma(wt, B::load_unaligned(q + 3 * V), a3);
    }
    finish(a0, dst + x);
    finish(a1, dst + x + V);
    finish(a2, dst + x + 2 * V);
    finish(a3, dst + x + 3 * V);
  }
  for (; x + V <= n; x += V) {
    B a0 = vbias;
    for (int t = 0; t < nt; ++t) a0 = fma(B(w[t]), B::load_unaligned(base + off[t] + x), a0);
    finish(a0, dst + x);
  }
  if (x < n) {  // tail: a full vector (the buffer has slack), only n - x lanes kept
    B a0 = vbias;
    for (int t = 0; t < nt; ++t) a0 = fma(B(w[t]), B::load_unaligned(base + off[t] + x), a0);
    alignas(64) float tmp[V];
    a0.store_unaligned(tmp);
    for (long i = 0; i < n - x; ++i) {
      float v = tmp[i];
      if (accumulate) v += dst[x + i];
      if (relu) v = v > 0.0f ? v : 0.0f;
      dst[x + i] = v;
    }
  }
}

// One output plane (oh × ow) from a filled layout; `flat` is scratch of >= oh·wrow + V floats.
template <class B, int T>
void conv_plane(const Layout& l, const float* buf, const long* off, const float* w, int ntaps,
                int oh, int ow, float bias, bool relu, bool accumulate, float* out, float* flat) {
  constexpr long V = static_cast<long>(B::size);
  const long row_vectors = static_cast<long>(oh) * ((ow + V - 1) / V);
  const long flat_vectors = (static_cast<long>(oh) * l.wrow + V - 1) / V;
  // The flat pass costs an extra compaction pass: only worth it when it saves many lanes.
  if (V > 1 && 5 * flat_vectors < 4 * row_vectors) {
    const long n = static_cast<long>(oh) * l.wrow;
    conv_span<B, T>(buf, off, w, ntaps, n, bias, relu, false, flat);
    for (int oy = 0; oy < oh; ++oy) {
      const float* src = flat + static_cast<long>(oy) * l.wrow;
      float* dst = out + static_cast<long>(oy) * ow;
      if (accumulate)
        for (int ox = 0; ox < ow; ++ox) dst[ox] += src[ox];
      else
        std::memcpy(dst, src, sizeof(float) * ow);
    }
    return;
  }
  for (int oy = 0; oy < oh; ++oy)
    conv_span<B, T>(buf + static_cast<long>(oy) * l.wrow, off, w, ntaps, ow, bias, relu,
                    accumulate, out + static_cast<long>(oy) * ow);
}

template <class B>
void conv_plane_dispatch(int kh, int kw, const Layout& l, const float* buf, const long* off,
                         const float* w, int oh, int ow, float bias, bool relu, bool accumulate,
                         float* out, float* flat) {
  if (kh == 3 && kw == 3)
    conv_plane<B, 9>(l, buf, off, w, 9, oh, ow, bias, relu, accumulate, out, flat);
  else if (kh == 5 && kw == 5)
    conv_plane<B, 25>(l, buf, off, w, 25, oh, ow, bias, relu, accumulate, out, flat);
  else
    conv_plane<B, 0>(l, buf, off, w, kh * kw, oh, ow, bias, relu, accumulate, out, flat);
}

inline int plane_threads(const DepthwiseShape& s, long planes) {
  const long work = planes * static_cast<long>(s.out_h()) * s.out_w() * s.kernel_h * s.kernel_w;
  const int t = threads_for(work, 1L << 15);
  return static_cast<int>(std::min<long>(t, std::max<long>(planes, 1)));
}

template <class B>
void forward_impl(const DepthwiseShape& s, const float* input, const float* weight,
                  const float* bias, float* output, bool fuse_relu) {
  constexpr long V = static_cast<long>(B::size);
  const int oh = s.out_h(), ow = s.out_w();
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  const int taps = s.kernel_h * s.kernel_w;
  const Layout l = make_layout<V>(s.in_h + 2 * s.pad, s.in_w + 2 * s.pad, s.stride);
  std::vector<long> off(taps);
  tap_offsets(l, s.kernel_h, s.kernel_w, off.data());
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
  const long flat_size = static_cast<long>(oh) * l.wrow + 4 * V;
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), flat(flat_size);
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const int c = static_cast<int>(p % s.channels);
      fill_polyphase(l, input + p * in_plane, s.in_h, s.in_w, s.pad, buf.data());
      conv_plane_dispatch<B>(s.kernel_h, s.kernel_w, l, buf.data(), off.data(),
                             weight + static_cast<long>(c) * taps, oh, ow, bias ? bias[c] : 0.0f,
                             fuse_relu, false, output + p * out_plane, flat.data());
    }
  }
}

template <class B>
void backward_input_impl(const DepthwiseShape& s, const float* grad_output, const float* weight,
                         float* grad_input) {
  constexpr long V = static_cast<long>(B::size);
  const int oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  const int taps = kh * kw;
  // grad_in[y][x] = Σ flipped_w[ki][kj] · G[y + ki][x + kj], G = grad_output dilated by the
  // stride and placed at offset (K-1-pad): a stride-1 "forward" over an H × W output.
  const int rows = s.in_h + kh - 1, cols = s.in_w + kw - 1;
  const Layout l = make_layout<V>(rows, cols, 1);
  std::vector<long> off(taps);
  tap_offsets(l, kh, kw, off.data());
  std::vector<float> flipped(static_cast<long>(s.channels) * taps);
  for (int c = 0; c < s.channels; ++c)
    for (int t = 0; t < taps; ++t)
      flipped[static_cast<long>(c) * taps + t] = weight[static_cast<long>(c) * taps + taps - 1 - t];
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
  const long flat_size = static_cast<long>(s.in_h) * l.wrow + 4 * V;
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), flat(flat_size);
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const int c = static_cast<int>(p % s.channels);
      fill_dilated(l, grad_output + p * out_plane, oh, ow, s.stride, kh - 1 - s.pad,
                   kw - 1 - s.pad, rows, cols, buf.data());
      conv_plane_dispatch<B>(kh, kw, l, buf.data(), off.data(),
                             flipped.data() + static_cast<long>(c) * taps, s.in_h, s.in_w, 0.0f,
                             false, true, grad_input + p * in_plane, flat.data());
    }
  }
}

// out[t] = Σ_{x<n} g[x] · base[off[t] + x] for G taps at once (G vector accumulators).
// n is a multiple of the vector width; g is zero past the real data.
template <class B, int G>
void corr_taps(const float* base, const long* off, const float* g, long n, float* out) {
  constexpr long V = static_cast<long>(B::size);
  B acc[G];
  for (int t = 0; t < G; ++t) acc[t] = B(0.0f);
  for (long x = 0; x < n; x += V) {
    const B gv = B::load_unaligned(g + x);
    for (int t = 0; t < G; ++t) acc[t] = fma(gv, B::load_unaligned(base + off[t] + x), acc[t]);
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
void corr_all_taps(int taps, const float* base, const long* off, const float* g, long n,
                   float* out) {
  // As many accumulators as the register file holds (16 ymm / 32 zmm registers).
  constexpr int kMaxAcc = B::size >= 16 ? 25 : (B::size >= 8 ? 12 : 9);
  if (taps == 9) return corr_taps<B, 9>(base, off, g, n, out);
  if (taps == 25 && kMaxAcc >= 25) return corr_taps<B, 25>(base, off, g, n, out);
  int t = 0;
  for (; t + 5 <= taps; t += 5) corr_taps<B, 5>(base, off + t, g, n, out + t);
  for (; t < taps; ++t) corr_taps<B, 1>(base, off + t, g, n, out + t);
}

template <class B>
void backward_weight_impl(const DepthwiseShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias) {
  constexpr long V = static_cast<long>(B::size);
  const int oh = s.out_h(), ow = s.out_w();
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  const int taps = s.kernel_h * s.kernel_w;
  const Layout l = make_layout<V>(s.in_h + 2 * s.pad, s.in_w + 2 * s.pad, s.stride);
  std::vector<long> off(taps);
  tap_offsets(l, s.kernel_h, s.kernel_w, off.data());
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
  const long n = round_up(static_cast<long>(oh) * l.wrow, V);
  // partial[p][0..taps) = this plane's weight gradient, partial[p][taps] = its bias gradient.
  const int stride_p = taps + 1;
  std::vector<float> partial(planes * stride_p);
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), g(n + V, 0.0f);
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      fill_polyphase(l, input + p * in_plane, s.in_h, s.in_w, s.pad, buf.data());
      const float* go = grad_output + p * out_plane;
      // grad_output in the flat layout; its garbage columns stay zero.
      for (int oy = 0; oy < oh; ++oy)
        std::memcpy(g.data() + static_cast<long>(oy) * l.wrow, go + static_cast<long>(oy) * ow,
                    sizeof(float) * ow);
      float* part = partial.data() + p * stride_p;
      corr_all_taps<B>(taps, buf.data(), off.data(), g.data(), n, part);
      part[taps] = sum_span<B>(g.data(), n);
    }
    // Fixed-order reduction over the batch: independent of the thread count.
#pragma omp for schedule(static)
    for (int c = 0; c < s.channels; ++c) {
      float* gw = grad_weight + static_cast<long>(c) * taps;
      for (int b = 0; b < s.batch; ++b) {
        const float* part = partial.data() + (static_cast<long>(b) * s.channels + c) * stride_p;
        for (int t = 0; t < taps; ++t) gw[t] += part[t];
        if (grad_bias) grad_bias[c] += part[taps];
      }
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::dw
