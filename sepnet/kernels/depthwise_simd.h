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

#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/simd_hsum.h"
#include "sepnet/kernels/depthwise_direct3x3.h"

namespace sepnet::kernels::dw {
namespace {

inline long round_up(long x, long m) { return (x + m - 1) / m * m; }

// Zero-bordered copy of one plane, split into `nsub` = stride column phases: sub-plane cp
// holds padded columns cp, cp + s, cp + 2s, ... of every padded row, so a strided tap
// (row r, column s·ox + kj) is the contiguous run sub[kj mod s][r][ox + kj / s].
struct Layout {
  int stride = 1;
  int rows = 0, wrow = 0;
  long sub_size = 0;
  int nsub = 1;
  long size = 0;  // floats, including slack for full-vector over-reads
};

template <class B>
constexpr int block_vectors() {  // independent accumulators per register tile
  return B::size >= 16 ? 8 : (B::size >= 8 ? 6 : 4);
}

template <class B>
Layout make_layout(int padded_h, int padded_w, int stride) {
  constexpr long V = static_cast<long>(B::size);
  Layout l;
  l.stride = stride;
  l.rows = padded_h + 1;
  l.wrow = (padded_w + stride - 1) / stride;
  l.sub_size = static_cast<long>(l.rows) * l.wrow;
  l.nsub = stride;
  l.size = l.nsub * l.sub_size + l.wrow + 3L * block_vectors<B>() * V + 64;
  return l;
}

// Gathers every s-th element: GCC vectorizes the s == 2 case with shuffles.
template <int S>
void gather_strided(const float* __restrict src, long count, float* __restrict dst) {
  for (long i = 0; i < count; ++i) dst[i] = src[S * i];
}

// Copies an h × w plane into the layout at padded position (y + pad, x + pad).
inline void fill_phases(const Layout& l, const float* src, int h, int w, int pad, float* buf) {
  const int s = l.stride;
  if (s == 1) {
    for (int y = 0; y < h; ++y)
      std::memcpy(buf + static_cast<long>(y + pad) * l.wrow + pad, src + static_cast<long>(y) * w,
                  sizeof(float) * w);
    return;
  }
  // Per column phase cp: the first source column x0 whose padded position x0 + pad has phase
  // cp, where it lands ((x0 + pad) / s) and how many columns follow at step s.
  constexpr int kMaxPhases = 8;
  int first[kMaxPhases];
  long dst_off[kMaxPhases], count[kMaxPhases];
  for (int cp = 0; cp < s && cp < kMaxPhases; ++cp) {
    first[cp] = ((cp - pad) % s + s) % s;
    dst_off[cp] = cp * l.sub_size + (first[cp] + pad) / s;
    count[cp] = first[cp] < w ? (w - first[cp] + s - 1) / s : 0;
  }
  for (int y = 0; y < h; ++y) {
    const float* in = src + static_cast<long>(y) * w;
    float* row = buf + static_cast<long>(y + pad) * l.wrow;
    if (s == 2) {
      gather_strided<2>(in + first[0], count[0], row + dst_off[0]);
      gather_strided<2>(in + first[1], count[1], row + dst_off[1]);
      continue;
    }
    for (int cp = 0; cp < s; ++cp) {
      const int x0 = cp < kMaxPhases ? first[cp] : ((cp - pad) % s + s) % s;
      float* dst = row + cp * l.sub_size + (x0 + pad) / s;
      for (int x = x0, i = 0; x < w; x += s, ++i) dst[i] = in[x];
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

inline int plane_threads(const DepthwiseShape& s, long planes) {
  const long work = planes * static_cast<long>(s.out_h()) * s.out_w() * s.kernel_h * s.kernel_w;
  const int t = threads_for(work, 1L << 15);
  return static_cast<int>(std::min<long>(t, std::max<long>(planes, 1)));
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

template <class B>
void backward_input_impl(const DepthwiseShape& s, const float* grad_output, const float* weight,
                         float* grad_input) {
  const int oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  const int taps = kh * kw;
  // grad_in[y][x] = Σ flipped_w[ki][kj] · G[y + ki][x + kj], G = grad_output dilated by the
  // stride and placed at offset (K-1-pad): a stride-1 "forward" over an H × W output.
  const int rows = s.in_h + kh - 1, cols = s.in_w + kw - 1;
  const Layout l = make_layout<B>(rows, cols, 1);
  std::vector<float> flipped(static_cast<long>(s.channels) * taps);
  for (int c = 0; c < s.channels; ++c)
    for (int t = 0; t < taps; ++t)
      flipped[static_cast<long>(c) * taps + t] = weight[static_cast<long>(c) * taps + taps - 1 - t];
  // Stride 1, 3×3: the transposed convolution is the direct forward over grad_output with
  // padding 2 - pad, accumulating.
  if (s.stride == 1 && use_dw3_path<B>(kh, kw, s.stride, s.pad, ow))
    return dw3_all_planes<B>(s, 1, oh, ow, s.in_h, s.in_w, 2 - s.pad, grad_output, flipped.data(),
                             nullptr, false, true, grad_input);
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
  // Stride 2, 3×3: per output phase, without the dilated plane (a quarter of the FMAs).
  if (s.stride == 2 && kh == 3 && kw == 3 && s.pad <= 2) {
#pragma omp parallel num_threads(plane_threads(s, planes))
    {
      std::vector<float> scratch(dw3s2_backward_scratch_size<B>(oh, ow, s.in_w), 0.0f);
#pragma omp for schedule(static)
      for (long p = 0; p < planes; ++p) {
        const int c = static_cast<int>(p % s.channels);
        dw3s2_backward_input_plane<B>(grad_output + p * out_plane, oh, ow, s.in_h, s.in_w, s.pad,
                                      weight + 9L * c, grad_input + p * in_plane, scratch.data());
      }
    }
    return;
  }
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), flat(flat_scratch_size<B>(l, s.in_h));
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const int c = static_cast<int>(p % s.channels);
      fill_dilated(l, grad_output + p * out_plane, oh, ow, s.stride, kh - 1 - s.pad,
                   kw - 1 - s.pad, rows, cols, buf.data());
      conv_plane_dispatch<B>(l, kh, kw, buf.data(), flipped.data() + static_cast<long>(c) * taps, s.in_h, s.in_w, 0.0f,
                             false, true, grad_input + p * in_plane, flat.data());
    }
  }
}

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
