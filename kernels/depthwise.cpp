// Dispatcher. (Temporary: reference path until the direct SIMD kernels land.)
#include "kernels/depthwise.h"

namespace sepnet::kernels {

void depthwise_conv2d_forward(const DepthwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output, bool fuse_relu) {
  depthwise_conv2d_forward_reference(s, input, weight, bias, output, fuse_relu);
}
void depthwise_conv2d_backward_input(const DepthwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input) {
  depthwise_conv2d_backward_input_reference(s, grad_output, weight, grad_input);
}
void depthwise_conv2d_backward_weight(const DepthwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight, float* grad_bias) {
  depthwise_conv2d_backward_weight_reference(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
