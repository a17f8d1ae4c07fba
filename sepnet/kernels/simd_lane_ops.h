// Internal: the per-ISA vector operations xsimd 8.1 lacks, for the SIMD template bodies:
//  * Mask / load(p, m): lanes [lo, hi) only. Masked-off lanes read as 0 and their addresses are
//    never touched (no fault past a buffer end), so borders and padding need no scratch copies.
//    (No masked store on purpose: vmaskmovps stores are microcoded on AMD, ~20× a plain store.)
//  * even(a, b) / odd(a, b): the even / odd elements of the 2V floats a:b (stride-2 columns),
//    possibly in an ISA-specific lane order that unscramble() puts back to natural order. Every
//    operand of one accumulation uses the same order, so the order only matters at the store.
//  * load_halves(lo, hi): V/2 floats from lo, then V/2 from hi (two half-vector rows).
//  * interleave(e, o, lo, hi): lo:hi = e0 o0 e1 o1 … (even and odd columns back in order).
//  * transpose(r): the V×V matrix of the V vectors r[0..V) transposed in place (planes <->
//    pixels for the channels-as-lanes depthwise path).
// One specialisation per vector type, compiled only where its instructions are enabled
// (#if __AVX2__ / __AVX512F__): each per-ISA translation unit sees exactly its own. Anonymous
// namespace, like the bodies that include it.
#pragma once
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/scalar_lane.h"

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace sepnet::kernels {
namespace {

template <class B>
struct LaneOps;

template <>
struct LaneOps<scalar_simd::Lane> {
  using B = scalar_simd::Lane;
  using Mask = bool;
  static Mask mask(long lo, long hi) { return lo <= 0 && hi > 0; }
  static B load(const float* p, Mask m) { return B(m ? *p : 0.0f); }
  static B even(B a, B) { return a; }
  static B odd(B, B b) { return b; }
  static B unscramble(B v) { return v; }
  static void interleave(B e, B o, B& lo, B& hi) {
    lo = e;
    hi = o;
  }
  static B load_halves(const float* lo, const float*) { return B(*lo); }
  static void transpose(B*) {}
};

#if defined(__AVX2__)
template <>
struct LaneOps<xsimd::batch<float, xsimd::fma3<xsimd::avx2>>> {
  using B = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
  using Mask = __m256i;
  static Mask mask(long lo, long hi) {
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const int l = static_cast<int>(lo < -1 ? -1 : (lo > 8 ? 8 : lo));
    const int h = static_cast<int>(hi < 0 ? 0 : (hi > 8 ? 8 : hi));
    const __m256i below_hi = _mm256_cmpgt_epi32(_mm256_set1_epi32(h), idx);
    const __m256i below_lo = _mm256_cmpgt_epi32(_mm256_set1_epi32(l), idx);
    return _mm256_andnot_si256(below_lo, below_hi);
  }
  static B load(const float* p, Mask m) { return _mm256_maskload_ps(p, m); }
  // In-lane shuffles (1 uop each): lane order is columns 0 1 4 5 2 3 6 7 of the 8 outputs.
  static B even(B a, B b) { return _mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)); }
  static B odd(B a, B b) { return _mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)); }
  static B unscramble(B v) {
    return _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(v), _MM_SHUFFLE(3, 1, 2, 0)));
  }
  static B load_halves(const float* lo, const float* hi) {
    return _mm256_insertf128_ps(_mm256_castps128_ps256(_mm_loadu_ps(lo)), _mm_loadu_ps(hi), 1);
  }
  // lo = e0 o0 e1 o1 … e3 o3, hi = e4 o4 … e7 o7 (stride-2 columns back in order).
  static void interleave(B e, B o, B& lo, B& hi) {
    const __m256 a = _mm256_unpacklo_ps(e, o), b = _mm256_unpackhi_ps(e, o);
    lo = _mm256_permute2f128_ps(a, b, 0x20);
    hi = _mm256_permute2f128_ps(a, b, 0x31);
  }
  // In-register 8×8 transpose (24 shuffles): r[i] lane j <-> r[j] lane i.
  static void transpose(B* r) {
    __m256 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
      t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    for (int i = 0; i < 8; i += 4) {
      u[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    for (int i = 0; i < 4; ++i) {
      r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
      r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
    }
  }
};
#endif

#if defined(__AVX512F__)
template <>
struct LaneOps<xsimd::batch<float, xsimd::avx512f>> {
  using B = xsimd::batch<float, xsimd::avx512f>;
  using Mask = __mmask16;
  static Mask mask(long lo, long hi) {
    const long l = lo < 0 ? 0 : (lo > 16 ? 16 : lo), h = hi < 0 ? 0 : (hi > 16 ? 16 : hi);
    if (h <= l) return 0;
    return static_cast<Mask>(((1u << h) - 1u) & ~((1u << l) - 1u));
  }
  static B load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static B even(B a, B b) {
    const __m512i idx = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    return _mm512_permutex2var_ps(a, idx, b);
  }
  static B odd(B a, B b) {
    const __m512i idx = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    return _mm512_permutex2var_ps(a, idx, b);
  }
  static B unscramble(B v) { return v; }
  static B load_halves(const float* lo, const float* hi) {
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(lo)), _mm256_loadu_ps(hi), 1);
  }
  static void interleave(B e, B o, B& lo, B& hi) {
    const __m512i lo_idx = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
    const __m512i hi_idx = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
    lo = _mm512_permutex2var_ps(e, lo_idx, o);
    hi = _mm512_permutex2var_ps(e, hi_idx, o);
  }
  // In-register 16×16 transpose (64 shuffles): 4×4 blocks inside each 128-bit lane
  // (unpack + shuffle, as on AVX2), then a 4×4 transpose of the 128-bit lanes themselves
  // (two rounds of vshuff32x4). r[i] lane j <-> r[j] lane i.
  static void transpose(B* r) {
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
      t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
      t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    // u[4g + k], 128-bit lane L: rows 4g..4g+3 of column 4L + k.
    for (int i = 0; i < 16; i += 4) {
      u[i] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 1] = _mm512_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
      u[i + 2] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
      u[i + 3] = _mm512_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
    }
    // Output row 4L + k gathers lane L of u[k], u[4 + k], u[8 + k], u[12 + k].
    for (int k = 0; k < 4; ++k) {
      const __m512 v0 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0x88);  // lanes 0, 2 of each
      const __m512 v1 = _mm512_shuffle_f32x4(u[k], u[4 + k], 0xDD);  // lanes 1, 3 of each
      const __m512 v2 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0x88);
      const __m512 v3 = _mm512_shuffle_f32x4(u[8 + k], u[12 + k], 0xDD);
      r[k] = _mm512_shuffle_f32x4(v0, v2, 0x88);
      r[4 + k] = _mm512_shuffle_f32x4(v1, v3, 0x88);
      r[8 + k] = _mm512_shuffle_f32x4(v0, v2, 0xDD);
      r[12 + k] = _mm512_shuffle_f32x4(v1, v3, 0xDD);
    }
  }
};
#endif

}  // namespace
}  // namespace sepnet::kernels
