// SGEMM, portable variant (Isa::scalar): the same blocked algorithm with a plain-C++ "vector" of
// 4 floats and a 4×8 register block, no intrinsics. Built for baseline x86-64, where the
// compiler may still use SSE2 for the 4-float loops.
#include "sepnet/kernels/gemm_internal.h"
#include "sepnet/kernels/gemm_portable_vec.h"

namespace sepnet::kernels::gemm_scalar {
using Vec = gemm_detail::PortableVec<4>;
constexpr int kMR = 4;
constexpr int kNV = 2;
}  // namespace sepnet::kernels::gemm_scalar

#define SEPNET_GEMM_NS gemm_scalar
#include "sepnet/kernels/gemm_impl.h"

namespace sepnet::kernels {
constexpr GemmEntry kGemmScalar{gemm_scalar::sgemm_entry, gemm_scalar::abt_sum_entry};
}  // namespace sepnet::kernels
