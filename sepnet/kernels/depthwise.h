// Depthwise 2-D convolution, NCHW: each channel c is convolved with its own KH×KW filter
// weight[c][ki][kj] (PyTorch's groups == channels, weight shape [C,1,KH,KW]). Same stride and
// zero padding in both dimensions. Direct kernels (no im2col).
// Forward overwrites output; the backward kernels ACCUMULATE (+=) into their gradient
// buffers, as autograd needs. The *_reference functions are the plain scalar definitions.
// The kernels dispatch through the variants table below (kernels/dispatch.h).
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

struct DepthwiseShape {
  int batch, channels, in_h, in_w;
  int kernel_h, kernel_w;
  int stride, pad;
  int out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
};

// output[n][c] = conv(input[n][c], weight[c]) + bias[c] (bias may be null); ReLU if fuse_relu.
void depthwise_conv2d_forward(const DepthwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output, bool fuse_relu = false);
// grad_input += conv_transpose(grad_output, weight)
void depthwise_conv2d_backward_input(const DepthwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input);
// grad_weight[c] += Σ_n corr(input[n][c], grad_output[n][c]); grad_bias[c] += Σ grad_output (may be null)
void depthwise_conv2d_backward_weight(const DepthwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight, float* grad_bias);

void depthwise_conv2d_forward_reference(const DepthwiseShape& s, const float* input,
                                        const float* weight, const float* bias, float* output,
                                        bool fuse_relu = false);
void depthwise_conv2d_backward_input_reference(const DepthwiseShape& s, const float* grad_output,
                                               const float* weight, float* grad_input);
void depthwise_conv2d_backward_weight_reference(const DepthwiseShape& s, const float* input,
                                                const float* grad_output, float* grad_weight,
                                                float* grad_bias);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The entry points of one compiled copy of a depthwise family: NCHW (this header) or
// channels-last (depthwise_nhwc.h), which share the signatures. The references fill one too.
struct DepthwiseEntry {
  void (*forward)(const DepthwiseShape& s, const float* input, const float* weight, const float* bias,
                  float* output, bool fuse_relu);
  void (*backward_input)(const DepthwiseShape& s, const float* grad_output, const float* weight,
                         float* grad_input);
  void (*backward_weight)(const DepthwiseShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias);
};
enum class DepthwiseOp { forward, backward_input, backward_weight };

// NCHW: one row per ISA (depthwise_{scalar,avx2,avx512}.cpp).
VariantTable<DepthwiseEntry> depthwise_variants();
// The ISA whose variant runs `op` on `shape` when `active` is the active one: the family's one
// shape rule (weight gradients of rows under 32 outputs run the AVX2 copy on AVX-512).
Isa depthwise_isa_for(Isa active, DepthwiseOp op, const DepthwiseShape& shape);

}  // namespace sepnet::kernels
