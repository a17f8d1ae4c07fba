// SGEMM, AVX2+FMA variant: 6×16 register block (12 ymm accumulators + 2 B vectors + 1 broadcast
// of the 16 registers). Two FMA pipes × latency 4 need ≥ 8 independent accumulators; 12 give
// slack, and per k step 2 loads + 6 broadcasts feed 12 FMAs.
#include "sepnet/kernels/gemm_internal.h"
#include "sepnet/kernels/gemm_xsimd_vec.h"

namespace sepnet::kernels::gemm_avx2 {
using Vec = gemm_detail::XsimdVec<xsimd::fma3<xsimd::avx2>>;
constexpr int kMR = 6;
constexpr int kNV = 2;
}  // namespace sepnet::kernels::gemm_avx2

#define SEPNET_GEMM_NS gemm_avx2
#include "sepnet/kernels/gemm_impl.h"

namespace sepnet::kernels {
constexpr GemmEntry kGemmAvx2{gemm_avx2::sgemm_entry, gemm_avx2::abt_sum_entry};
}  // namespace sepnet::kernels
