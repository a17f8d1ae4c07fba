// Channels-last depthwise kernels, scalar (baseline x86-64) instantiation of depthwise_nhwc_simd.h:
// the same tiles with a 1-lane "vector", tested against the *_reference loops on every CPU.
#include "kernels/depthwise_nhwc_internal.h"
#include "kernels/depthwise_nhwc_simd.h"
#include "kernels/scalar_lane.h"

namespace sepnet::kernels::dwn::scalar {

using Vec = scalar_simd::Lane;

void forward(const DepthwiseShape& s, const float* input, const float* weight, const float* bias,
             float* output, bool fuse_relu) {
  forward_impl<Vec>(s, input, weight, bias, output, fuse_relu);
}
void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,
                    float* grad_input) {
  backward_input_impl<Vec>(s, grad_output, weight, grad_input);
}
void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,
                     float* grad_weight, float* grad_bias) {
  backward_weight_impl<Vec>(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels::dwn::scalar
