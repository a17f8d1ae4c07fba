// Internal: the one SIMD body of the NCHW depthwise kernels, a template on the vector type B
// (xsimd::batch<float, Arch> for AVX2 / AVX-512, scalar_simd::Lane for the scalar variant), in
// one part per pass:
//   depthwise_padded_plane_simd.h     the zero-bordered, phase-split plane copy they all read
//   depthwise_forward_simd.h          forward (+ depthwise_direct3x3.h, the 3×3 direct paths)
//   depthwise_backward_input_simd.h   input gradient
//   depthwise_backward_weight_simd.h  weight gradient
// Included only by the per-ISA translation units (depthwise_{scalar,avx2,avx512}.cpp), each of
// which exports forward_impl<B>, backward_input_impl<B> and backward_weight_impl<B> as its row
// of the variants table (depthwise.h, DepthwiseEntry). Everything lives in an anonymous
// namespace so that no inline function compiled with one ISA's flags can be picked for another.
#pragma once
#include "sepnet/kernels/depthwise_backward_input_simd.h"
#include "sepnet/kernels/depthwise_backward_weight_simd.h"
#include "sepnet/kernels/depthwise_forward_simd.h"
