// SGEMM, AVX2+FMA path: 6×16 register block (12 ymm accumulators + 2 B vectors + 1 broadcast
// of the 16 registers). Two FMA pipes × latency 4 need ≥ 8 independent accumulators; 12 give
// slack, and per k step 2 loads + 6 broadcasts feed 12 FMAs.
#include "sepnet/kernels/gemm_xsimd_vec.h"

namespace sepnet::kernels::gemm_avx2 {
using Vec = gemm_detail::XsimdVec<xsimd::fma3<xsimd::avx2>>;
constexpr int kMR = 6;
constexpr int kNV = 2;
}  // namespace sepnet::kernels::gemm_avx2

#define SEPNET_GEMM_NS gemm_avx2
#include "sepnet/kernels/gemm_impl.h"

namespace sepnet::kernels::gemm_avx2 {
void sgemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a, int lda,
           const float* b, int ldb, float beta, float* c, int ldc) {
  sgemm_entry(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
void sgemm_abt_sum(int m, int n, int k, int count, const float* a, long lda, long a_step, const float* b,
                   long ldb, long b_step, float* c, long ldc) {
  abt_sum_entry(m, n, k, count, a, lda, a_step, b, ldb, b_step, c, ldc);
}
}  // namespace sepnet::kernels::gemm_avx2
