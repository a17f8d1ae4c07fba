// Depthwise kernels, scalar (baseline x86-64) instantiation of depthwise_simd.h: the same
// padded flat-plane algorithm with a 1-lane "vector", so the SIMD code structure is exercised
// on every CPU and the path is still much faster than the branchy *_reference loops.
#include "kernels/depthwise_internal.h"
#include "kernels/depthwise_simd.h"
#include "kernels/scalar_lane.h"

namespace sepnet::kernels::dw::scalar {
using scalar_simd::Lane;

void forward(const DepthwiseShape& s, const float* input, const float* weight, const float* bias,
             float* output, bool fuse_relu) {
  forward_impl<Lane>(s, input, weight, bias, output, fuse_relu);
}
void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,
                    float* grad_input) {
  backward_input_impl<Lane>(s, grad_output, weight, grad_input);
}
void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,
                     float* grad_weight, float* grad_bias) {
  backward_weight_impl<Lane>(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels::dw::scalar
