// SGEMM, AVX-512 variant: 6×64 register block (24 zmm accumulators + 4 B vectors + 1 broadcast).
// On Zen 4 a zmm FMA issues once per cycle (two 256-bit pipes), latency 4: 24 independent
// accumulators hide that several times over, and per k step the block needs 4 vector loads
// + 6 broadcasts for 24 FMAs, well within two loads per cycle.
// Tall-skinny products with at most 8 columns are sent to the AVX2 variant by the dispatcher
// (gemm.cpp, gemm_isa_for), not here.
// GCC 12 reports the _mm512_undefined_ps() pass-through inside its own AVX-512 shuffle
// intrinsics (inlined into the packing transposes) as "may be used uninitialized" (GCC bug
// 105593, fixed in 13): silenced for this file, before the headers are read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include "sepnet/kernels/gemm_internal.h"
#include "sepnet/kernels/gemm_xsimd_vec.h"

namespace sepnet::kernels::gemm_avx512 {
using Vec = gemm_detail::XsimdVec<xsimd::avx512f>;
constexpr int kMR = 6;
constexpr int kNV = 4;
}  // namespace sepnet::kernels::gemm_avx512

#define SEPNET_GEMM_NS gemm_avx512
#include "sepnet/kernels/gemm_impl.h"

namespace sepnet::kernels {
constexpr GemmEntry kGemmAvx512{gemm_avx512::sgemm_entry, gemm_avx512::abt_sum_entry};
}  // namespace sepnet::kernels
