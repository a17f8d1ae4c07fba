// Channels-last depthwise kernels, AVX2+FMA (8 lanes) instantiation of depthwise_nhwc_simd.h.
#include <xsimd/xsimd.hpp>

#include "kernels/depthwise_nhwc_internal.h"
#include "kernels/depthwise_nhwc_simd.h"

namespace sepnet::kernels::dwn::avx2 {

using Vec = xsimd::batch<float, xsimd::fma3<xsimd::avx2>>;

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

}  // namespace sepnet::kernels::dwn::avx2
