// Single-precision GEMM, row-major: C[M×N] = alpha · op(A) · op(B) + beta · C.
//   op(A) = A   (A stored M×K, lda >= K)   or Aᵀ (A stored K×M, lda >= M) when trans_a;
//   op(B) = B   (B stored K×N, ldb >= N)   or Bᵀ (B stored N×K, ldb >= K) when trans_b.
// beta == 0 overwrites C without reading it (NaN in C is ignored); beta == 1 accumulates,
// which is how weight gradients are summed over a batch.
// sgemm dispatches on kernels::active_isa() (the variants table below) and runs on
// kernels::available_threads() threads (deterministic for a fixed thread count).
// sgemm_reference is the naive scalar triple loop every variant is tested against.
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc);

// C[M×N] += Σ_{i < count} A_i·B_iᵀ, A_i = a + i·a_step (M×K, rows lda apart), B_i = b + i·b_step
// (N×K, rows ldb apart): a sum of many small A·Bᵀ products (a weight gradient over a batch) in
// one pass, each product's K contiguous. Runs on the calling thread; the sum order is fixed.
void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                   long ldb, long b_step, float* c, long ldc);

void sgemm_reference(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
                     int lda, const float* b, int ldb, float beta, float* c, int ldc);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The entry points of one compiled copy (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp, each
// the body of gemm_impl.h with its own vector type and register tile).
struct GemmEntry {
  void (*sgemm)(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
                const float* b, int ldb, float beta, float* c, int ldc);
  void (*sgemm_abt_sum)(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                        long ldb, long b_step, float* c, long ldc);
};
enum class GemmOp { sgemm, sgemm_abt_sum };
struct GemmShape {
  bool trans_a, trans_b;
  int m, n, k;
};
// One row per ISA, named by register tile: scalar_4x8, avx2_6x16, avx512_6x64.
VariantTable<GemmEntry> gemm_variants();
// The ISA whose variant runs `op` on `shape` when `active` is the active one: the family's one
// shape rule (tall-skinny products with at most 8 columns run the AVX2 copy on AVX-512).
Isa gemm_isa_for(Isa active, GemmOp op, const GemmShape& shape);

}  // namespace sepnet::kernels
