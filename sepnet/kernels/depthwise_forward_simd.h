// Internal: the NCHW depthwise forward (depthwise_simd.h), a template on the vector type B.
//  * Large planes are computed row by row straight into the output (W tail = one full vector
//    into a stack temporary; the scratch buffer has slack so over-reads are harmless).
//    Tiny planes (7×7, 8×8, 14×14 at 16 lanes) are computed over the whole flat index range
//    at once, so one vector spans several rows (the wrow-OW garbage columns are computed and
//    dropped) and then compacted into the output: far fewer wasted lanes than one row/vector.
//  * 3×3 kernels take the direct paths of depthwise_direct3x3.h (no plane copy), narrow 3×3
//    stride-1 planes the channels-as-lanes path below.
// The input gradient (depthwise_backward_input_simd.h) reuses these tile kernels.
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_direct3x3.h"
#include "sepnet/kernels/depthwise_padded_plane_simd.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/simd_lane_ops.h"

namespace sepnet::kernels::dw {
namespace {

// Epilogue of the generic path with run-time flags (its callers never ask for both): the direct
// paths' store (store_lanes), with no room to clobber past `lanes`.
template <class B>
inline void store_result(B acc, float* dst, long lanes, bool relu, bool accumulate) {
  if (accumulate) return store_lanes<B, Epilogue::accumulate>(acc, dst, lanes, 0);
  if (relu) return store_lanes<B, Epilogue::relu>(acc, dst, lanes, 0);
  store_lanes<B, Epilogue::store>(acc, dst, lanes, 0);
}

// Register tile: R consecutive output rows × one vector of columns, KH·KW taps each; the R
// independent accumulators hide the FMA latency and every load feeds an FMA directly.
// KH == 0 / S == 0: sizes known only at run time (kh, kw, s).
template <class B, int KH, int KW, int S, int R>
void conv_rows(const Layout& l, const float* buf, const float* w, int kh_rt, int kw_rt, int oy0,
               int ow, float bias, bool relu, bool accumulate, float* out) {
  constexpr long V = static_cast<long>(B::size);
  const int kh = KH > 0 ? KH : kh_rt, kw = KW > 0 ? KW : kw_rt, s = S > 0 ? S : l.stride;
  const long wrow = l.wrow, sub = l.sub_size, row_step = static_cast<long>(s) * wrow;
  const float* top = buf + static_cast<long>(oy0) * row_step;
  for (long x = 0; x < ow; x += V) {
    B acc[R];
    for (int k = 0; k < R; ++k) acc[k] = B(bias);
    for (int ki = 0; ki < kh; ++ki)
      for (int kj = 0; kj < kw; ++kj) {
        const B wt(w[ki * kw + kj]);
        const float* p = top + (kj % s) * sub + ki * wrow + kj / s + x;
        for (int k = 0; k < R; ++k) acc[k] = fma(wt, B::load_unaligned(p + k * row_step), acc[k]);
      }
    for (int k = 0; k < R; ++k)
      store_result(acc[k], out + static_cast<long>(oy0 + k) * ow + x, ow - x, relu, accumulate);
  }
}

// Output rows [oy0, oy0 + count), count <= R, with a tile of exactly `count` rows.
template <class B, int KH, int KW, int S, int R>
void conv_rows_remainder(const Layout& l, const float* buf, const float* w, int kh, int kw,
                         int oy0, int count, int ow, float bias, bool relu, bool accumulate,
                         float* out) {
  if (count == R)
    return conv_rows<B, KH, KW, S, R>(l, buf, w, kh, kw, oy0, ow, bias, relu, accumulate, out);
  if constexpr (R > 1)
    conv_rows_remainder<B, KH, KW, S, R - 1>(l, buf, w, kh, kw, oy0, count, ow, bias, relu,
                                             accumulate, out);
}

// dst[x] = bias + Σ_t w[t]·base[off[t] + x] over the flat index range [0, n) rounded up to
// whole tiles of U vectors (dst has room): the small-plane path, stride 1 only.
template <class B, int T>
void conv_flat(const float* base, const long* off, const float* w, int ntaps, long n, float bias,
               bool relu, float* dst) {
  constexpr long V = static_cast<long>(B::size);
  constexpr int U = block_vectors<B>();
  const int nt = T > 0 ? T : ntaps;
  for (long x = 0; x < n; x += U * V) {
    B acc[U];
    for (int u = 0; u < U; ++u) acc[u] = B(bias);
    for (int t = 0; t < nt; ++t) {
      const B wt(w[t]);
      const float* q = base + off[t] + x;
      for (int u = 0; u < U; ++u) acc[u] = fma(wt, B::load_unaligned(q + u * V), acc[u]);
    }
    for (int u = 0; u < U; ++u) store_result(acc[u], dst + x + u * V, V, relu, false);
  }
}

template <class B>
long flat_scratch_size(const Layout& l, int oh) {
  constexpr long V = static_cast<long>(B::size);
  return round_up(static_cast<long>(oh) * l.wrow, block_vectors<B>() * V) + V;
}

// One output plane (oh × ow) from a filled layout; `flat` has flat_scratch_size() floats.
template <class B, int KH, int KW, int S>
void conv_plane(const Layout& l, const float* buf, const float* w, int kh, int kw, int oh, int ow,
                float bias, bool relu, bool accumulate, float* out, float* flat) {
  constexpr long V = static_cast<long>(B::size);
  constexpr int R = block_vectors<B>();
  const long row_vectors = static_cast<long>(oh) * ((ow + V - 1) / V);
  const long flat_n = static_cast<long>(oh) * l.wrow;
  const long flat_vectors = round_up(flat_n, R * V) / V;
  // Tiny planes: one vector spans several rows (wrow - ow garbage columns are computed and
  // dropped by the compaction pass), worth it only when it saves many lanes.
  if (V > 1 && l.stride == 1 && 5 * flat_vectors < 4 * row_vectors) {
    const int taps = kh * kw;
    long off[64];
    std::vector<long> off_heap;
    long* offp = off;
    if (taps > 64) {
      off_heap.resize(taps);
      offp = off_heap.data();
    }
    for (int ki = 0; ki < kh; ++ki)
      for (int kj = 0; kj < kw; ++kj) offp[ki * kw + kj] = static_cast<long>(ki) * l.wrow + kj;
    conv_flat<B, KH * KW>(buf, offp, w, taps, flat_n, bias, relu && !accumulate, flat);
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
  int oy = 0;
  for (; oy + R <= oh; oy += R)
    conv_rows<B, KH, KW, S, R>(l, buf, w, kh, kw, oy, ow, bias, relu, accumulate, out);
  if (oy < oh)
    conv_rows_remainder<B, KH, KW, S, R>(l, buf, w, kh, kw, oy, oh - oy, ow, bias, relu,
                                         accumulate, out);
}

template <class B>
void conv_plane_dispatch(const Layout& l, int kh, int kw, const float* buf, const float* w, int oh,
                         int ow, float bias, bool relu, bool accumulate, float* out, float* flat) {
  const int s = l.stride;
  if (kh == 3 && kw == 3 && s == 1)
    return conv_plane<B, 3, 3, 1>(l, buf, w, kh, kw, oh, ow, bias, relu, accumulate, out, flat);
  if (kh == 3 && kw == 3 && s == 2)
    return conv_plane<B, 3, 3, 2>(l, buf, w, kh, kw, oh, ow, bias, relu, accumulate, out, flat);
  if (kh == 5 && kw == 5 && s == 1)
    return conv_plane<B, 5, 5, 1>(l, buf, w, kh, kw, oh, ow, bias, relu, accumulate, out, flat);
  if (kh == 5 && kw == 5 && s == 2)
    return conv_plane<B, 5, 5, 2>(l, buf, w, kh, kw, oh, ow, bias, relu, accumulate, out, flat);
  conv_plane<B, 0, 0, 0>(l, buf, w, kh, kw, oh, ow, bias, relu, accumulate, out, flat);
}

// ---- small planes, channels as lanes -------------------------------------------------------
// For planes narrower than a few vectors (7×7, 14×14), V consecutive planes are transposed into
// a zero-bordered pixel-major buffer (pixel-major, one lane per plane), so every tap is one aligned
// vector load times a per-lane weight vector and no lane is wasted on row ends or borders.
// Q outputs of one row are computed at once (Q independent accumulators).
template <class B, int KH, int KW, int Q>
void lanes_row_chunk(const float* ibuf, long wp, const B* wv, B bias, bool relu, float* obuf) {
  constexpr long V = static_cast<long>(B::size);
  B acc[Q];
  for (int q = 0; q < Q; ++q) acc[q] = bias;
  for (int ki = 0; ki < KH; ++ki)
    for (int kj = 0; kj < KW; ++kj) {
      const float* p = ibuf + (ki * wp + kj) * V;
      for (int q = 0; q < Q; ++q) acc[q] = fma(wv[ki * KW + kj], B::load_unaligned(p + q * V), acc[q]);
    }
  for (int q = 0; q < Q; ++q) {
    if (relu) acc[q] = max(acc[q], B(0.0f));
    acc[q].store_unaligned(obuf + q * V);
  }
}

template <class B, int KH, int KW, int Q>
void lanes_row_chunk_n(int q, const float* ibuf, long wp, const B* wv, B bias, bool relu,
                       float* obuf) {
  if (q == Q) return lanes_row_chunk<B, KH, KW, Q>(ibuf, wp, wv, bias, relu, obuf);
  if constexpr (Q > 1) lanes_row_chunk_n<B, KH, KW, Q - 1>(q, ibuf, wp, wv, bias, relu, obuf);
}

struct LanesGeometry {
  int h, w, oh, ow, pad;
  long wp, ibuf_size, obuf_size;
};

template <class B>
LanesGeometry lanes_geometry(int h, int w, int kh, int kw, int pad) {
  constexpr long V = static_cast<long>(B::size);
  LanesGeometry g{h, w, h + 2 * pad - kh + 1, w + 2 * pad - kw + 1, pad, w + 2L * pad, 0, 0};
  g.ibuf_size = (h + 2L * pad) * g.wp * V;
  g.obuf_size = static_cast<long>(g.oh) * g.ow * V;
  return g;
}

// Planes [p0, p0 + np), np <= V; plane p uses channel p % channels. Stride 1.
template <class B, int KH, int KW>
void lanes_group(const LanesGeometry& g, const float* input, const float* weight,
                 const float* bias, int channels, long p0, int np, bool relu, bool accumulate,
                 float* output, float* ibuf, float* obuf) {
  constexpr long V = static_cast<long>(B::size);
  constexpr int T = KH * KW;
  constexpr int kMaxQ = 7;
  const long hw = static_cast<long>(g.h) * g.w, ohw = static_cast<long>(g.oh) * g.ow;
  alignas(64) float lane_w[T * V], lane_b[V];
  for (long l = 0; l < V; ++l) {
    const int c = static_cast<int>((p0 + l) % channels);
    for (int t = 0; t < T; ++t) lane_w[t * V + l] = l < np ? weight[static_cast<long>(c) * T + t] : 0.0f;
    lane_b[l] = (l < np && bias) ? bias[c] : 0.0f;
  }
  // Planes -> pixel-major: V consecutive flat pixels of the V planes are one V×V register
  // transpose (LaneOps::transpose); each resulting pixel vector goes to its padded position.
  // Missing planes (np < V) read a zero vector; the last partial chunk is gathered lane by lane.
  const float* src = input + p0 * hw;
  alignas(64) static const float zeros[V] = {};
  const float* plane_src[V];
  for (long l = 0; l < V; ++l) plane_src[l] = l < np ? src + l * hw : nullptr;
  long f = 0;
  int y = 0, x = 0;  // (y, x) of flat pixel f
  for (; f + V <= hw; f += V) {
    B r[V];
    for (long l = 0; l < V; ++l)
      r[l] = B::load_unaligned(plane_src[l] ? plane_src[l] + f : zeros);
    LaneOps<B>::transpose(r);
    for (long q = 0; q < V; ++q) {
      r[q].store_unaligned(ibuf + ((y + g.pad) * g.wp + x + g.pad) * V);
      if (++x == g.w) {
        x = 0;
        ++y;
      }
    }
  }
  for (; f < hw; ++f) {
    float* px = ibuf + ((y + g.pad) * g.wp + x + g.pad) * V;
    for (long l = 0; l < V; ++l) px[l] = l < np ? plane_src[l][f] : 0.0f;
    if (++x == g.w) {
      x = 0;
      ++y;
    }
  }
  B wv[T];
  for (int t = 0; t < T; ++t) wv[t] = B::load_unaligned(lane_w + t * V);
  const B bv = B::load_unaligned(lane_b);
  const int chunks = (g.ow + kMaxQ - 1) / kMaxQ;
  for (int oy = 0; oy < g.oh; ++oy)
    for (int c = 0, ox = 0; c < chunks; ++c) {
      const int q = (g.ow - ox) / (chunks - c);  // near-equal chunks of <= kMaxQ outputs
      lanes_row_chunk_n<B, KH, KW, kMaxQ>(q, ibuf + (oy * g.wp + ox) * V, g.wp, wv, bv,
                                          relu && !accumulate, obuf + (oy * g.ow + ox) * V);
      ox += q;
    }
  // Pixel-major -> planes: the inverse transposes, V flat output pixels of V planes at a time.
  float* dst = output + p0 * ohw;
  long i = 0;
  for (; i + V <= ohw; i += V) {
    B r[V];
    for (long q = 0; q < V; ++q) r[q] = B::load_unaligned(obuf + (i + q) * V);
    LaneOps<B>::transpose(r);
    for (int l = 0; l < np; ++l) {
      float* d = dst + l * ohw + i;
      if (accumulate) r[l] += B::load_unaligned(d);
      r[l].store_unaligned(d);
    }
  }
  for (; i < ohw; ++i) {
    const float* px = obuf + i * V;
    if (accumulate)
      for (int l = 0; l < np; ++l) dst[l * ohw + i] += px[l];
    else
      for (int l = 0; l < np; ++l) dst[l * ohw + i] = px[l];
  }
}

// Which forward/backward-input planes use which special path.
template <class B>
bool use_lanes_path(int kh, int kw, int stride, int pad, int ow) {
  // Measured (AVX2, 1 thread, register transposes): 7×7 and 14×14 faster as lanes, 28×28
  // even, 56×56 and up faster direct.
  return B::size > 1 && kh == 3 && kw == 3 && stride == 1 && pad <= 2 &&
         ow < 2 * static_cast<int>(B::size);
}
template <class B>
bool use_dw3_path(int kh, int kw, int stride, int pad, int w) {
  return kh == 3 && kw == 3 && pad <= 2 &&
         (stride == 1 || (stride == 2 && s2_phase_row<B>(w, pad) > 0));
}

// 3×3 (stride 1 or 2) over all planes: out_plane p = conv(in_plane p) (+= if accumulate).
template <class B>
void dw3_all_planes(const DepthwiseShape& s, int stride, int h, int w, int oh, int ow, int pad,
                    const float* input, const float* weight, const float* bias, bool relu,
                    bool accumulate, float* output) {
  constexpr long V = static_cast<long>(B::size);
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(h) * w, out_plane = static_cast<long>(oh) * ow;
  if (use_lanes_path<B>(3, 3, stride, pad, ow)) {
    const LanesGeometry g = lanes_geometry<B>(h, w, 3, 3, pad);
    const long groups = (planes + V - 1) / V;
#pragma omp parallel num_threads(static_cast<int>(std::min<long>(plane_threads(s, planes), groups)))
    {
      std::vector<float> ibuf(g.ibuf_size, 0.0f), obuf(g.obuf_size);
#pragma omp for schedule(static)
      for (long gi = 0; gi < groups; ++gi) {
        const long p0 = gi * V;
        const int np = static_cast<int>(std::min<long>(V, planes - p0));
        lanes_group<B, 3, 3>(g, input, weight, bias, s.channels, p0, np, relu, accumulate, output,
                             ibuf.data(), obuf.data());
      }
    }
    return;
  }
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> scratch(dw3_scratch_size<B>(stride, w, pad), 0.0f);
    const Dw3PlaneFn plane_fn = dw3_plane_fn<B>(stride, w, pad, relu, accumulate);
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const int c = static_cast<int>(p % s.channels);
      plane_fn(input + p * in_plane, h, w, oh, ow, pad, weight + 9L * c, bias ? bias[c] : 0.0f,
               output + p * out_plane, scratch.data());
    }
  }
}

template <class B>
void forward_impl(const DepthwiseShape& s, const float* input, const float* weight,
                  const float* bias, float* output, bool fuse_relu) {
  const int oh = s.out_h(), ow = s.out_w();
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  if (use_dw3_path<B>(s.kernel_h, s.kernel_w, s.stride, s.pad, s.in_w))
    return dw3_all_planes<B>(s, s.stride, s.in_h, s.in_w, oh, ow, s.pad, input, weight, bias,
                             fuse_relu, false, output);
  const int taps = s.kernel_h * s.kernel_w;
  const Layout l = make_layout<B>(s.in_h + 2 * s.pad, s.in_w + 2 * s.pad, s.stride);
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), flat(flat_scratch_size<B>(l, oh));
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const int c = static_cast<int>(p % s.channels);
      fill_phases(l, input + p * in_plane, s.in_h, s.in_w, s.pad, buf.data());
      conv_plane_dispatch<B>(l, s.kernel_h, s.kernel_w, buf.data(),
                             weight + static_cast<long>(c) * taps, oh, ow, bias ? bias[c] : 0.0f,
                             fuse_relu, false, output + p * out_plane, flat.data());
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::dw
