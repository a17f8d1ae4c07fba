// Pointwise (1×1, stride 1, no padding) convolution in NCHW: per image a GEMM
//   output[n] (Cout × HW) = weight (Cout × Cin) · input[n] (Cin × HW) + bias.
// Built on kernels::sgemm. Forward overwrites output; the backward kernels ACCUMULATE (+=)
// into their gradient buffers. Deterministic for a fixed thread count. The *_reference
// functions are the plain scalar definitions the kernels are tested against.
#pragma once

namespace sepnet::kernels {

struct PointwiseShape {
  int batch, in_channels, out_channels, spatial;  // spatial = H·W
};

// output[n][co][i] = Σ_ci weight[co][ci] · input[n][ci][i] + bias[co] (bias may be null).
void pointwise_conv2d_forward(const PointwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output);
// grad_input[n][ci][i] += Σ_co weight[co][ci] · grad_output[n][co][i]
void pointwise_conv2d_backward_input(const PointwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input);
// grad_weight[co][ci] += Σ_n Σ_i grad_output[n][co][i] · input[n][ci][i];
// grad_bias[co] += Σ_n Σ_i grad_output[n][co][i] (grad_bias may be null).
void pointwise_conv2d_backward_weight(const PointwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight,
                                      float* grad_bias);

void pointwise_conv2d_forward_reference(const PointwiseShape& s, const float* input,
                                        const float* weight, const float* bias, float* output);
void pointwise_conv2d_backward_input_reference(const PointwiseShape& s, const float* grad_output,
                                               const float* weight, float* grad_input);
void pointwise_conv2d_backward_weight_reference(const PointwiseShape& s, const float* input,
                                                const float* grad_output, float* grad_weight,
                                                float* grad_bias);

}  // namespace sepnet::kernels
