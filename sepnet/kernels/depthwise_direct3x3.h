// Internal: direct 3×3 depthwise kernels, stride 1 and stride 2, reading the unpadded NCHW
// source rows in place (no plane copy). Included by depthwise_forward_simd.h and
// depthwise_backward_input_simd.h only.
//
// Why these paths stay although no default model reaches them (MobileNet runs channels-last, the
// MNIST nets' depthwise layers are 5×5): they are what every 3×3 depthwise layer in NCHW runs —
// `sepnet throughput --layout nchw`, the NCHW MobileNet that tests/test_models.cpp checks the
// NHWC one against, any model built on ops::conv2d(groups = C) in PyTorch's layout, and the
// other-layout rows of bench_depthwise. Without them those layers take the generic plane-copy
// path: forward 1.13–1.58× slower on the six MobileNet shapes (AVX2, 1 thread, AMD EPYC:
// 32×112² 464 → 600 µs, 1024×7² 82 → 126 µs), stride-2 input gradient 3.2× (docs/depthwise.md).
// They are one header (~400 lines), tested on every variant (tests/test_depthwise.cpp).
//
//  * A tile is R output rows × one vector of output columns. Its input rows are row pointers
//    (rows above / below the plane point at a zero row), so vertical padding costs nothing.
//  * Stride 1: each of the R + 2 input rows is loaded once per column shift kj (3 loads) and
//    feeds up to 3 output rows' accumulators: (R + 2) / (3R) loads per FMA.
//  * Stride 2: each input row is split once into even / odd columns in a zero-bordered scratch
//    slot; the taps are then plain loads from those (see the stride-2 section).
//  * Stride 1: vectors whose taps cross the left / right border use masked loads (masked-off lanes read
//    0 = the zero padding, and never touch memory): no edge copies (the previous scalar edge
//    copy cost ~10× an interior vector through store-forwarding stalls).
#pragma once
#include <algorithm>

#include "sepnet/kernels/simd_lane_ops.h"

