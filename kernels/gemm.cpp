// Dispatcher: picks the packed SGEMM compiled for the active ISA (kernels/gemm_impl.h).
#include "kernels/gemm.h"

#include "kernels/isa.h"

namespace sepnet::kernels {

#define SEPNET_DECLARE_GEMM(ns)                                                                \
  namespace ns {                                                                               \
  void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,     \
             int lda, const float* b, int ldb, float beta, float* c, int ldc);                 \
  void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step,     \
                     const float* b, long ldb, long b_step, float* c, long ldc);                \
  }
SEPNET_DECLARE_GEMM(gemm_scalar)
SEPNET_DECLARE_GEMM(gemm_avx2)
SEPNET_DECLARE_GEMM(gemm_avx512)
#undef SEPNET_DECLARE_GEMM

// Tall-skinny products and reductions with at most 8 columns (the input and weight gradients of
// an α 0.25 MobileNet's 8-channel 1×1 convolutions) run the AVX2 build on AVX-512 machines: a row is then one whole
// 8-float vector instead of half a 16-float one, so each FMA does 8 useful lanes instead of
// 8 of 16 (131072 × 8 × 16: 523 → ~290 µs; gemm_impl.h, "tall-skinny").
namespace {
bool narrow_skinny(bool trans_a, bool trans_b, int m, int n, int k) {
  return (!trans_a && n <= 8 && k <= 64 && m >= 64) || (trans_a && !trans_b && n <= 8 && m <= 64 && k >= 512);
}
}  // namespace

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  switch (active_isa()) {
    case Isa::avx512:
      if (narrow_skinny(trans_a, trans_b, m, n, k)) {
        gemm_avx2::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        return;
      }
      gemm_avx512::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    case Isa::avx2:
      gemm_avx2::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    case Isa::scalar:
      break;
  }
  gemm_scalar::sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                   long ldb, long b_step, float* c, long ldc) {
  switch (active_isa()) {
    case Isa::avx512: return gemm_avx512::sgemm_abt_sum(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
    case Isa::avx2: return gemm_avx2::sgemm_abt_sum(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
    case Isa::scalar: break;
  }
  gemm_scalar::sgemm_abt_sum(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
}

}  // namespace sepnet::kernels
