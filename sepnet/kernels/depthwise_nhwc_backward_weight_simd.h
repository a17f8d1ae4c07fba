// Internal: the channels-last depthwise weight gradient (depthwise_nhwc_simd.h), a template on
// the vector type B. KH·KW vector accumulators per channel block walk a row of output pixels;
// rows are split among threads, each with its own partial sums, added in thread order
// (deterministic for a fixed thread count).
#pragma once
#include <omp.h>

#include <algorithm>
#include <vector>

#include "sepnet/kernels/depthwise_nhwc_geometry_simd.h"

namespace sepnet::kernels::dwn {
namespace {

// Partial sums of one thread: [KH·KW taps + bias][cp].
// One output pixel (any position): acc[t][c] += input tap · grad_out, acc[bias][c] += grad_out.
template <class B>
void backward_weight_pixel(const Geom& g, const float* in_img, const float* go_px, int oy, int ox,
                           float* acc) {
  constexpr long V = static_cast<long>(B::size);
  const int taps = g.kh * g.kw;
  const int y0 = oy * g.s - g.p, x0 = ox * g.s - g.p;
  const int ki_lo = std::max(0, -y0), ki_hi = std::min(g.kh, g.h - y0);
  const int kj_lo = std::max(0, -x0), kj_hi = std::min(g.kw, g.w - x0);
  for_channel_blocks<B>(g.c, [&]<int U, bool Tail>(long c, MaskOf<B> m, int) {
    B gv[U];
    for (int u = 0; u < U; ++u) {
      gv[u] = load_c<B, Tail>(go_px + c + u * V, m);
      float* a = acc + taps * g.cp + c + u * V;
      (B::load_unaligned(a) + gv[u]).store_unaligned(a);
    }
    for (int ki = ki_lo; ki < ki_hi; ++ki)
      for (int kj = kj_lo; kj < kj_hi; ++kj) {
        const float* px = in_img + (static_cast<long>(y0 + ki) * g.w + x0 + kj) * g.c + c;
        float* a = acc + (ki * g.kw + kj) * g.cp + c;
        for (int u = 0; u < U; ++u)
          fma(load_c<B, Tail>(px + u * V, m), gv[u], B::load_unaligned(a + u * V)).store_unaligned(a + u * V);
      }
  });
}

// Interior pixels [ox_lo, ox_hi) of output row oy, one channel block at a time, KH·KW + 1
// accumulators in registers across the row.
// Sliding (stride 1): a row of output pixels reads each input row as a sliding window — pixel
// ox + 1 needs the window of ox shifted by one column — so each kernel row keeps its KW input
// vectors in registers and loads one new vector per pixel: KH + 1 loads per KH·KW FMAs instead
// of KH·KW + 1 (3×3: 4 instead of 10). Same-run A/B against the per-pixel loads (1 thread):
// 1x32x112x112 64.5 → 56.8 µs, 1x256x28x28 47.3 → 42.5, 56² and 14² within noise. (Tiles of 4,
// 8 or 16 pixels with channel blocks inner, as the forward does, measured no better; a 5×5
// window would not fit the registers.)
template <class B, int KH, int KW, int S, bool Sliding>
void backward_weight_row_interior(const Geom& g, const float* in_img, const float* go_row, int y0,
                                  int ox_lo, int ox_hi, float* acc) {
  static_assert(!Sliding || S == 1, "the window slides by one column per pixel");
  constexpr int taps = KH * KW;
  if (ox_hi <= ox_lo) return;
  const int ki_lo = std::max(0, -y0), ki_hi = std::min(KH, g.h - y0);
  const long row_step = g.in_row();
  auto block = [&]<bool Tail>(long c, MaskOf<B> m, int) {
    B a[taps + 1];
#pragma GCC unroll 32
    for (int t = 0; t <= taps; ++t) a[t] = B::load_unaligned(acc + t * g.cp + c);
    const float* base = in_img + static_cast<long>(y0) * row_step + c + static_cast<long>(ox_lo * S - g.p) * g.c;
    B win[KH][KW];
    if constexpr (Sliding) {
#pragma GCC unroll 8
      for (int ki = 0; ki < KH; ++ki)
#pragma GCC unroll 8
        for (int kj = 0; kj < KW - 1; ++kj)
          win[ki][kj + 1] = ki >= ki_lo && ki < ki_hi ? load_c<B, Tail>(base + ki * row_step + kj * g.c, m) : B(0.0f);
    }
    for (int ox = ox_lo; ox < ox_hi; ++ox) {
      const B gv = load_c<B, Tail>(go_row + static_cast<long>(ox) * g.c + c, m);
      a[taps] += gv;
      const float* px = base + static_cast<long>((ox - ox_lo) * S) * g.c;
#pragma GCC unroll 8
      for (int ki = 0; ki < KH; ++ki) {
        if (ki < ki_lo || ki >= ki_hi) continue;
        if constexpr (Sliding) {
#pragma GCC unroll 8
          for (int kj = 0; kj < KW - 1; ++kj) win[ki][kj] = win[ki][kj + 1];
          win[ki][KW - 1] = load_c<B, Tail>(px + ki * row_step + (KW - 1) * g.c, m);
        }
#pragma GCC unroll 8
        for (int kj = 0; kj < KW; ++kj) {
          const B in = Sliding ? win[ki][kj] : load_c<B, Tail>(px + ki * row_step + kj * g.c, m);
          a[ki * KW + kj] = fma(in, gv, a[ki * KW + kj]);
        }
      }
    }
#pragma GCC unroll 32
    for (int t = 0; t <= taps; ++t) a[t].store_unaligned(acc + t * g.cp + c);
  };
  for_each_block<B>(0, g.c, block);
}

using BackwardWeightRowFn = void (*)(const Geom&, const float*, const float*, int, int, int, float*);

template <class B>
BackwardWeightRowFn backward_weight_row_fn(const Geom& g) {
  if (g.kh == 3 && g.kw == 3 && g.s == 1) return backward_weight_row_interior<B, 3, 3, 1, true>;
  if (g.kh == 3 && g.kw == 3 && g.s == 2) return backward_weight_row_interior<B, 3, 3, 2, false>;
  if (g.kh == 5 && g.kw == 5 && g.s == 1) return backward_weight_row_interior<B, 5, 5, 1, false>;
  if (g.kh == 5 && g.kw == 5 && g.s == 2) return backward_weight_row_interior<B, 5, 5, 2, false>;
  return nullptr;
}

template <class B>
void backward_weight_impl(const DepthwiseShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias) {
  const Geom g = geometry<B>(s);
  if (g.batch <= 0 || g.c <= 0 || g.oh <= 0 || g.ow <= 0) return;
  const int taps = g.kh * g.kw;
  int ox_lo, ox_hi;
  interior_columns(g, ox_lo, ox_hi);
  const BackwardWeightRowFn row_fn = backward_weight_row_fn<B>(g);
  const long rows = static_cast<long>(g.batch) * g.oh;
  const int nt = threads_for_rows(rows, rows * g.out_row() * taps);
  const long part = (taps + 1L) * g.cp;
  std::vector<float> partial(nt * part, 0.0f);
#pragma omp parallel num_threads(nt)
  {
    // Fixed contiguous row ranges per thread index: the sum below is deterministic.
    const int t = omp_get_thread_num(), count = omp_get_num_threads();
    float* acc = partial.data() + t * part;
    for (long r = rows * t / count; r < rows * (t + 1) / count; ++r) {
      const long n = r / g.oh;
      const int oy = static_cast<int>(r % g.oh);
      const float* in_img = input + n * g.h * g.in_row();
      const float* go_row = grad_output + r * g.out_row();
      int ox = 0;
      if (row_fn) {
        for (; ox < ox_lo; ++ox)
          backward_weight_pixel<B>(g, in_img, go_row + static_cast<long>(ox) * g.c, oy, ox, acc);
        row_fn(g, in_img, go_row, oy * g.s - g.p, ox_lo, ox_hi, acc);
        ox = ox_hi;
      }
      for (; ox < g.ow; ++ox)
        backward_weight_pixel<B>(g, in_img, go_row + static_cast<long>(ox) * g.c, oy, ox, acc);
    }
  }
  for (int t = 0; t < nt; ++t) {
    const float* acc = partial.data() + t * part;
    for (int k = 0; k < taps; ++k)
      for (int c = 0; c < g.c; ++c) grad_weight[static_cast<long>(k) * g.c + c] += acc[k * g.cp + c];
    if (grad_bias)
      for (int c = 0; c < g.c; ++c) grad_bias[c] += acc[taps * g.cp + c];
  }
}

}  // namespace
}  // namespace sepnet::kernels::dwn
