// Depthwise kernels, scalar (baseline x86-64) instantiation of depthwise_simd.h (NCHW) and
// depthwise_nhwc_simd.h (channels-last): the same algorithms with a 1-lane "vector", so the SIMD
// code structure is exercised on every CPU and the path is still much faster than the branchy
// *_reference loops.
#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/depthwise_nhwc_simd.h"
#include "sepnet/kernels/depthwise_simd.h"
#include "sepnet/kernels/scalar_lane.h"

SEPNET_DW_DEFINE_PATH(dw, scalar, scalar_simd::Lane)
SEPNET_DW_DEFINE_PATH(dwn, scalar, scalar_simd::Lane)
