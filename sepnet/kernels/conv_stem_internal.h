// Internal to the stem-convolution family: one set of entry points per ISA translation unit
// (conv_stem_{scalar,avx2,avx512}.cpp), all instantiated from conv_stem_simd.h; conv_stem.cpp
// dispatches on active_isa().
#pragma once
#include "sepnet/kernels/conv_stem.h"

#define SEPNET_STEM_DECLARE_PATH(ns)                                                                  \
  namespace sepnet::kernels::stem::ns {                                                               \
  void forward(const StemConvShape& s, const float* input, const float* weight, const float* bias,   \
               float* output);                                                                        \
  void backward_weight(const StemConvShape& s, const float* input, const float* grad_output,         \
                       float* grad_weight, float* grad_bias);                                         \
  }
SEPNET_STEM_DECLARE_PATH(scalar)
SEPNET_STEM_DECLARE_PATH(avx2)
SEPNET_STEM_DECLARE_PATH(avx512)
#undef SEPNET_STEM_DECLARE_PATH

#define SEPNET_STEM_DEFINE_PATH(ns, Vec)                                                              \
  namespace sepnet::kernels::stem::ns {                                                               \
  void forward(const StemConvShape& s, const float* input, const float* weight, const float* bias,   \
               float* output) {                                                                       \
    forward_impl<Vec>(s, input, weight, bias, output);                                                \
  }                                                                                                   \
  void backward_weight(const StemConvShape& s, const float* input, const float* grad_output,         \
                       float* grad_weight, float* grad_bias) {                                        \
    backward_weight_impl<Vec>(s, input, grad_output, grad_weight, grad_bias);                         \
  }                                                                                                   \
  }
