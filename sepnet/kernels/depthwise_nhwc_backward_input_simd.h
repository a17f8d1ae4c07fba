// Internal: the channels-last depthwise input gradient (depthwise_nhwc_simd.h), a template on
// the vector type B. Stride 1 with a 3×3 or 5×5 kernel is the forward (depthwise_nhwc_forward_simd.h)
// with the kernel rotated by 180°, accumulating; otherwise tiles gathered over input pixels
// (stride 2: the taps that land on an input column are fixed by its phase, resolved at compile
// time inside a tile), and border pixels take the checked per-pixel path.
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

#include "sepnet/kernels/depthwise_nhwc_forward_simd.h"
#include "sepnet/kernels/depthwise_nhwc_geometry_simd.h"

namespace sepnet::kernels::dwn {
namespace {

// Output row of kernel row ki for input row y, or -1 if no output row reaches y through ki.
inline int source_row(const Geom& g, int y, int ki) {
  const int num = y + g.p - ki;
  if (num < 0 || num % g.s != 0 || num / g.s >= g.oh) return -1;
  return num / g.s;
}

// One input pixel (any position), all channels: grad_in += Σ grad_out · w over the taps
// that reach it.
template <class B>
void backward_input_pixel(const Geom& g, const float* go_img, const Weights& pk, int y, int x,
                          float* gin_px) {
  constexpr long V = static_cast<long>(B::size);
  for_channel_blocks<B>(g.c, [&]<int U, bool Tail>(long c, MaskOf<B> m, int lanes) {
    B acc[U];
    for (int u = 0; u < U; ++u) acc[u] = B(0.0f);
    for (int ki = 0; ki < g.kh; ++ki) {
      const int oy = source_row(g, y, ki);
      if (oy < 0) continue;
      for (int kj = 0; kj < g.kw; ++kj) {
        const int nx = x + g.p - kj;
        if (nx < 0 || nx % g.s != 0 || nx / g.s >= g.ow) continue;
        const float* gp = go_img + (static_cast<long>(oy) * g.ow + nx / g.s) * g.c + c;
        const float* wt = pk.w + static_cast<long>(ki * g.kw + kj) * g.c + c;
        for (int u = 0; u < U; ++u)
          acc[u] = fma(load_c<B, Tail>(gp + u * V, m), load_c<B, Tail>(wt + u * V, m), acc[u]);
      }
    }
    for (int u = 0; u < U; ++u) add_store_c<B, Tail>(acc[u], gin_px + c + u * V, m, lanes);
  });
}

// Offsets (j − kj) / S of the grad_output columns a tile of T input pixels reads, relative to
// ox0 = (x0 + pad) / S, for the (j, kj) pairs whose difference is a multiple of S.
template <int KW, int S>
constexpr int bwd_lo_offset() { return -((KW - 1) / S); }
template <int T, int S>
constexpr int bwd_hi_offset() { return (T - 1) / S; }

// T input pixels x0.. of row y, one channel block; x0 + pad is a multiple of S and every
// grad_output column the tile reads is inside the row. `rows[ki]` = grad_output row (pointer at
// column ox0, channel c) reached through kernel row ki, or null.
template <class B, int KH, int KW, int S, int T, bool Tail>
inline void backward_input_tile(const float* const* rows, long cstep, const B* wv, MaskOf<B> m,
                                int lanes, float* gin) {
  constexpr int lo = bwd_lo_offset<KW, S>(), span = bwd_hi_offset<T, S>() - lo + 1;
  B acc[T];
#pragma GCC unroll 16
  for (int j = 0; j < T; ++j) acc[j] = B(0.0f);
#pragma GCC unroll 8
  for (int ki = 0; ki < KH; ++ki) {
    if (!rows[ki]) continue;
    B gv[span];
#pragma GCC unroll 16
    for (int o = 0; o < span; ++o) gv[o] = load_c<B, Tail>(rows[ki] + (o + lo) * cstep, m);
#pragma GCC unroll 8
    for (int kj = 0; kj < KW; ++kj)
#pragma GCC unroll 16
      for (int j = 0; j < T; ++j)
        if ((j - kj) % S == 0) acc[j] = fma(gv[(j - kj) / S - lo], wv[ki * KW + kj], acc[j]);
  }
#pragma GCC unroll 16
  for (int j = 0; j < T; ++j) add_store_c<B, Tail>(acc[j], gin + j * cstep, m, lanes);
}

// Tiles over input row y; returns [x_begin, x_end), the columns they covered.
template <class B, int KH, int KW, int S>
void backward_input_row_interior(const Geom& g, const float* go_img, const Weights& pk, int y,
                                 float* gin_row, int& x_begin, int& x_end) {
  constexpr int T = tile_pixels<B>(), H = T / 2;
  static_assert(T % S == 0 && H % S == 0, "tiles must cover whole stride phases");
  constexpr int lo = bwd_lo_offset<KW, S>();
  const int ox0_first = std::max(-lo, (g.p + S - 1) / S);
  x_begin = x_end = std::min(g.w, ox0_first * S - g.p);
  // Tiles (x0, ox0) while x0 + n ≤ W and the last column read, ox0 + (n−1)/S, is < OW.
  auto fits = [&](int x0, int n) { return x0 + n <= g.w && (x0 + g.p) / S + (n - 1) / S < g.ow; };
  int full = 0;
  while (fits(x_begin + full * T, T)) ++full;
  const bool half = fits(x_begin + full * T, H);
  x_end = x_begin + full * T + (half ? H : 0);
  if (x_end == x_begin) return;
  const float* row_of[KH];
  for (int ki = 0; ki < KH; ++ki) {
    const int oy = source_row(g, y, ki);
    row_of[ki] = oy < 0 ? nullptr : go_img + static_cast<long>(oy) * g.out_row();
  }
  auto block = [&]<bool Tail>(long c, MaskOf<B> m, int lanes) {
    B wv[KH * KW];
    for (int t = 0; t < KH * KW; ++t) wv[t] = load_c<B, Tail>(pk.w + t * static_cast<long>(g.c) + c, m);
    const float* rows[KH];
    int x0 = x_begin;
    auto tile_rows = [&](int at) {
      const long col = static_cast<long>((at + g.p) / S) * g.c + c;
      for (int ki = 0; ki < KH; ++ki) rows[ki] = row_of[ki] ? row_of[ki] + col : nullptr;
    };
    for (int i = 0; i < full; ++i, x0 += T) {
      tile_rows(x0);
      backward_input_tile<B, KH, KW, S, T, Tail>(rows, g.c, wv, m, lanes,
                                                 gin_row + static_cast<long>(x0) * g.c + c);
    }
    if (half) {
      tile_rows(x0);
      backward_input_tile<B, KH, KW, S, H, Tail>(rows, g.c, wv, m, lanes,
                                                 gin_row + static_cast<long>(x0) * g.c + c);
    }
  };
  for_each_block<B>(0, g.c, block);
}

using BackwardInputRowFn = void (*)(const Geom&, const float*, const Weights&, int, float*, int&, int&);

template <class B>
BackwardInputRowFn backward_input_row_fn(const Geom& g) {
  if (g.kh == 3 && g.kw == 3 && g.s == 1) return backward_input_row_interior<B, 3, 3, 1>;
  if (g.kh == 3 && g.kw == 3 && g.s == 2) return backward_input_row_interior<B, 3, 3, 2>;
  if (g.kh == 5 && g.kw == 5 && g.s == 1) return backward_input_row_interior<B, 5, 5, 1>;
  if (g.kh == 5 && g.kw == 5 && g.s == 2) return backward_input_row_interior<B, 5, 5, 2>;
  return nullptr;
}

// At stride 1 the input gradient is a forward convolution of grad_output with the kernel
// rotated by 180° and padding KH − 1 − pad (output size (OH + 2·(KH − 1 − pad) − KH + 1) = H),
// added into grad_input: it runs on the forward's register tiles (3 rows × 6 pixels on AVX-512)
// instead of the one-row input-gradient tiles. Measured, one thread, same run:
// 1x32x112x112 72 → 52 µs, 1x128x56x56 73 → 53, 1x1024x7x7 15.4 → 11.
// Only where the forward's split by row blocks keeps every thread busy (accumulating, it does
// not slice channels, ForwardPlan): 7×7 or 14×14 planes have too few 3-row blocks for two
// threads and keep the one-row tiles, split by input rows.
template <class B>
bool backward_input_as_forward(const Geom& g, const Geom& fg) {
  if (!(g.s == 1 && g.kh == g.kw && (g.kh == 3 || g.kh == 5) && g.p <= g.kh - 1)) return false;
  const ForwardPlan plan = forward_plan<B>(fg);
  return plan.threads == 1 || fg.batch * plan.row_blocks >= 4L * plan.threads;
}

template <class B>
void backward_input_impl(const DepthwiseShape& s, const float* grad_output, const float* weight,
                         float* grad_input) {
  const Geom g = geometry<B>(s);
  if (g.batch <= 0 || g.c <= 0 || g.oh <= 0 || g.ow <= 0) return;
  Geom fg = geometry<B>(DepthwiseShape{g.batch, g.c, g.oh, g.ow, g.kh, g.kw, 1, std::max(0, g.kh - 1 - g.p)});
  fg.accumulate = true;
  if (backward_input_as_forward<B>(g, fg)) {
    const int taps = g.kh * g.kw;
    std::vector<float> rotated(static_cast<size_t>(taps) * g.c);
    for (int t = 0; t < taps; ++t)
      std::memcpy(rotated.data() + static_cast<long>(t) * g.c, weight + static_cast<long>(taps - 1 - t) * g.c,
                  sizeof(float) * g.c);
    return forward_geom<B>(fg, grad_output, Weights{rotated.data(), nullptr}, grad_input, false);
  }
  const Weights pk{weight, nullptr};
  const BackwardInputRowFn row_fn = backward_input_row_fn<B>(g);
  const long rows = static_cast<long>(g.batch) * g.h;
  const long work = static_cast<long>(g.batch) * g.oh * g.out_row() * g.kh * g.kw;
#pragma omp parallel for schedule(static) num_threads(threads_for_rows(rows, work))
  for (long r = 0; r < rows; ++r) {
    const long n = r / g.h;
    const int y = static_cast<int>(r % g.h);
    const float* go_img = grad_output + n * g.oh * g.out_row();
    float* gin_row = grad_input + r * g.in_row();
    int x_begin = g.w, x_end = g.w;
    if (row_fn) row_fn(g, go_img, pk, y, gin_row, x_begin, x_end);
    for (int x = 0; x < g.w; ++x) {
      if (x == x_begin) x = x_end;
      if (x >= g.w) break;
      backward_input_pixel<B>(g, go_img, pk, y, x, gin_row + static_cast<long>(x) * g.c);
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::dwn
