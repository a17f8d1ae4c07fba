// Internal to the direct-convolution family: one set of entry points per ISA translation unit
// (conv_direct_scalar.cpp, conv_direct_avx2.cpp, conv_direct_avx512.cpp), all instantiated
// from conv_direct_simd.h. conv_direct.cpp dispatches on active_isa().
#pragma once
#include "sepnet/kernels/conv_direct.h"

namespace sepnet::kernels::direct {

#define SEPNET_DIRECT_DECLARE_PATH(ns)                                                                  \
  namespace ns {                                                                                        \
  void forward(const DirectConvShape& s, const float* input, const float* weight, const float* bias,   \
               float* output);                                                                          \
  void backward_input(const DirectConvShape& s, const float* grad_output, const float* weight,         \
                      float* grad_input, bool accumulate);                                              \
  void backward_weight(const DirectConvShape& s, const float* input, const float* grad_output,         \
                       float* grad_weight, float* grad_bias);                                           \
  }
SEPNET_DIRECT_DECLARE_PATH(scalar)
SEPNET_DIRECT_DECLARE_PATH(avx2)
SEPNET_DIRECT_DECLARE_PATH(avx512)
#undef SEPNET_DIRECT_DECLARE_PATH

}  // namespace sepnet::kernels::direct
