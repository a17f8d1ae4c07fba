// Internal to the batch-norm family: entry points of the per-ISA copies (batchnorm_avx2.cpp,
// batchnorm_avx512.cpp) of batchnorm_impl.h; batchnorm.cpp holds the baseline copy and dispatches.
#pragma once
#include "sepnet/kernels/batchnorm.h"

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

// The entry points of namespace ns, forwarding to the *_impl bodies of batchnorm_impl.h as
// compiled in the including translation unit.
#define SEPNET_BN_DEFINE_PATH(ns)                                                                                        \
namespace sepnet::kernels::ns {                                                                                          \
void forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, float eps, float* y,  \
                   float* mean, float* var, float* invstd, bool fuse_relu) {                                             \
  forward_train_impl(s, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);                                           \
}                                                                                                                        \
void forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,                        \
                  const float* running_mean, const float* running_var, float eps, float* y, bool fuse_relu) {            \
  forward_eval_impl(s, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);                                    \
}                                                                                                                        \
void backward(const BatchNormShape& s, const float* x, const float* grad_y, const float* gamma, const float* mean,       \
              const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta, bool accumulate_x,                \
              const float* relu_output) {                                                                                \
  backward_impl(s, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta, accumulate_x, relu_output);            \
}                                                                                                                        \
void nhwc_forward_train(long rows, int channels, const float* x, const float* gamma, const float* beta, float eps,       \
                        float* y, float* mean, float* var, float* invstd, bool fuse_relu) {                              \
  nhwc_forward_train_impl(rows, channels, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);                         \
}                                                                                                                        \
void nhwc_forward_eval(long rows, int channels, const float* x, const float* gamma, const float* beta,                   \
                       const float* running_mean, const float* running_var, float eps, float* y, bool fuse_relu) {       \
  nhwc_forward_eval_impl(rows, channels, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);                  \
}                                                                                                                        \
void nhwc_backward(long rows, int channels, const float* x, const float* grad_y, const float* gamma,                     \
                   const float* mean, const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta,           \
                   bool accumulate_x, const float* relu_output) {                                                        \
  nhwc_backward_impl(rows, channels, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta, accumulate_x,        \
                     relu_output);                                                                                       \
}                                                                                                                        \
}

// return the `fn` entry point of the path the active ISA selects (batchnorm.cpp holds the
// baseline bodies itself).
#define SEPNET_BN_DISPATCH(fn, ...)                                  \
  switch (active_isa()) {                                            \
    case Isa::avx512: return bn_avx512::fn(__VA_ARGS__);             \
    case Isa::avx2: return bn_avx2::fn(__VA_ARGS__);                 \
    case Isa::scalar: break;                                         \
  }                                                                  \
  return fn##_impl(__VA_ARGS__)
