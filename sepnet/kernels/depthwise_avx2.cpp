// Depthwise kernels, AVX2+FMA (8 lanes) instantiation of depthwise_simd.h (NCHW) and
// depthwise_nhwc_simd.h (channels-last).
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_nhwc_simd.h"
#include "sepnet/kernels/depthwise_simd.h"

namespace {
using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;
}  // namespace

SEPNET_DW_DEFINE_PATH(dw, avx2, Vec)
SEPNET_DW_DEFINE_PATH(dwn, avx2, Vec)
