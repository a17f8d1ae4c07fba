// Internal to the channels-last depthwise family: one set of entry points per ISA translation
// unit (depthwise_nhwc_{scalar,avx2,avx512}.cpp), all instantiated from depthwise_nhwc_simd.h.
#pragma once
#include "kernels/depthwise_nhwc.h"

namespace sepnet::kernels::dwn {

#define SEPNET_DWN_DECLARE_PATH(ns)                                                             \
  namespace ns {                                                                                \
  void forward(const DepthwiseShape& s, const float* input, const float* weight,               \
               const float* bias, float* output, bool fuse_relu);                              \
  void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,  \
                      float* grad_input);                                                       \
  void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,  \
                       float* grad_weight, float* grad_bias);                                   \
  }
SEPNET_DWN_DECLARE_PATH(scalar)
SEPNET_DWN_DECLARE_PATH(avx2)
SEPNET_DWN_DECLARE_PATH(avx512)
#undef SEPNET_DWN_DECLARE_PATH

}  // namespace sepnet::kernels::dwn
