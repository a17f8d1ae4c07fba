// Dispatcher: picks the packed SGEMM compiled for the active ISA (kernels/gemm_impl.h).
#include "sepnet/kernels/gemm.h"

#include "sepnet/kernels/isa.h"

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

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  switch (active_isa()) {
    case Isa::avx512:
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
