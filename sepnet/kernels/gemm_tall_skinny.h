// Which products the GEMM's tall-skinny paths (gemm_skinny_impl.h) take, for a build with `lanes`
// floats per vector: ISA-neutral, so the dispatcher's shape rule (gemm.cpp, gemm_isa_for) asks
// the same predicates the AVX-512 build itself uses.
#pragma once

// Anonymous namespace: the per-ISA units include this too, and each must keep its own copy
// (no inline function may be shared between objects built with different -m flags).
namespace sepnet::kernels::gemm_tall_skinny {
namespace {

constexpr int kMaxK = 64;       // A·op(B): K ≤ 64
constexpr int kMaxVectors = 4;  // vectors per row of C: N ≤ 64 (AVX-512), N ≤ 32 (AVX2)

// C[M×N] = A[M×K]·op(B), N and K small, many rows (SIMD builds only: lanes ≥ 8).
constexpr bool fits(int lanes, bool trans_a, int m, int n, int k) {
  return lanes >= 8 && !trans_a && n <= kMaxVectors * lanes && k <= kMaxK && m >= 64;
}

// C[M×N] = Aᵀ·B with A K×M, B K×N, M and N small, K long.
constexpr bool reduce_fits(int lanes, bool trans_a, bool trans_b, int m, int n, int k) {
  return lanes >= 8 && trans_a && !trans_b && m <= 64 && n <= kMaxVectors * lanes && k >= 512;
}

// Either tall-skinny path takes this product.
constexpr bool takes(int lanes, bool trans_a, bool trans_b, int m, int n, int k) {
  return fits(lanes, trans_a, m, n, k) || reduce_fits(lanes, trans_a, trans_b, m, n, k);
}

}  // namespace
}  // namespace sepnet::kernels::gemm_tall_skinny
