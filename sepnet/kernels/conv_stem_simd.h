// Internal: the one SIMD body of the stem convolution (kernels/conv_stem.h), a template on the
// vector type B (xsimd batch for AVX2 / AVX-512, scalar_simd::Lane for the scalar path).
// Included only by the per-ISA translation units (anonymous namespace).
//
// Vectors run along output channels (contiguous in the NHWC output). Per block of V output
// channels the C_in·9 weight vectors sit in registers (27 + 4 accumulators on AVX-512); each
// output pixel takes C_in·9 input scalars, each broadcast into one FMA. Tiles of T pixels along
// an output row share the weights; pixels whose 3×3 window leaves the image take a checked
// per-pixel path (the border: a few per cent of a 112² output).
#pragma once
#include <algorithm>
#include <cstring>
#include <vector>

#include "sepnet/kernels/conv_interior.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/simd_lane_ops.h"

namespace sepnet::kernels::stem {
namespace {

template <class B>
using MaskOf = typename LaneOps<B>::Mask;

constexpr int K = 3;  // the compiled kernels are 3×3

// Weights per block of V output channels, [block][tap][V] (tap = (c·3 + ky)·3 + kx), zero past
// C_out, plus one block of bias.
template <class B>
std::vector<float> pack_weights(const StemConvShape& s, const float* weight) {
  constexpr long V = static_cast<long>(B::size);
  const int taps = s.in_channels * K * K;
  const long blocks = (s.out_channels + V - 1) / V;
  std::vector<float> p(static_cast<size_t>(blocks * taps * V), 0.0f);
  for (int o = 0; o < s.out_channels; ++o)
    for (int t = 0; t < taps; ++t) p[(o / V * taps + t) * V + o % V] = weight[static_cast<long>(o) * taps + t];
  return p;
}

template <class B>
inline void store_block(B v, float* p, int lanes) {
  if (lanes == static_cast<int>(B::size)) {
    v.store_unaligned(p);
  } else {  // masked stores are microcoded on AMD: through a stack temporary
    alignas(64) float t[B::size];
    v.store_unaligned(t);
    std::memcpy(p, t, sizeof(float) * lanes);
  }
}

template <class B>
inline B load_block(const float* p, int lanes) {
  if (lanes == static_cast<int>(B::size)) return B::load_unaligned(p);
  return LaneOps<B>::load(p, LaneOps<B>::mask(0, lanes));
}

// Output pixels of one row whose window lies inside the image: [ox_lo, ox_hi).
inline void interior_columns(const StemConvShape& s, int& ox_lo, int& ox_hi) {
  interior_output_columns(s.in_w, K, s.stride, s.pad, s.out_w(), ox_lo, ox_hi);
}

// ---- forward ---------------------------------------------------------------------------------

// T pixels ox0.. of a row whose windows are inside the image; `img` = image n, `ix0` = ox0·S − pad.
template <class B, int CI, int S, int T>
inline void forward_tile(const float* img, int h, int w, int iy0, int ix0, const B* wv, B bias, float* out,
                         long out_step, int lanes) {
  B acc[T];
#pragma GCC unroll 8
  for (int j = 0; j < T; ++j) acc[j] = bias;
#pragma GCC unroll 3
  for (int c = 0; c < CI; ++c)
#pragma GCC unroll 3
    for (int ky = 0; ky < K; ++ky) {
      const float* r = img + (static_cast<long>(c) * h + iy0 + ky) * w + ix0;
#pragma GCC unroll 3
      for (int kx = 0; kx < K; ++kx)
#pragma GCC unroll 8
        for (int j = 0; j < T; ++j) acc[j] = fma(B(r[j * S + kx]), wv[(c * K + ky) * K + kx], acc[j]);
    }
#pragma GCC unroll 8
  for (int j = 0; j < T; ++j) store_block(acc[j], out + j * out_step, lanes);
}

// One pixel anywhere: taps outside the image are skipped.
template <class B, int CI>
inline void forward_pixel(const float* img, int h, int w, int iy0, int ix0, const B* wv, B bias, float* out,
                          int lanes) {
  B acc = bias;
  for (int c = 0; c < CI; ++c)
    for (int ky = 0; ky < K; ++ky) {
      const int y = iy0 + ky;
      if (y < 0 || y >= h) continue;
      for (int kx = 0; kx < K; ++kx) {
        const int x = ix0 + kx;
        if (x < 0 || x >= w) continue;
        acc = fma(B(img[(static_cast<long>(c) * h + y) * w + x]), wv[(c * K + ky) * K + kx], acc);
      }
    }
  store_block(acc, out, lanes);
}

template <class B, int CI>
constexpr int tile_pixels() {
  return B::size >= 16 ? (CI == 1 ? 8 : 4) : 4;
}

template <class B, int CI, int S>
void forward_rows(const StemConvShape& s, const float* input, const float* packed, const float* bias,
                  float* output) {
  constexpr long V = static_cast<long>(B::size);
  constexpr int taps = CI * K * K, T = tile_pixels<B, CI>();
  const int oh = s.out_h(), ow = s.out_w(), h = s.in_h, w = s.in_w, co = s.out_channels;
  const long blocks = (co + V - 1) / V, rows = static_cast<long>(s.batch) * oh;
  int ox_lo, ox_hi;
  interior_columns(s, ox_lo, ox_hi);
  const long work = rows * ow * co * taps;
#pragma omp parallel for schedule(static) num_threads(threads_for(work, 1L << 15))
  for (long r = 0; r < rows; ++r) {
    const long n = r / oh;
    const int oy = static_cast<int>(r % oh), iy0 = oy * S - s.pad;
    const bool row_inside = iy0 >= 0 && iy0 + K <= h;
    const float* img = input + n * CI * static_cast<long>(h) * w;
    float* out_row = output + r * ow * static_cast<long>(co);
    for (long b = 0; b < blocks; ++b) {
      const long c0 = b * V;
      const int lanes = static_cast<int>(std::min<long>(V, co - c0));
      B wv[taps];
#pragma GCC unroll 32
      for (int t = 0; t < taps; ++t) wv[t] = B::load_unaligned(packed + (b * taps + t) * V);
      const B bv = bias ? load_block<B>(bias + c0, lanes) : B(0.0f);
      auto pixel = [&](int ox) {
        forward_pixel<B, CI>(img, h, w, iy0, ox * S - s.pad, wv, bv, out_row + ox * static_cast<long>(co) + c0, lanes);
      };
      if (!row_inside) {
        for (int ox = 0; ox < ow; ++ox) pixel(ox);
        continue;
      }
      int ox = 0;
      for (; ox < ox_lo; ++ox) pixel(ox);
      for (; ox + T <= ox_hi; ox += T)
        forward_tile<B, CI, S, T>(img, h, w, iy0, ox * S - s.pad, wv, bv, out_row + ox * static_cast<long>(co) + c0,
                                  co, lanes);
      for (; ox < ox_hi; ++ox)
        forward_tile<B, CI, S, 1>(img, h, w, iy0, ox * S - s.pad, wv, bv, out_row + ox * static_cast<long>(co) + c0,
                                  co, lanes);
      for (; ox < ow; ++ox) pixel(ox);
    }
  }
}

template <class B>
void forward_impl(const StemConvShape& s, const float* input, const float* weight, const float* bias,
                  float* output) {
  if (s.batch <= 0 || s.out_channels <= 0 || s.out_h() <= 0 || s.out_w() <= 0) return;
  const std::vector<float> packed = pack_weights<B>(s, weight);
  const bool c3 = s.in_channels == 3, s2 = s.stride == 2;
  if (c3 && s2) return forward_rows<B, 3, 2>(s, input, packed.data(), bias, output);
  if (c3) return forward_rows<B, 3, 1>(s, input, packed.data(), bias, output);
  if (s2) return forward_rows<B, 1, 2>(s, input, packed.data(), bias, output);
  forward_rows<B, 1, 1>(s, input, packed.data(), bias, output);
}

// ---- weight gradient --------------------------------------------------------------------------

// acc[t] += tap t of pixel (iy0, ix0) · g for the taps of input channels [c0, c0 + CG), every tap
// inside the image (Checked) or all of them.
template <class B, int CG, bool Checked>
[[gnu::always_inline]] inline void weight_pixel(const float* img, int h, int w, int c0, int iy0, int ix0, B g,
                                                B (&acc)[CG * K * K]) {
#pragma GCC unroll 3
  for (int cc = 0; cc < CG; ++cc)
#pragma GCC unroll 3
    for (int ky = 0; ky < K; ++ky) {
      const int y = iy0 + ky;
      if (Checked && (y < 0 || y >= h)) continue;
      const float* r = img + (static_cast<long>(c0 + cc) * h + y) * w + ix0;
#pragma GCC unroll 3
      for (int kx = 0; kx < K; ++kx) {
        if (Checked && (ix0 + kx < 0 || ix0 + kx >= w)) continue;
        B& a = acc[(cc * K + ky) * K + kx];
        a = fma(B(r[kx]), g, a);
      }
    }
}

template <class B, int CI, int S>
void backward_weight_rows(const StemConvShape& s, const float* input, const float* grad_output, float* partials,
                          int parts) {
  constexpr long V = static_cast<long>(B::size);
  constexpr int taps = CI * K * K;
  const int oh = s.out_h(), ow = s.out_w(), h = s.in_h, w = s.in_w, co = s.out_channels;
  const long blocks = (co + V - 1) / V, rows = static_cast<long>(s.batch) * oh, part_size = blocks * (taps + 1) * V;
  int ox_lo, ox_hi;
  interior_columns(s, ox_lo, ox_hi);
  // Part p (one per thread) sums rows [p·rows/parts, (p+1)·rows/parts) into its own partials.
#pragma omp parallel for schedule(static, 1) num_threads(parts)
  for (int p = 0; p < parts; ++p) {
    float* part = partials + p * part_size;
    const long r0 = rows * p / parts, r1 = rows * (p + 1) / parts;
    for (long b = 0; b < blocks; ++b) {
      const long co0 = b * V;
      const int lanes = static_cast<int>(std::min<long>(V, co - co0));
      // CG input channels per pass: all of them (27 accumulators) with 32 registers, one (9) with 16.
      constexpr int CG = B::size >= 16 ? CI : 1;
      for (int c0 = 0; c0 < CI; c0 += CG) {
        B acc[CG * K * K], gsum(0.0f);
#pragma GCC unroll 32
        for (int t = 0; t < CG * K * K; ++t) acc[t] = B(0.0f);
        for (long r = r0; r < r1; ++r) {
          const long n = r / oh;
          const int oy = static_cast<int>(r % oh), iy0 = oy * S - s.pad;
          const bool row_inside = iy0 >= 0 && iy0 + K <= h;
          const float* img = input + n * CI * static_cast<long>(h) * w;
          const float* go = grad_output + r * ow * static_cast<long>(co) + co0;
          for (int ox = 0; ox < ow; ++ox) {
            const B g = load_block<B>(go + ox * static_cast<long>(co), lanes);
            if (c0 == 0) gsum = gsum + g;
            if (row_inside && ox >= ox_lo && ox < ox_hi)
              weight_pixel<B, CG, false>(img, h, w, c0, iy0, ox * S - s.pad, g, acc);
            else
              weight_pixel<B, CG, true>(img, h, w, c0, iy0, ox * S - s.pad, g, acc);
          }
        }
#pragma GCC unroll 32
        for (int t = 0; t < CG * K * K; ++t) acc[t].store_unaligned(part + (b * (taps + 1) + c0 * K * K + t) * V);
        if (c0 == 0) gsum.store_unaligned(part + (b * (taps + 1) + taps) * V);
      }
    }
  }
}

template <class B>
void backward_weight_impl(const StemConvShape& s, const float* input, const float* grad_output, float* grad_weight,
                          float* grad_bias) {
  constexpr long V = static_cast<long>(B::size);
  if (s.batch <= 0 || s.out_channels <= 0 || s.out_h() <= 0 || s.out_w() <= 0) return;
  const int taps = s.in_channels * K * K, co = s.out_channels;
  const long blocks = (co + V - 1) / V, part_size = blocks * (taps + 1) * V;
  const long rows = static_cast<long>(s.batch) * s.out_h();
  const int parts = static_cast<int>(std::min<long>(rows, threads_for(rows * s.out_w() * co * taps, 1L << 15)));
  std::vector<float> partials(static_cast<size_t>(parts * part_size), 0.0f);
  const bool c3 = s.in_channels == 3, s2 = s.stride == 2;
  if (c3 && s2) backward_weight_rows<B, 3, 2>(s, input, grad_output, partials.data(), parts);
  else if (c3) backward_weight_rows<B, 3, 1>(s, input, grad_output, partials.data(), parts);
  else if (s2) backward_weight_rows<B, 1, 2>(s, input, grad_output, partials.data(), parts);
  else backward_weight_rows<B, 1, 1>(s, input, grad_output, partials.data(), parts);
  // Parts added in order: the result does not depend on which thread ran which part.
  for (int o = 0; o < co; ++o) {
    const long base = o / V * (taps + 1) * V + o % V;
    for (int t = 0; t <= taps; ++t) {
      float sum = 0.0f;
      for (int p = 0; p < parts; ++p) sum += partials[p * part_size + base + t * V];
      if (t < taps && grad_weight) grad_weight[static_cast<long>(o) * taps + t] += sum;
      if (t == taps && grad_bias) grad_bias[o] += sum;
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::stem
