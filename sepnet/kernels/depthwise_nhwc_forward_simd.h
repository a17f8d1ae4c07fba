// Internal: the channels-last depthwise forward (depthwise_nhwc_simd.h), a template on the
// vector type B. Register tiles of R output rows × T pixels × one channel block, kernel size,
// stride, R and T compile-time; each input row of the tile is loaded once and feeds every
// accumulator that uses it. Border tiles load with per-column masks (no branches); a row ends
// in one shorter tile. Channel blocks are the inner loop of a tile position (L1 sets). Kernels
// other than 3×3 / 5×5 at stride 1 / 2 take a checked per-pixel path with 4 channel blocks in
// flight. The stride-1 input gradient runs on these tiles too (depthwise_nhwc_backward_input_simd.h).
#pragma once
#include <algorithm>

#include "sepnet/kernels/depthwise_nhwc_geometry_simd.h"
#include "sepnet/kernels/with_count.h"

namespace sepnet::kernels::dwn {
namespace {

// ---- forward ------------------------------------------------------------------------------

// One output pixel (any position: taps outside the image are skipped), all channels.
template <class B>
void forward_pixel(const Geom& g, const float* in_img, const Weights& pk, int oy, int ox,
                   bool relu, float* out_px) {
  constexpr long V = static_cast<long>(B::size);
  const int y0 = oy * g.s - g.p, x0 = ox * g.s - g.p;
  const int ki_lo = std::max(0, -y0), ki_hi = std::min(g.kh, g.h - y0);
  const int kj_lo = std::max(0, -x0), kj_hi = std::min(g.kw, g.w - x0);
  for_channel_blocks<B>(g.c, [&]<int U, bool Tail>(long c, MaskOf<B> m, int lanes) {
    B acc[U];
    for (int u = 0; u < U; ++u) acc[u] = pk.b ? load_c<B, Tail>(pk.b + c + u * V, m) : B(0.0f);
    for (int ki = ki_lo; ki < ki_hi; ++ki)
      for (int kj = kj_lo; kj < kj_hi; ++kj) {
        const float* px = in_img + (static_cast<long>(y0 + ki) * g.w + x0 + kj) * g.c + c;
        const float* wt = pk.w + static_cast<long>(ki * g.kw + kj) * g.c + c;
        for (int u = 0; u < U; ++u)
          acc[u] = fma(load_c<B, Tail>(px + u * V, m), load_c<B, Tail>(wt + u * V, m), acc[u]);
      }
    for (int u = 0; u < U; ++u) {
      if (relu) acc[u] = max(acc[u], B(0.0f));
      if (g.accumulate) add_store_c<B, Tail>(acc[u], out_px + c + u * V, m, lanes);
      else store_c<B, Tail>(acc[u], out_px + c + u * V, lanes);
    }
  });
}

// R × T output pixels (R consecutive rows, T pixels each), one channel block. `row0` points at
// input row y0 of the first output row (possibly outside the image, never dereferenced then),
// column ox0·S − pad, channel c; input rows i (relative to y0) outside [in_lo, in_hi) are
// skipped. Each input row is loaded once and feeds every output row whose kernel covers it
// (R = 3 at stride 1 loads 5 rows instead of 9). Checked: border tiles load column x of the span
// with mask cm[x], empty outside the image (a masked load reads zeros, touches no memory).
template <class B, int KH, int KW, int S, int T, int R, bool Tail, bool Checked>
inline void forward_tile(const float* row0, long row_step, long cstep, int in_lo, int in_hi,
                         const MaskOf<B>* cm, const float* w, long w_step, B bias, bool relu, bool accumulate,
                         MaskOf<B> m, int lanes, float* out, long out_step, long out_row_step) {
  constexpr int span = (T - 1) * S + KW, in_rows = (R - 1) * S + KH;
  B wv[KH * KW];
#pragma GCC unroll 25
  for (int t = 0; t < KH * KW; ++t) wv[t] = load_c<B, Tail>(w + t * w_step, m);
  B acc[R][T];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < T; ++j) acc[r][j] = bias;
#pragma GCC unroll 8
  for (int i = 0; i < in_rows; ++i) {
    if (i < in_lo || i >= in_hi) continue;
    const float* rp = row0 + i * row_step;
    // Column by column over the span: each input vector is loaded, used by every (row, tap) that
    // reads it, and dead, so one input register lives beside R·T accumulators and the weights
    // (loading the whole span first needs span more: 3 × 6 tiles would need 37 registers).
#pragma GCC unroll 32
    for (int x = 0; x < span; ++x) {
      B in;
      if constexpr (Checked) in = LaneOps<B>::load(rp + x * cstep, cm[x]);
      else in = load_c<B, Tail>(rp + x * cstep, m);
      in_register(in);
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const int ki = i - r * S;
        if (ki < 0 || ki >= KH) continue;
#pragma GCC unroll 8
        for (int kj = 0; kj < KW; ++kj) {
          if ((x - kj) % S != 0) continue;
          const int j = (x - kj) / S;
          if (x < kj || j >= T) continue;
          acc[r][j] = fma(in, wv[ki * KW + kj], acc[r][j]);
        }
      }
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 16
    for (int j = 0; j < T; ++j) {
      if (relu) acc[r][j] = max(acc[r][j], B(0.0f));
      if (accumulate) add_store_c<B, Tail>(acc[r][j], out + r * out_row_step + j * out_step, m, lanes);
      else store_c<B, Tail>(acc[r][j], out + r * out_row_step + j * out_step, lanes);
    }
}

// R output rows from oy in tiles of T pixels (the last one shorter), every pixel through a
// register tile; tiles whose input span crosses the left / right border run the checked variant.
// Channel blocks are the INNER loop: with power-of-two channel counts one block's pixels are
// C·4 bytes apart and fall into a handful of L1 sets (C = 256: 4 of 64), so walking a whole
// row per block thrashed L1 (28×28×256: 56 µs, vs 34 µs with a tile's channel blocks back to
// back, which then stream through memory).
template <class B, int KH, int KW, int S, int R, int T>
void forward_rows(const Geom& g, const float* in_img, const Weights& pk, int oy, long c_begin, long c_end,
                  bool relu, float* out_row) {
  constexpr long V = static_cast<long>(B::size);
  constexpr int in_rows = (R - 1) * S + KH;
  const int y0 = oy * S - g.p;
  const int in_lo = std::max(0, -y0), in_hi = std::min(in_rows, g.h - y0);
  const long row_step = g.in_row();
  // Pointer arithmetic in long from the image base: row y0 may lie above the image.
  const float* base = in_img + static_cast<long>(y0) * row_step;
  const MaskOf<B> tail_mask = LaneOps<B>::mask(0, g.c % V);  // the last block's lanes
  const bool prefetch = g.prefetch;
  for (int ox = 0; ox < g.ow; ox += T) {
    with_count<T>(std::min(T, g.ow - ox), [&]<int N>() {
      constexpr int span = (N - 1) * S + KW;
      const int x_first = ox * S - g.p;
      unsigned cols = 0;
      for (int x = 0; x < span; ++x)
        if (x_first + x >= 0 && x_first + x < g.w) cols |= 1u << x;
      const bool inside = cols == (span >= 32 ? ~0u : (1u << span) - 1u);
      const float* in = base + static_cast<long>(x_first) * g.c;
      float* out = out_row + static_cast<long>(ox) * g.c;
      MaskOf<B> cm_full[span]{}, cm_tail[span]{};  // filled (and read) only for border tiles
      if (!inside) {
        const MaskOf<B> full = LaneOps<B>::mask(0, V), none = LaneOps<B>::mask(0, 0);
        for (int x = 0; x < span; ++x) {
          cm_full[x] = (cols >> x) & 1u ? full : none;
          cm_tail[x] = (cols >> x) & 1u ? tail_mask : none;
        }
      }
      auto block = [&]<bool Tail>(long c, MaskOf<B> m, int lanes) {
        const B bias = pk.b ? load_c<B, Tail>(pk.b + c, m) : B(0.0f);
        if (inside)
          forward_tile<B, KH, KW, S, N, R, Tail, false>(in + c, row_step, g.c, in_lo, in_hi, nullptr, pk.w + c, g.c,
                                                        bias, relu, g.accumulate, m, lanes, out + c, g.c, g.out_row());
        else
          forward_tile<B, KH, KW, S, N, R, Tail, true>(in + c, row_step, g.c, in_lo, in_hi, Tail ? cm_tail : cm_full,
                                                       pk.w + c, g.c, bias, relu, g.accumulate, m, lanes, out + c, g.c,
                                                       g.out_row());
      };
      for_each_block<B>(c_begin, c_end, block);
      if (prefetch) {
        // The columns of this tile in the input rows the next row block adds, and in its output
        // rows: one prefetch per 64-byte line of the channel slice.
        const int x0 = std::max(0, x_first), x1 = std::min(g.w, x_first + N * S);
        const long c_len = c_end - c_begin;
        for (int i = in_rows; i < in_rows + R * S; ++i) {
          if (y0 + i < 0 || y0 + i >= g.h) continue;
          for (int x = x0; x < x1; ++x) {
            const float* p = base + i * row_step + x * static_cast<long>(g.c) + c_begin;
            for (long k = 0; k < c_len; k += 16) __builtin_prefetch(p + k, 0, 3);
          }
        }
        for (int r = R; r < 2 * R && oy + r < g.oh; ++r)
          for (int j = 0; j < N; ++j) {
            float* q = out + r * g.out_row() + j * static_cast<long>(g.c) + c_begin;
            for (long k = 0; k < c_len; k += 16) __builtin_prefetch(q + k, 1, 3);
          }
      }
    });
  }
}

// Rows oy .. oy + count − 1 (count ≤ RM) of one image, in register tiles of up to RM rows × T pixels.
template <class B, int KH, int KW, int S, int RM, int T>
void forward_row_block(const Geom& g, const float* in_img, const Weights& pk, int oy, int count, long c_begin,
                       long c_end, bool relu, float* out_row) {
  if (count == RM) return forward_rows<B, KH, KW, S, RM, T>(g, in_img, pk, oy, c_begin, c_end, relu, out_row);
  if constexpr (RM > 2) {
    if (count == 2) return forward_rows<B, KH, KW, S, 2, T>(g, in_img, pk, oy, c_begin, c_end, relu, out_row);
  }
  for (int r = 0; r < count; ++r)
    forward_rows<B, KH, KW, S, 1, T>(g, in_img, pk, oy + r, c_begin, c_end, relu, out_row + r * g.out_row());
}

using ForwardRowFn = void (*)(const Geom&, const float*, const Weights&, int, int, long, long, bool, float*);

struct ForwardRows {
  ForwardRowFn fn;
  int rows;  // output rows per register tile
};

// Register tiles on AVX-512 (32 registers): at stride 1, 3 rows × 6 pixels (18 accumulators +
// 9 weights + 1 input; input loads per output vector 5·8/18 = 2.2, vs 2.5 for 2 × 8), 3 × 7 when
// one tile spans a 7-pixel row; at stride 2, 2 rows × 8 pixels (5 input rows of 17 vectors feed
// 16 accumulators). Measured against the earlier 2 × 8 (stride 1) and 1 × 8 (stride 2) tiles,
// one thread, medians of 21 interleaved runs: 1x32x112x112 50.3 → 45.8 µs, 1x256x28x28 34.0 →
// 30.3, 1x1024x7x7 14.9 → 13.4 (3 × 7), 1x64x112x112 s2 51.8 → 46.4. AVX2 (16 registers) and
// the scalar path keep 1 row × 4 pixels.
template <class B>
ForwardRows forward_row_fn(const Geom& g) {
  constexpr bool wide = B::size >= 16;
  constexpr int T = tile_pixels<B>();
  if (g.kh == 3 && g.kw == 3 && g.s == 1) {
    if constexpr (wide) {
      if (g.ow <= 7) return {forward_row_block<B, 3, 3, 1, 3, 7>, 3};
      return {forward_row_block<B, 3, 3, 1, 3, 6>, 3};
    }
    return {forward_row_block<B, 3, 3, 1, 1, T>, 1};
  }
  if (g.kh == 3 && g.kw == 3 && g.s == 2) return {forward_row_block<B, 3, 3, 2, wide ? 2 : 1, T>, wide ? 2 : 1};
  if (g.kh == 5 && g.kw == 5 && g.s == 1) return {forward_row_block<B, 5, 5, 1, wide ? 2 : 1, T>, wide ? 2 : 1};
  if (g.kh == 5 && g.kw == 5 && g.s == 2) return {forward_row_block<B, 5, 5, 2, 1, T>, 1};
  return {nullptr, 1};  // other kernels: every pixel through the checked per-pixel path
}


// Channel slices per row block when there are fewer than 8 row blocks per thread: then ≥ 32
// items per thread, for an even static split (14×14×512 at 2 threads: 11.5 µs with ≥ 8 items
// per thread, 8.5 µs with ≥ 32). No empty slices.
inline long channel_slices(long rows, long blocks, int threads) {
  if (threads <= 1 || rows >= 8L * threads) return 1;
  const long want = std::max<long>(1, std::min(blocks, (32L * threads + rows - 1) / rows));
  const long per_slice = (blocks + want - 1) / want;
  return (blocks + per_slice - 1) / per_slice;
}

// How a forward pass is split. Work items: blocks of R rows (R = rows per register tile) ×
// channel slices. Few rows (7×7, 14×14 planes at batch 1) are also split along channels, so
// two threads get equal shares — except when accumulating, where two threads adding into halves
// of the same pixels ran 2× slower (1x256x28x28 input gradient at 2 threads: 25 → 57 µs).
struct ForwardPlan {
  ForwardRowFn row_fn;
  int rows;          // output rows per register tile
  long row_blocks;   // per image
  int threads;
  long slices, per_slice;  // channel slices per row block, channels per slice
};

template <class B>
ForwardPlan forward_plan(const Geom& g) {
  const ForwardRows rows_fn = forward_row_fn<B>(g);
  const long row_blocks = (g.oh + rows_fn.rows - 1) / rows_fn.rows, blocks = g.cp / B::size;
  const long work = static_cast<long>(g.batch) * g.oh * g.out_row() * g.kh * g.kw;
  const int threads = threads_for_rows(g.batch * row_blocks * blocks, work);
  const long slices = rows_fn.fn && !g.accumulate ? channel_slices(g.batch * row_blocks, blocks, threads) : 1;
  return {rows_fn.fn, rows_fn.rows, row_blocks, threads, slices,
          (blocks + slices - 1) / slices * static_cast<long>(B::size)};
}

template <class B>
void forward_geom(const Geom& g, const float* input, const Weights& pk, float* output, bool relu) {
  if (g.batch <= 0 || g.c <= 0 || g.oh <= 0 || g.ow <= 0) return;
  const ForwardPlan plan = forward_plan<B>(g);
  const ForwardRowFn row_fn = plan.row_fn;
  const int R = plan.rows;
  const long row_blocks = plan.row_blocks, per_slice = plan.per_slice;
#pragma omp parallel for schedule(static) num_threads(plan.threads)
  for (long item = 0; item < g.batch * row_blocks * plan.slices; ++item) {
    // Slice-major: a static split then gives each thread whole channel slices over every row
    // (a 7-row plane's 4 row blocks split by rows give the two threads 4 and 3 rows).
    const long slice = item / (g.batch * row_blocks), block = item % (g.batch * row_blocks);
    const long n = block / row_blocks;
    const int oy = static_cast<int>(block % row_blocks) * R;
    const float* in_img = input + n * g.h * g.in_row();
    float* out_row = output + (n * g.oh + oy) * g.out_row();
    if (row_fn) {
      const long c0 = slice * per_slice;
      if (c0 < g.c)
        row_fn(g, in_img, pk, oy, std::min(R, g.oh - oy), c0, std::min<long>(g.c, c0 + per_slice), relu, out_row);
      continue;
    }
    for (int ox = 0; ox < g.ow; ++ox)
      forward_pixel<B>(g, in_img, pk, oy, ox, relu, out_row + static_cast<long>(ox) * g.c);
  }
}

template <class B>
void forward_impl(const DepthwiseShape& s, const float* input, const float* weight,
                  const float* bias, float* output, bool relu) {
  forward_geom<B>(geometry<B>(s), input, Weights{weight, bias}, output, relu);
}

}  // namespace
}  // namespace sepnet::kernels::dwn
