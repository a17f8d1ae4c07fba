// Internal: the one SIMD body of the channels-last (NHWC) depthwise kernels, a template on the
// vector type B (xsimd batch for AVX2 / AVX-512, scalar_simd::Lane for the scalar path).
// Included only by the per-ISA translation units (anonymous namespace: no ODR mixing of ISAs).
//
// Design (measurements behind each choice: docs/depthwise.md, "channels-last"):
//  * Vectors run along channels, which are contiguous: a tap of an output pixel is one vector
//    load at a fixed offset, for any stride. Weights come as [tap][C], so a channel block's taps
//    are plain vector loads too.
//  * Forward: register tiles of R output rows × T pixels × one channel block, kernel size,
//    stride, R and T compile-time; each input row of the tile is loaded once and feeds every
//    accumulator that uses it. Border tiles load with per-column masks (no branches); a row
//    ends in one shorter tile. Channel blocks are the inner loop of a tile position (L1 sets).
//    Kernels other than 3×3 / 5×5 at stride 1 / 2 take a checked per-pixel path with 4 channel
//    blocks in flight.
//  * A channel count that is not a multiple of the vector width ends in one masked block
//    (masked loads never touch memory past the block; stores of the block go through a stack
//    temporary, since masked stores are microcoded on AMD).
//  * Input gradient: tiles gathered over input pixels (stride 2: the taps that land on an input
//    column are fixed by its phase, resolved at compile time inside a tile); border pixels take
//    the checked per-pixel path.
//  * Weight gradient: KH·KW vector accumulators per channel block walk a row of output pixels;
//    rows are split among threads, each with its own partial sums, added in thread order
//    (deterministic for a fixed thread count).
#pragma once
#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/conv_interior.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/simd_lane_ops.h"
#include "sepnet/kernels/with_count.h"

namespace sepnet::kernels::dwn {
namespace {

template <class B>
using MaskOf = typename LaneOps<B>::Mask;

struct Geom {
  int batch, c, h, w, kh, kw, s, p, oh, ow;
  long cp;  // channels rounded up to whole vectors (rows of the weight-gradient partials)
  bool prefetch;  // forward: software-prefetch the next row block (large tensors, see below)
  bool accumulate = false;  // forward: add into the output instead of overwriting it
  long in_row() const { return static_cast<long>(w) * c; }
  long out_row() const { return static_cast<long>(ow) * c; }
};

// Software prefetch in the forward pass when input + output exceed 4× L2: such tensors come
// from DRAM in training (the layers before evicted them), where the hardware prefetchers do
// not follow a tile's four row streams (each a page or less): 32×32×32×32 forward from cold
// caches 704 µs without, 269 µs with (NCHW 250 µs). On cache-resident tensors the prefetches
// are pure overhead (+20 % on the batch-1 MobileNet shapes), so smaller ones go without.
inline bool forward_prefetch(const DepthwiseShape& s) {
  const double bytes = 4.0 * s.batch * s.channels * (double(s.in_h) * s.in_w + double(s.out_h()) * s.out_w());
  return bytes > 4.0 * cache_sizes().l2;
}

template <class B>
Geom geometry(const DepthwiseShape& s) {
  constexpr long V = static_cast<long>(B::size);
  return {s.batch,   s.channels, s.in_h,   s.in_w,   s.kernel_h,
          s.kernel_w, s.stride,  s.pad,    s.out_h(), s.out_w(),
          (s.channels + V - 1) / V * V, forward_prefetch(s)};
}

// Weights [KH·KW][C] (channels-last, TensorFlow's depthwise filter order) and bias [C] or null.
struct Weights {
  const float* w;
  const float* b;
};

template <class B, bool Tail>
inline B load_c(const float* p, MaskOf<B> m) {
  if constexpr (Tail) return LaneOps<B>::load(p, m);
  else return B::load_unaligned(p);
}
template <class B, bool Tail>
inline void store_c(B v, float* p, int lanes) {
  if constexpr (Tail) {
    alignas(64) float t[B::size];
    v.store_unaligned(t);
    std::memcpy(p, t, sizeof(float) * lanes);
  } else {
    v.store_unaligned(p);
  }
}
template <class B, bool Tail>
inline void add_store_c(B v, float* p, MaskOf<B> m, int lanes) {
  store_c<B, Tail>(load_c<B, Tail>(p, m) + v, p, lanes);
}

// Keeps a loaded vector in a register: without it GCC folds the load into every FMA that uses
// it as a memory operand, so an input vector feeding several taps is loaded that many times
// (a stride-2 tile: 87 loads instead of 60). Alone it measured within noise (the tiles are bound
// by L1 refills from L2, not by load issue), but it keeps the load count honest as tiles grow.
template <class B>
[[gnu::always_inline]] inline void in_register(B& v) {
  if constexpr (requires { typename B::register_type; }) {
    typename B::register_type r = v;
    asm("" : "+v"(r));
    v = B(r);
  }
}

template <class B>
constexpr int tile_pixels() {
  return B::size >= 16 ? 8 : 4;
}

inline int threads_for_rows(long rows, long work) {
  return static_cast<int>(std::min<long>(threads_for(work, 1L << 15), std::max<long>(rows, 1)));
}

// Channel blocks [c_begin, c_end) one vector at a time (c_begin a multiple of V): full blocks,
// then a masked one if c_end is not a whole number of vectors away. body<Tail>(c, mask, lanes).
template <class B, class F>
inline void for_each_block(long c_begin, long c_end, F&& body) {
  constexpr long V = static_cast<long>(B::size);
  long c = c_begin;
  for (; c + V <= c_end; c += V) body.template operator()<false>(c, MaskOf<B>{}, 0);
  if (c < c_end) {
    const int lanes = static_cast<int>(c_end - c);
    body.template operator()<true>(c, LaneOps<B>::mask(0, lanes), lanes);
  }
}

// Channel blocks of one pixel: full blocks 4 at a time, then single ones, then the masked
// tail. body<U, Tail>(c, mask, lanes) handles U blocks starting at channel c.
template <class B, class F>
inline void for_channel_blocks(long channels, F&& body) {
  constexpr long V = static_cast<long>(B::size);
  long c = 0;
  for (; c + 4 * V <= channels; c += 4 * V) body.template operator()<4, false>(c, MaskOf<B>{}, 0);
  for (; c + V <= channels; c += V) body.template operator()<1, false>(c, MaskOf<B>{}, 0);
  if (c < channels) {
    const int lanes = static_cast<int>(channels - c);
    body.template operator()<1, true>(c, LaneOps<B>::mask(0, lanes), lanes);
  }
}

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

// Interior output columns: every tap column x = ox·S − pad + kj inside [0, W).
inline void interior_columns(const Geom& g, int& ox_lo, int& ox_hi) {
  interior_output_columns(g.w, g.kw, g.s, g.p, g.ow, ox_lo, ox_hi);
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

// ---- input gradient -------------------------------------------------------------------------

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

// ---- weight gradient ------------------------------------------------------------------------

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
