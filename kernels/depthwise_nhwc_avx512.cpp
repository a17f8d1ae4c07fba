// Channels-last depthwise kernels, AVX-512 (16 lanes) instantiation of depthwise_nhwc_simd.h.
// GCC 12 false positive: _mm512_max_ps passes _mm512_undefined_ps() as the (unused) merge source.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <xsimd/xsimd.hpp>

#include "kernels/depthwise_nhwc_internal.h"
#include "kernels/depthwise_nhwc_simd.h"

namespace sepnet::kernels::dwn::avx512 {

using Vec = xsimd::batch<float, xsimd::avx512f>;

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

}  // namespace sepnet::kernels::dwn::avx512
