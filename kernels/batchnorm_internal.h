// Internal to the batch-norm family: entry points of the per-ISA copies (batchnorm_avx2.cpp,
// batchnorm_avx512.cpp) of batchnorm_impl.h; batchnorm.cpp holds the baseline copy and dispatches.
#pragma once
#include "kernels/batchnorm.h"

namespace sepnet::kernels {
#define SEPNET_BN_DECLARE_PATH(ns)                                                                              \
  namespace ns {                                                                                                \
  void forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, float eps, \
                     float* y, float* mean, float* var, float* invstd, bool fuse_relu);                        \
  void forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,             \
                    const float* running_mean, const float* running_var, float eps, float* y, bool fuse_relu); \
  void backward(const BatchNormShape& s, const float* x, const float* grad_y, const float* gamma,              \
                const float* mean, const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta,    \
                bool accumulate_x, const float* relu_output);                                                   \
  void nhwc_forward_train(long rows, int channels, const float* x, const float* gamma, const float* beta,     \
                          float eps, float* y, float* mean, float* var, float* invstd, bool fuse_relu);       \
  void nhwc_forward_eval(long rows, int channels, const float* x, const float* gamma, const float* beta,      \
                         const float* running_mean, const float* running_var, float eps, float* y,           \
                         bool fuse_relu);                                                                     \
  void nhwc_backward(long rows, int channels, const float* x, const float* grad_y, const float* gamma,        \
                     const float* mean, const float* invstd, float* grad_x, float* grad_gamma,               \
                     float* grad_beta, bool accumulate_x, const float* relu_output);                          \
  }
SEPNET_BN_DECLARE_PATH(bn_avx2)
SEPNET_BN_DECLARE_PATH(bn_avx512)
#undef SEPNET_BN_DECLARE_PATH
}  // namespace sepnet::kernels
