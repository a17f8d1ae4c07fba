// The definition of sgemm: a plain triple loop in double-free float, one thread.
#include "sepnet/kernels/gemm.h"

namespace sepnet::kernels {

void sgemm_reference(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                     int lda, const float* b, int ldb, float beta, float* c, int ldc) {
  for (int i = 0; i < m; ++i) {
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int p = 0; p < k; ++p) {
        float av = trans_a ? a[static_cast<long>(p) * lda + i] : a[static_cast<long>(i) * lda + p];
        float bv = trans_b ? b[static_cast<long>(j) * ldb + p] : b[static_cast<long>(p) * ldb + j];
        sum += av * bv;
      }
      float& out = c[static_cast<long>(i) * ldc + j];
      out = alpha * sum + (beta == 0.0f ? 0.0f : beta * out);
    }
  }
}

}  // namespace sepnet::kernels
