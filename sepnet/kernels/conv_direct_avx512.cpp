// Direct convolution kernels, AVX-512 (16 lanes) instantiation of conv_direct_simd.h.
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/conv_direct_internal.h"
#include "sepnet/kernels/conv_direct_simd.h"

namespace sepnet::kernels::direct::avx512 {

using Vec = xsimd::batch<float, xsimd::avx512f>;

void forward(const DirectConvShape& s, const float* input, const float* weight, const float* bias, float* output) {
  forward_impl<Vec>(s, input, weight, bias, output);
}
void backward_input(const DirectConvShape& s, const float* grad_output, const float* weight, float* grad_input,
                    bool accumulate) {
  backward_input_impl<Vec>(s, grad_output, weight, grad_input, accumulate);
}
void backward_weight(const DirectConvShape& s, const float* input, const float* grad_output, float* grad_weight,
                     float* grad_bias) {
  backward_weight_impl<Vec>(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels::direct::avx512
