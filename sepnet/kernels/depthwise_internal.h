// Internal to the depthwise families: the row of the variants table each per-ISA translation
// unit exports — NCHW from depthwise_{scalar,avx2,avx512}.cpp, channels-last from
// depthwise_nhwc_{scalar,avx2,avx512}.cpp; depthwise.cpp and depthwise_nhwc.cpp list them.
#pragma once
#include "sepnet/kernels/depthwise.h"

namespace sepnet::kernels {
extern const DepthwiseEntry kDepthwiseScalar, kDepthwiseAvx2, kDepthwiseAvx512;
extern const DepthwiseEntry kDepthwiseNhwcScalar, kDepthwiseNhwcAvx2, kDepthwiseNhwcAvx512;
}  // namespace sepnet::kernels
