// Internal: the one SIMD body of the channels-last (NHWC) depthwise kernels, a template on the
// vector type B (xsimd batch for AVX2 / AVX-512, scalar_simd::Lane for the scalar variant), in
// one part per pass (measurements behind each choice: docs/depthwise.md, "channels-last"):
//   depthwise_nhwc_geometry_simd.h         shape, weights, channel-block walk, masked tails
//   depthwise_nhwc_forward_simd.h          forward register tiles
//   depthwise_nhwc_backward_input_simd.h   input gradient
//   depthwise_nhwc_backward_weight_simd.h  weight gradient
// Included only by the per-ISA translation units (depthwise_nhwc_{scalar,avx2,avx512}.cpp), each
// of which exports forward_impl<B>, backward_input_impl<B> and backward_weight_impl<B> as its row
// of the variants table (depthwise_nhwc.h). Anonymous namespaces: no ODR mixing of ISAs.
#pragma once
#include "sepnet/kernels/depthwise_nhwc_backward_input_simd.h"
#include "sepnet/kernels/depthwise_nhwc_backward_weight_simd.h"
#include "sepnet/kernels/depthwise_nhwc_forward_simd.h"
