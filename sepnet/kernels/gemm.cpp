// The GEMM family's variants table and its one shape rule (kernels/dispatch.h).
#include "sepnet/kernels/gemm.h"

#include "sepnet/kernels/gemm_internal.h"
#include "sepnet/kernels/gemm_tall_skinny.h"

namespace sepnet::kernels {

namespace {
constexpr Variant<GemmEntry> kVariants[] = {
    {Isa::scalar, "scalar_4x8", &kGemmScalar},
    {Isa::avx2, "avx2_6x16", &kGemmAvx2},
    {Isa::avx512, "avx512_6x64", &kGemmAvx512},
};
static_assert(one_row_per_isa(kVariants));
}  // namespace

VariantTable<GemmEntry> gemm_variants() { return kVariants; }

Isa gemm_isa_for(Isa active, GemmOp op, const GemmShape& s) {
  // Tall-skinny products with at most 8 columns (the gradients of α 0.25 MobileNet's 8-channel
  // 1×1 convolutions) run the AVX2 build: an 8-float row is one whole ymm vector instead of half
  // a zmm one, and two ymm FMAs issue per cycle (131072 × 8 × 16: 523 → 341 µs; docs/gemm.md).
  // The products are the ones the AVX-512 build (16 lanes) would send down its tall-skinny paths.
  if (active == Isa::avx512 && op == GemmOp::sgemm && s.n <= 8 &&
      gemm_tall_skinny::takes(16, s.trans_a, s.trans_b, s.m, s.n, s.k))
    return Isa::avx2;
  return active;
}

void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  selected_variant(kVariants, gemm_isa_for, GemmOp::sgemm, GemmShape{trans_a, trans_b, m, n, k})
      .entry->sgemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                   long ldb, long b_step, float* c, long ldc) {
  selected_variant(kVariants, gemm_isa_for, GemmOp::sgemm_abt_sum, GemmShape{false, true, m, n, k})
      .entry->sgemm_abt_sum(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
}

}  // namespace sepnet::kernels
