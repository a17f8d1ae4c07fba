// Depthwise 2-D convolution on channels-last (NHWC) activations: input [N][H][W][C], output
// [N][OH][OW][C]. Weights (and their gradient) are channels-last too: [KH][KW][C], TensorFlow's
// depthwise filter order, so a channel block's taps are vector loads (PyTorch's [C][1][KH][KW]
// converts with depthwise_weight_to_hwc / _from_hwc; like oneDNN's and XNNPACK's packed
// weights, the conversion is the caller's, once per weight update, not per kernel call).
// Shape, stride and padding rules are those of DepthwiseShape.
// Why a second layout: with channels contiguous every tap of every output pixel is one
// full-vector load, stride 2 is just a pixel step and small planes (7×7, 14×14) waste no lanes;
// the NCHW kernels need plane copies, column splits or register transposes for the same work
// (docs/depthwise.md, "Layouts"). MobileNet v1 runs in this layout.
// Forward overwrites output; the backward kernels ACCUMULATE (+=), as autograd needs.
#pragma once
#include "sepnet/kernels/depthwise.h"

namespace sepnet::kernels {

// [C][KH·KW] <-> [KH·KW][C]
void depthwise_weight_to_hwc(int channels, int taps, const float* weight_chw, float* weight_hwc);
void depthwise_weight_from_hwc(int channels, int taps, const float* weight_hwc, float* weight_chw);

// output[n][y][x][c] = Σ taps input · weight[tap][c] + bias[c] (bias may be null); ReLU if fuse_relu.
void depthwise_conv2d_nhwc_forward(const DepthwiseShape& s, const float* input,
                                   const float* weight, const float* bias, float* output,
                                   bool fuse_relu = false);
// grad_input += conv_transpose(grad_output, weight)
void depthwise_conv2d_nhwc_backward_input(const DepthwiseShape& s, const float* grad_output,
                                          const float* weight, float* grad_input);
// grad_weight[tap][c] += Σ corr(input, grad_output) over n, y, x; grad_bias[c] += Σ grad_output (may be null).
// Deterministic for a fixed thread count (per-thread partials summed in thread order).
void depthwise_conv2d_nhwc_backward_weight(const DepthwiseShape& s, const float* input,
                                           const float* grad_output, float* grad_weight,
                                           float* grad_bias);

void depthwise_conv2d_nhwc_forward_reference(const DepthwiseShape& s, const float* input,
                                             const float* weight, const float* bias,
                                             float* output, bool fuse_relu = false);
void depthwise_conv2d_nhwc_backward_input_reference(const DepthwiseShape& s,
                                                    const float* grad_output, const float* weight,
                                                    float* grad_input);
void depthwise_conv2d_nhwc_backward_weight_reference(const DepthwiseShape& s, const float* input,
                                                     const float* grad_output, float* grad_weight,
                                                     float* grad_bias);

// ---- variants (kernels/dispatch.h; DepthwiseEntry, DepthwiseOp: depthwise.h) ---------------
// One row per ISA (depthwise_nhwc_{scalar,avx2,avx512}.cpp).
VariantTable<DepthwiseEntry> depthwise_nhwc_variants();
// The ISA whose variant runs `op` on `shape` when `active` is the active one: the family's one
// shape rule (fewer than 16 channels run the AVX2 copy on AVX-512).
Isa depthwise_nhwc_isa_for(Isa active, DepthwiseOp op, const DepthwiseShape& shape);

}  // namespace sepnet::kernels
