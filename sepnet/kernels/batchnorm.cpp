// Batch-norm dispatch: the same bodies (batchnorm_impl.h) built for baseline x86-64 here and
// with AVX2 / AVX-512 flags in their own translation units.
#include "sepnet/kernels/batchnorm.h"

#include "sepnet/kernels/batchnorm_impl.h"
#include "sepnet/kernels/batchnorm_internal.h"
#include "sepnet/kernels/isa.h"

namespace sepnet::kernels {

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             float eps, float* y, float* mean, float* var, float* invstd, bool fuse_relu) {
  SEPNET_BN_DISPATCH(forward_train, s, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float eps, float* y,
                            bool fuse_relu) {
  SEPNET_BN_DISPATCH(forward_eval, s, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* grad_y, const float* gamma,
                        const float* mean, const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta,
                        bool accumulate_x, const float* relu_output) {
  SEPNET_BN_DISPATCH(backward, s, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta, accumulate_x,
                     relu_output);
}

void batchnorm_nhwc_forward_train(long rows, int channels, const float* x, const float* gamma,
                                  const float* beta, float eps, float* y, float* mean, float* var,
                                  float* invstd, bool fuse_relu) {
  SEPNET_BN_DISPATCH(nhwc_forward_train, rows, channels, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);
}

void batchnorm_nhwc_forward_eval(long rows, int channels, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean,
                                 const float* running_var, float eps, float* y, bool fuse_relu) {
  SEPNET_BN_DISPATCH(nhwc_forward_eval, rows, channels, x, gamma, beta, running_mean, running_var, eps, y,
                     fuse_relu);
}

void batchnorm_nhwc_backward(long rows, int channels, const float* x, const float* grad_y,
                             const float* gamma, const float* mean, const float* invstd,
                             float* grad_x, float* grad_gamma, float* grad_beta, bool accumulate_x,
                             const float* relu_output) {
  SEPNET_BN_DISPATCH(nhwc_backward, rows, channels, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma,
                     grad_beta, accumulate_x, relu_output);
}

}  // namespace sepnet::kernels
