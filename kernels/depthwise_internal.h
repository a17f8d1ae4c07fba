// Internal to the depthwise family: one set of entry points per ISA translation unit
// (depthwise_scalar.cpp, depthwise_avx2.cpp, depthwise_avx512.cpp), all instantiated from the
// single template body in depthwise_simd.h. depthwise.cpp dispatches on active_isa().
#pragma once
#include "kernels/depthwise.h"

namespace sepnet::kernels::dw {

#define SEPNET_DW_DECLARE_PATH(ns)                                                              \
  namespace ns {                                                                                \
  void forward(const DepthwiseShape& s, const float* input, const float* weight,               \
               const float* bias, float* output, bool fuse_relu);                              \
  void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,  \
                      float* grad_input);                                                       \
  void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,  \
                       float* grad_weight, float* grad_bias);                                   \
  }
SEPNET_DW_DECLARE_PATH(scalar)
SEPNET_DW_DECLARE_PATH(avx2)
SEPNET_DW_DECLARE_PATH(avx512)
#undef SEPNET_DW_DECLARE_PATH

}  // namespace sepnet::kernels::dw
