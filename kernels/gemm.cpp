// Dispatcher. (Temporary: reference path until the packed SIMD GEMM lands.)
#include "kernels/gemm.h"

namespace sepnet::kernels {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_reference(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

}  // namespace sepnet::kernels
