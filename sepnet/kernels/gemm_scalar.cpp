// SGEMM, portable path (Isa::scalar): the same blocked algorithm with a plain-C++ "vector" of
// 4 floats and a 4×8 register block, no intrinsics. Built for baseline x86-64, where the
// compiler may still use SSE2 for the 4-float loops.
#include <utility>

namespace sepnet::kernels::gemm_scalar {
struct Vec {
  struct reg {
    float v[4];
  };
  static constexpr int lanes = 4;
  static reg zero() { return reg{{0.0f, 0.0f, 0.0f, 0.0f}}; }
  static reg load(const float* p) { return reg{{p[0], p[1], p[2], p[3]}}; }
  static void store(float* p, reg r) {
    for (int l = 0; l < 4; ++l) p[l] = r.v[l];
  }
  static reg bcast(float x) { return reg{{x, x, x, x}}; }
  static reg fma(reg a, reg b, reg c) {
    for (int l = 0; l < 4; ++l) c.v[l] += a.v[l] * b.v[l];
    return c;
  }
  static reg mul(reg a, reg b) {
    for (int l = 0; l < 4; ++l) a.v[l] *= b.v[l];
    return a;
  }
  static reg add(reg a, reg b) {
    for (int l = 0; l < 4; ++l) a.v[l] += b.v[l];
    return a;
  }
  static void transpose(reg* r) {
    for (int i = 0; i < 4; ++i)
      for (int j = i + 1; j < 4; ++j) std::swap(r[i].v[j], r[j].v[i]);
  }
};
constexpr int kMR = 4;
constexpr int kNV = 2;
}  // namespace sepnet::kernels::gemm_scalar

#define SEPNET_GEMM_NS gemm_scalar
#include "sepnet/kernels/gemm_impl.h"

namespace sepnet::kernels::gemm_scalar {
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_entry(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                   long ldb, long b_step, float* c, long ldc) {
  abt_sum_entry(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
}
}  // namespace sepnet::kernels::gemm_scalar