namespace sepnet::kernels::dw {
namespace {

// (+= existing if accumulating), ReLU, then a store of the first n lanes. A full-vector store
// is used when n covers the vector, or when the lanes past n are free to clobber (`room` floats
// are writable from dst, rows are stored in increasing order, and the clobbered lanes belong to
// later rows that are stored afterwards): masked stores (vmaskmovps) are microcoded on AMD and
// cost more than the whole tile. Otherwise the n lanes go through a small stack copy.
// What a tile does with its results; a template parameter so that the store loop is branch-free.
enum class Epilogue { store, relu, accumulate };

template <class B, Epilogue E>
inline void store_lanes(B v, float* dst, long n, long room) {
  constexpr long V = static_cast<long>(B::size);
  constexpr bool relu = E == Epilogue::relu, accumulate = E == Epilogue::accumulate;
  if (n >= V || (!accumulate && room >= V)) {
    if (accumulate) v += B::load_unaligned(dst);
    if (relu) v = max(v, B(0.0f));
    v.store_unaligned(dst);
    return;
  }
  alignas(64) float tmp[V];
  v.store_unaligned(tmp);
  // Fixed trip count with a guard: unrolled compare-and-store, never turned into a memcpy call
  // (a call in the tile loop makes GCC spill and reload every weight register around it).
  for (long i = 0; i < V; ++i)
    if (i < n) {
      float r = tmp[i];
      if (accumulate) r += dst[i];
      if (relu) r = r > 0.0f ? r : 0.0f;
      dst[i] = r;
    }
}

// Column start of the output vector at nominal position x0: the row's last partial vector is
// shifted left to end at ow (overlapping its neighbour, which it rewrites with equal values)
// when that is allowed: not accumulating (+= would add twice) and ow >= V.
template <class B, Epilogue E>
inline long vector_start(long x0, int ow) {
  constexpr long V = static_cast<long>(B::size);
  return (E != Epilogue::accumulate && ow >= V && x0 + V > ow) ? ow - V : x0;
}

// Edge tiles: bit j of `masked` says whether load j of a row crosses the border and needs its
// mask; the others stay plain loads (vmaskmovps costs several cycles on AMD, so masking only
// the 1-2 crossing loads of an edge tile matters for narrow planes where every tile is an edge).
template <class B, bool Edge>
inline B load_tap(const float* p, const typename LaneOps<B>::Mask* m, unsigned masked, int which) {
  if constexpr (Edge) {
    if (masked & (1u << which)) return LaneOps<B>::load(p, m[which]);
  }
  return B::load_unaligned(p);
}

// Masks for loads starting at columns starts[j] of a w-column row; returns the bit set of the
// loads that are not entirely inside the row.
template <class B, int N>
inline unsigned edge_masks(const long (&starts)[N], int w, typename LaneOps<B>::Mask* m) {
  constexpr long V = static_cast<long>(B::size);
  unsigned masked = 0;
  for (int j = 0; j < N; ++j) {
    m[j] = LaneOps<B>::mask(-starts[j], w - starts[j]);
    if (starts[j] < 0 || starts[j] + V > w) masked |= 1u << j;
  }
  return masked;
}

// ---- stride 1 --------------------------------------------------------------------------
template <class B, int R, bool Edge>
inline void dw3s1_tile(const float* const* rows, long c0, const typename LaneOps<B>::Mask* m,
                       unsigned masked, const B* wv, float bias, B* acc) {
  for (int k = 0; k < R; ++k) acc[k] = B(bias);
#pragma GCC unroll 16
  for (int i = 0; i < R + 2; ++i)
#pragma GCC unroll 3
    for (int kj = 0; kj < 3; ++kj) {
      const B v = load_tap<B, Edge>(rows[i] + c0 + kj, m, masked, kj);
#pragma GCC unroll 3
      for (int ki = 0; ki < 3; ++ki) {
        const int k = i - ki;
        if (k >= 0 && k < R) acc[k] = fma(wv[ki * 3 + kj], v, acc[k]);
      }
    }
}

// Output rows [0, R) of `out` (row stride ow); rows[i] = input row oy0 - pad + i.
template <class B, Epilogue E, int R>
void dw3s1_rows(const float* const* rows, int w, int ow, int pad, const B* wv, float bias,
                float* out, const float* out_end) {
  using Ops = LaneOps<B>;
  constexpr long V = static_cast<long>(B::size);
  for (long x0 = 0; x0 < ow; x0 += V) {
    const long x = vector_start<B, E>(x0, ow);
    B acc[R];
    const long c0 = x - pad;
    if (c0 >= 0 && c0 + V + 2 <= w) {
      dw3s1_tile<B, R, false>(rows, c0, nullptr, 0, wv, bias, acc);
    } else {
      typename Ops::Mask m[3];
      const long starts[3] = {c0, c0 + 1, c0 + 2};
      const unsigned masked = edge_masks<B>(starts, w, m);
      dw3s1_tile<B, R, true>(rows, c0, m, masked, wv, bias, acc);
    }
    for (int k = 0; k < R; ++k) {
      float* dst = out + static_cast<long>(k) * ow + x;
      store_lanes<B, E>(acc[k], dst, ow - x, out_end - dst);
    }
  }
}

// ---- stride 2 --------------------------------------------------------------------------
// Each input row of a tile is split once into the even and odd columns of its zero-padded
// version (LaneOps::even/odd, put in natural order): E[j] = padded column 2j, O[j] = 2j + 1.
// Taps kj = 0, 1, 2 of output column ox are then E[ox], O[ox], E[ox + 1] for any padding, and
// the tile is a plain-load kernel with no borders or masks. Phase rows have a compile-time length PH, so every tap address is one
// base register plus a constant. (Deinterleaving inside the tile from 4 loads per row, or with
// run-time slot strides, spilled registers and ran 1.5-3× slower.)
constexpr int kS2PhaseRows[] = {48, 80, 144, 272, 528};  // floats; not multiples of 64 (L1 sets)

template <class B>
long s2_padded_half(int w, int pad) {
  return (w + 2L * pad + 1) / 2;
}
// Smallest phase-row length that holds the padded half-row plus the over-read (0 = too wide).
template <class B>
int s2_phase_row(int w, int pad) {
  const long need = s2_padded_half<B>(w, pad) + 2 * static_cast<long>(B::size) + 2;
  for (int ph : kS2PhaseRows)
    if (ph >= need) return ph;
  return 0;
}

// Splits one w-column source row (nullptr: zero row) into the phase rows e and o.
template <class B>
void split_row(const float* src, int w, int pad, long half, float* e, float* o) {
  using Ops = LaneOps<B>;
  constexpr long V = static_cast<long>(B::size);
  // Source column c is padded column c + pad: even source columns land in E when pad is even.
  float* even_dst = (pad % 2 == 0) ? e + pad / 2 : o + (pad - 1) / 2;
  float* odd_dst = (pad % 2 == 0) ? o + pad / 2 : e + (pad + 1) / 2;
  long j = 0;
  if (src) {
    for (; 2 * (j + V) <= w; j += V) {
      const B a = B::load_unaligned(src + 2 * j), b = B::load_unaligned(src + 2 * j + V);
      Ops::unscramble(Ops::even(a, b)).store_unaligned(even_dst + j);
      Ops::unscramble(Ops::odd(a, b)).store_unaligned(odd_dst + j);
    }
    if (2 * j < w) {
      // The last 1..2V-1 columns: masked loads read the missing ones as zeros (a scalar
      // element loop here took as long as the vector part on 112-wide rows).
      const long rest = w - 2 * j;
      const B a = Ops::load(src + 2 * j, Ops::mask(0, rest)),
              b = Ops::load(src + 2 * j + V, Ops::mask(0, rest - V));
      Ops::unscramble(Ops::even(a, b)).store_unaligned(even_dst + j);
      Ops::unscramble(Ops::odd(a, b)).store_unaligned(odd_dst + j);
      j += V;
    }
  }
  // Zero what the taps may read past the row (leading padding is zero from the start and
  // never written). Vector stores, bounded by half + V + 1 <= PH - V.
  for (long z = j; z < half + V + 1; z += V) {
    B(0.0f).store_unaligned(even_dst + z);
    B(0.0f).store_unaligned(odd_dst + z);
  }
}

template <class B, int PH, int R>
inline void dw3s2_tile(const float* e0, long x, const B* wv, float bias, B* acc) {
  for (int k = 0; k < R; ++k) acc[k] = B(bias);
  constexpr long kTapOffset[3] = {0, PH, 1};  // E[x], O[x], E[x + 1]
#pragma GCC unroll 16
  for (int i = 0; i < 2 * R + 1; ++i)
#pragma GCC unroll 3
    for (int kj = 0; kj < 3; ++kj) {
      const B v = B::load_unaligned(e0 + 2L * PH * i + kTapOffset[kj] + x);
#pragma GCC unroll 3
      for (int ki = 0; ki < 3; ++ki) {
        const int r = i - ki;  // output row k reads input rows 2k + ki
        if (r >= 0 && r % 2 == 0 && r / 2 < R) acc[r / 2] = fma(wv[ki * 3 + kj], v, acc[r / 2]);
      }
    }
}

// Output rows [0, R) from the 2R + 1 split slots (E then O, PH floats each) starting at e0.
template <class B, Epilogue E, int PH, int R>
void dw3s2_rows(const float* e0, int ow, const B* wv, float bias, float* out,
                const float* out_end) {
  constexpr long V = static_cast<long>(B::size);
  for (long x0 = 0; x0 < ow; x0 += V) {
    const long x = vector_start<B, E>(x0, ow);
    B acc[R];
    dw3s2_tile<B, PH, R>(e0, x, wv, bias, acc);
    for (int k = 0; k < R; ++k) {
      float* dst = out + static_cast<long>(k) * ow + x;
      store_lanes<B, E>(acc[k], dst, ow - x, out_end - dst);
    }
  }
}

// ---- planes ----------------------------------------------------------------------------
// Output rows per tile (accumulators): AVX2 has 16 ymm registers = 9 weights + 6 accumulators
// + the load; AVX-512 has 32.
template <class B>
constexpr int dw3_rows_per_tile() {
  if constexpr (B::size >= 16) return 8;
  if constexpr (B::size >= 8) return 6;
  return 4;
}

// Calls the S = 1 or S = 2 row kernel with a tile of exactly `count` (<= R) rows.
template <class B, Epilogue E, int R>
void dw3s1_rows_any(int count, const float* const* rows, int w, int ow, int pad, const B* wv,
                    float bias, float* out, const float* out_end) {
  if (count == R) return dw3s1_rows<B, E, R>(rows, w, ow, pad, wv, bias, out, out_end);
  if constexpr (R > 1)
    dw3s1_rows_any<B, E, R - 1>(count, rows, w, ow, pad, wv, bias, out, out_end);
}
template <class B, Epilogue E, int PH, int R>
void dw3s2_rows_any(int count, const float* e0, int ow, const B* wv, float bias, float* out,
                    const float* out_end) {
  if (count == R) return dw3s2_rows<B, E, PH, R>(e0, ow, wv, bias, out, out_end);
  if constexpr (R > 1) dw3s2_rows_any<B, E, PH, R - 1>(count, e0, ow, wv, bias, out, out_end);
}

// Per-thread scratch: one zero row for stride 1 (the rows above / below the plane, with slack
// for a negative column offset), the 2R + 1 split slots for stride 2.
template <class B>
long dw3_scratch_size(int stride, int w, int pad) {
  constexpr long V = static_cast<long>(B::size);
  if (stride == 1) return w + 4 * V + 8;
  return (2L * dw3_rows_per_tile<B>() + 1) * 2 * s2_phase_row<B>(w, pad) + V;
}

template <class B, Epilogue E>
void dw3s1_plane(const float* in, int h, int w, int oh, int ow, int pad, const float* wt,
                 float bias, float* out, float* scratch) {
  constexpr int R = dw3_rows_per_tile<B>();
  constexpr long V = static_cast<long>(B::size);
  B wv[9];
  for (int t = 0; t < 9; ++t) wv[t] = B(wt[t]);
  const float* out_end = out + static_cast<long>(oh) * ow;
  const float* zero_row = scratch + 2 * V + 4;
  const float* rows[R + 2];
  for (int oy0 = 0; oy0 < oh; oy0 += R) {
    const int count = std::min(R, oh - oy0);
    for (int i = 0; i < count + 2; ++i) {
      const int iy = oy0 - pad + i;
      rows[i] = (iy >= 0 && iy < h) ? in + static_cast<long>(iy) * w : zero_row;
    }
    dw3s1_rows_any<B, E, R>(count, rows, w, ow, pad, wv, bias, out + static_cast<long>(oy0) * ow,
                            out_end);
  }
}

template <class B, Epilogue E, int PH>
void dw3s2_plane(const float* in, int h, int w, int oh, int ow, int pad, const float* wt,
                 float bias, float* out, float* scratch) {
  constexpr int R = dw3_rows_per_tile<B>();
  B wv[9];
  for (int t = 0; t < 9; ++t) wv[t] = B(wt[t]);
  const float* out_end = out + static_cast<long>(oh) * ow;
  const long half = s2_padded_half<B>(w, pad);
  for (int oy0 = 0; oy0 < oh; oy0 += R) {
    const int count = std::min(R, oh - oy0);
    for (int i = 0; i < 2 * count + 1; ++i) {
      const int iy = 2 * oy0 - pad + i;
      float* e = scratch + 2L * PH * i;
      split_row<B>((iy >= 0 && iy < h) ? in + static_cast<long>(iy) * w : nullptr, w, pad, half,
                   e, e + PH);
    }
    dw3s2_rows_any<B, E, PH, R>(count, scratch, ow, wv, bias, out + static_cast<long>(oy0) * ow,
                                out_end);
  }
}

// One h × w plane -> oh × ow, 3×3, zero padding `pad`; `scratch` (dw3_scratch_size) starts
// zeroed and is reused across planes with the same shape.
using Dw3PlaneFn = void (*)(const float*, int, int, int, int, int, const float*, float, float*,
                           float*);

template <class B, Epilogue E>
Dw3PlaneFn dw3s2_plane_fn(int w, int pad) {
  switch (s2_phase_row<B>(w, pad)) {
    case kS2PhaseRows[0]: return dw3s2_plane<B, E, kS2PhaseRows[0]>;
    case kS2PhaseRows[1]: return dw3s2_plane<B, E, kS2PhaseRows[1]>;
    case kS2PhaseRows[2]: return dw3s2_plane<B, E, kS2PhaseRows[2]>;
    case kS2PhaseRows[3]: return dw3s2_plane<B, E, kS2PhaseRows[3]>;
    case kS2PhaseRows[4]: return dw3s2_plane<B, E, kS2PhaseRows[4]>;
    default: return nullptr;
  }
}

// nullptr when the direct path does not apply (stride 2 wider than the largest phase row).
template <class B>
Dw3PlaneFn dw3_plane_fn(int stride, int w, int pad, bool relu, bool accumulate) {
  if (stride == 1) {
    if (accumulate) return dw3s1_plane<B, Epilogue::accumulate>;
    return relu ? dw3s1_plane<B, Epilogue::relu> : dw3s1_plane<B, Epilogue::store>;
  }
  if (accumulate) return dw3s2_plane_fn<B, Epilogue::accumulate>(w, pad);
  return relu ? dw3s2_plane_fn<B, Epilogue::relu>(w, pad) : dw3s2_plane_fn<B, Epilogue::store>(w, pad);
}

// ---- stride-2 input gradient, by output phase ---------------------------------------------
// grad_in[iy][ix] = Σ w[ki][kj] · g[oy][ox] over iy = 2·oy + ki − pad, ix = 2·ox + kj − pad.
// Only taps whose ki has the parity of iy + pad, and kj that of ix + pad, reach a given input
// pixel: rows take 2 (ki = 0, 2) or 1 (ki = 1) grad rows; even and odd columns take 2 or 1
// taps each. So an even/odd column pair costs 9 FMAs per 2 rows instead of the 4 × 9 of the
// dilated forward (3 of 4 taps on zeros). Each input row computes its even-column vector E and
// odd-column vector O over V column pairs from shifted loads of a zero-bordered copy of the grad
// plane, and LaneOps::interleave puts them back in column order (accumulating, +=).

// Zero-bordered copy of one oh × ow grad plane: rows −1..oh, columns −1..stride−2.
template <class B>
long s2_grad_row_stride(int ow, int w) {
  return std::max<long>(ow, (w + 1) / 2) + static_cast<long>(B::size) + 3;
}
template <class B>
long dw3s2_backward_scratch_size(int oh, int ow, int w) {
  return (oh + 2L) * s2_grad_row_stride<B>(ow, w);
}

// One input row: NK grad rows, NE taps for even columns, NO for odd ones.
template <class B, int NK, int NE, int NO>
void dw3s2_backward_row(const float* const* grows, const B* we, const long* dxe, const B* wo,
                        const long* dxo, int w, float* out) {
  using Ops = LaneOps<B>;
  constexpr long V = static_cast<long>(B::size);
  const long pairs = (w + 1) / 2;
  for (long b0 = 0; b0 < pairs; b0 += V) {
    B e(0.0f), o(0.0f);
#pragma GCC unroll 2
    for (int k = 0; k < NK; ++k) {
#pragma GCC unroll 2
      for (int t = 0; t < NE; ++t) e = fma(we[k * NE + t], B::load_unaligned(grows[k] + b0 + dxe[t]), e);
#pragma GCC unroll 2
      for (int t = 0; t < NO; ++t) o = fma(wo[k * NO + t], B::load_unaligned(grows[k] + b0 + dxo[t]), o);
    }
    B lo, hi;
    Ops::interleave(e, o, lo, hi);
    const long x = 2 * b0;
    store_lanes<B, Epilogue::accumulate>(lo, out + x, w - x, 0);
    if (w - x > V) store_lanes<B, Epilogue::accumulate>(hi, out + x + V, w - x - V, 0);
  }
}

// grad_in (h × w, +=) from grad_out g (oh × ow), weights wt[9], padding 0..2.
template <class B>
void dw3s2_backward_input_plane(const float* g, int oh, int ow, int h, int w, int pad,
                                const float* wt, float* grad_in, float* scratch) {
  const long gs = s2_grad_row_stride<B>(ow, w);
  // Rows −1 and oh and every column outside [0, ow) stay zero (scratch starts zeroed and only
  // [0, ow) of rows 0..oh−1 is ever written).
  float* gb = scratch + gs + 1;  // (0, 0)
  for (int oy = 0; oy < oh; ++oy)
    std::copy(g + static_cast<long>(oy) * ow, g + static_cast<long>(oy + 1) * ow, gb + oy * gs);
  // Column taps: even output columns (q = 0) use kj ≡ pad (mod 2), odd ones kj ≡ pad + 1;
  // tap kj of column 2b + q reads grad column b + (q + pad − kj) / 2.
  long dx[2][2];
  int kjs[2][2], nkj[2];
  for (int q = 0; q < 2; ++q) {
    nkj[q] = 0;
    for (int kj = 0; kj < 3; ++kj)
      if ((q + pad - kj) % 2 == 0) {
        kjs[q][nkj[q]] = kj;
        dx[q][nkj[q]++] = (q + pad - kj) / 2;
      }
  }
  // Row classes: (iy + pad) even → ki ∈ {0, 2}; odd → ki = 1. Weights per class and phase.
  B we[2][4], wo[2][4];
  for (int cls = 0; cls < 2; ++cls) {
    const int nki = cls == 0 ? 2 : 1;
    for (int k = 0; k < nki; ++k) {
      const int ki = cls == 0 ? 2 * k : 1;
      for (int t = 0; t < nkj[0]; ++t) we[cls][k * nkj[0] + t] = B(wt[ki * 3 + kjs[0][t]]);
      for (int t = 0; t < nkj[1]; ++t) wo[cls][k * nkj[1] + t] = B(wt[ki * 3 + kjs[1][t]]);
    }
  }
  const bool even_first = nkj[0] == 2;  // pad even: even columns take kj 0 and 2
  for (int iy = 0; iy < h; ++iy) {
    const int cls = (iy + pad) % 2;
    const float* grows[2];
    if (cls == 0) {
      grows[0] = gb + static_cast<long>((iy + pad) / 2) * gs;      // ki = 0
      grows[1] = gb + static_cast<long>((iy + pad - 2) / 2) * gs;  // ki = 2 (row −1 at most)
    } else {
      grows[0] = gb + static_cast<long>((iy + pad - 1) / 2) * gs;  // ki = 1
    }
    float* out = grad_in + static_cast<long>(iy) * w;
    if (cls == 0) {
      if (even_first) dw3s2_backward_row<B, 2, 2, 1>(grows, we[0], dx[0], wo[0], dx[1], w, out);
      else dw3s2_backward_row<B, 2, 1, 2>(grows, we[0], dx[0], wo[0], dx[1], w, out);
    } else {
      if (even_first) dw3s2_backward_row<B, 1, 2, 1>(grows, we[1], dx[0], wo[1], dx[1], w, out);
      else dw3s2_backward_row<B, 1, 1, 2>(grows, we[1], dx[0], wo[1], dx[1], w, out);
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::dw
