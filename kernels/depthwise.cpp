// Runtime dispatch of the depthwise kernels to the active ISA path.
#include "kernels/depthwise.h"

#include "kernels/depthwise_internal.h"
#include "kernels/isa.h"

namespace sepnet::kernels {

void depthwise_conv2d_forward(const DepthwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output, bool fuse_relu) {
  switch (active_isa()) {
    case Isa::avx512: return dw::avx512::forward(s, input, weight, bias, output, fuse_relu);
    case Isa::avx2: return dw::avx2::forward(s, input, weight, bias, output, fuse_relu);
    case Isa::scalar: break;
  }
  dw::scalar::forward(s, input, weight, bias, output, fuse_relu);
}

void depthwise_conv2d_backward_input(const DepthwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input) {
  switch (active_isa()) {
    case Isa::avx512: return dw::avx512::backward_input(s, grad_output, weight, grad_input);
    case Isa::avx2: return dw::avx2::backward_input(s, grad_output, weight, grad_input);
    case Isa::scalar: break;
  }
  dw::scalar::backward_input(s, grad_output, weight, grad_input);
}

void depthwise_conv2d_backward_weight(const DepthwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight, float* grad_bias) {
  switch (active_isa()) {
    case Isa::avx512:
      return dw::avx512::backward_weight(s, input, grad_output, grad_weight, grad_bias);
    case Isa::avx2: return dw::avx2::backward_weight(s, input, grad_output, grad_weight, grad_bias);
    case Isa::scalar: break;
  }
  dw::scalar::backward_weight(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
