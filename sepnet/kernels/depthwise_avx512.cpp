// Depthwise kernels, AVX-512 (16 lanes) instantiation of depthwise_simd.h (NCHW) and
// depthwise_nhwc_simd.h (channels-last).
// GCC 12 false positive: _mm512_max_ps passes _mm512_undefined_ps() as the (unused) merge source.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_nhwc_simd.h"
#include "sepnet/kernels/depthwise_simd.h"

namespace {
using Vec = xsimd::batch<float, xsimd::avx512f>;
}  // namespace

SEPNET_DW_DEFINE_PATH(dw, avx512, Vec)
SEPNET_DW_DEFINE_PATH(dwn, avx512, Vec)
