// Runtime dispatch of the depthwise kernels to the active ISA path.
#include "sepnet/kernels/depthwise.h"

#include "sepnet/kernels/depthwise_internal.h"
#include "sepnet/kernels/isa.h"

namespace sepnet::kernels {

void depthwise_conv2d_forward(const DepthwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output, bool fuse_relu) {
  SEPNET_DW_DISPATCH(active_isa(), dw, forward, s, input, weight, bias, output, fuse_relu);
}

void depthwise_conv2d_backward_input(const DepthwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input) {
  SEPNET_DW_DISPATCH(active_isa(), dw, backward_input, s, grad_output, weight, grad_input);
}

namespace {
// The weight gradient keeps KH·KW vector accumulators per output row vector: with 16 lanes a
// row under two vectors wastes most of them and 5×5 no longer fits the register file. Measured
// (1 thread, µs, AVX-512 vs AVX2): 3×3 rows 112: 136 vs 158, 56: 145 vs 147, 28: 83 vs 85,
// 14: 83 vs 60, 7: 103 vs 64; 5×5 (64 images) rows 24: 73 vs 32, 8: 97 vs 40.
Isa backward_weight_isa(const DepthwiseShape& s) {
  const Isa isa = active_isa();
  return isa == Isa::avx512 && s.out_w() < 32 ? Isa::avx2 : isa;
}
}  // namespace

void depthwise_conv2d_backward_weight(const DepthwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight, float* grad_bias) {
  SEPNET_DW_DISPATCH(backward_weight_isa(s), dw, backward_weight, s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
