// Single-precision GEMM, row-major: C[M×N] = alpha · op(A) · op(B) + beta · C.
//   op(A) = A   (A stored M×K, lda >= K)   or Aᵀ (A stored K×M, lda >= M) when trans_a;
//   op(B) = B   (B stored K×N, ldb >= N)   or Bᵀ (B stored N×K, ldb >= K) when trans_b.
// beta == 0 overwrites C without reading it (NaN in C is ignored); beta == 1 accumulates,
// which is how weight gradients are summed over a batch.
// sgemm dispatches on kernels::active_isa() and runs on kernels::available_threads() threads
// (deterministic for a fixed thread count). sgemm_reference is the naive scalar triple loop
// every path is tested against.
#pragma once

namespace sepnet::kernels {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

void sgemm_reference(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                     int lda, const float* b, int ldb, float beta, float* c, int ldc);

}  // namespace sepnet::kernels
