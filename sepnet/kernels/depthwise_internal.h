// Internal to the depthwise family: one set of entry points per layout and ISA. The template
// bodies are depthwise_simd.h (NCHW, namespace dw) and depthwise_nhwc_simd.h (channels-last,
// namespace dwn); each per-ISA translation unit (depthwise_{scalar,avx2,avx512}.cpp) instantiates
// both with SEPNET_DW_DEFINE_PATH, and depthwise.cpp / depthwise_nhwc.cpp dispatch with
// SEPNET_DW_DISPATCH.
#pragma once
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/isa.h"

#define SEPNET_DW_DECLARE_PATH(family, ns)                                                      \
  namespace sepnet::kernels::family::ns {                                                       \
  void forward(const DepthwiseShape& s, const float* input, const float* weight,               \
               const float* bias, float* output, bool fuse_relu);                              \
  void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,  \
                      float* grad_input);                                                       \
  void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,  \
                       float* grad_weight, float* grad_bias);                                   \
  }
SEPNET_DW_DECLARE_PATH(dw, scalar)
SEPNET_DW_DECLARE_PATH(dw, avx2)
SEPNET_DW_DECLARE_PATH(dw, avx512)
SEPNET_DW_DECLARE_PATH(dwn, scalar)
SEPNET_DW_DECLARE_PATH(dwn, avx2)
SEPNET_DW_DECLARE_PATH(dwn, avx512)
#undef SEPNET_DW_DECLARE_PATH

// The three entry points of sepnet::kernels::family::ns, instantiated for the vector type Vec.
#define SEPNET_DW_DEFINE_PATH(family, ns, Vec)                                                   \
  namespace sepnet::kernels::family::ns {                                                        \
  void forward(const DepthwiseShape& s, const float* input, const float* weight,                \
               const float* bias, float* output, bool fuse_relu) {                              \
    forward_impl<Vec>(s, input, weight, bias, output, fuse_relu);                                \
  }                                                                                              \
  void backward_input(const DepthwiseShape& s, const float* grad_output, const float* weight,   \
                      float* grad_input) {                                                       \
    backward_input_impl<Vec>(s, grad_output, weight, grad_input);                                \
  }                                                                                              \
  void backward_weight(const DepthwiseShape& s, const float* input, const float* grad_output,   \
                       float* grad_weight, float* grad_bias) {                                   \
    backward_weight_impl<Vec>(s, input, grad_output, grad_weight, grad_bias);                    \
  }                                                                                              \
  }

// return family::<path for isa>::fn(args...)
#define SEPNET_DW_DISPATCH(isa, family, fn, ...)                   \
  switch (isa) {                                                   \
    case Isa::avx512: return family::avx512::fn(__VA_ARGS__);      \
    case Isa::avx2: return family::avx2::fn(__VA_ARGS__);          \
    case Isa::scalar: break;                                       \
  }                                                                \
  return family::scalar::fn(__VA_ARGS__)
