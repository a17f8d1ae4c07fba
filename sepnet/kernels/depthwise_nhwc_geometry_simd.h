// Internal to the channels-last depthwise kernels (depthwise_nhwc_simd.h): the shape as they
// see it (Geom), the weights, and the channel-block walk every pass shares.
//  * Vectors run along channels, which are contiguous: a tap of an output pixel is one vector
//    load at a fixed offset, for any stride. Weights come as [tap][C], so a channel block's taps
//    are plain vector loads too.
//  * A channel count that is not a multiple of the vector width ends in one masked block
//    (masked loads never touch memory past the block; stores of the block go through a stack
//    temporary, since masked stores are microcoded on AMD).
// Anonymous namespace, like every part of the body: each per-ISA translation unit gets its own
// copy (no ODR mixing of ISAs).
#pragma once
#include <algorithm>
#include <cstring>

#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/conv_interior.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/simd_lane_ops.h"

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

// Interior output columns: every tap column x = ox·S − pad + kj inside [0, W).
inline void interior_columns(const Geom& g, int& ox_lo, int& ox_hi) {
  interior_output_columns(g.w, g.kw, g.s, g.p, g.ow, ox_lo, ox_hi);
}

}  // namespace
}  // namespace sepnet::kernels::dwn
