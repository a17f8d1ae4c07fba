// SGEMM, AVX-512 path: 6×64 register block (24 zmm accumulators + 4 B vectors + 1 broadcast).
// On Zen 4 a zmm FMA issues once per cycle (two 256-bit pipes), latency 4: 24 independent
// accumulators hide that several times over, and per k step the block needs 4 vector loads
// + 6 broadcasts for 24 FMAs, well within two loads per cycle.
// GCC 12 reports the _mm512_undefined_ps() pass-through inside its own AVX-512 shuffle
// intrinsics (inlined into the packing transposes) as "may be used uninitialized" (GCC bug
// 105593, fixed in 13): silenced for this file, before the headers are read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "sepnet/kernels/gemm_xsimd_vec.h"

namespace sepnet::kernels::gemm_avx512 {
using Vec = gemm_detail::XsimdVec<xsimd::avx512f>;
constexpr int kMR = 6;
constexpr int kNV = 4;
}  // namespace sepnet::kernels::gemm_avx512

#define SEPNET_GEMM_NS gemm_avx512
#include "sepnet/kernels/gemm_impl.h"

namespace sepnet::kernels::gemm_avx2 {
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);
}  // namespace sepnet::kernels::gemm_avx2

namespace sepnet::kernels::gemm_avx512 {
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  // Tall-skinny products with at most 8 columns (the gradients of α 0.25 MobileNet's 8-channel
  // 1×1 convolutions) run the AVX2 build: an 8-float row is one whole ymm vector instead of half
  // a zmm one, and two ymm FMAs issue per cycle (131072 × 8 × 16: 523 → 341 µs; docs/gemm.md).
  if (n <= 8 && tall_skinny(trans_a, trans_b, m, n, k))
    return gemm_avx2::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  sgemm_entry(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                   long ldb, long b_step, float* c, long ldc) {
  abt_sum_entry(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
}
}  // namespace sepnet::kernels::gemm_avx512
