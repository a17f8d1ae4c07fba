// Batch-norm kernels compiled with the avx2 flags (bodies in batchnorm_impl.h).
#include "kernels/batchnorm_impl.h"
#include "kernels/batchnorm_internal.h"

namespace sepnet::kernels::bn_avx2 {
void forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, float eps, float* y,
                   float* mean, float* var, float* invstd, bool fuse_relu) {
  forward_train_impl(s, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);
}
void forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                  const float* running_mean, const float* running_var, float eps, float* y, bool fuse_relu) {
  forward_eval_impl(s, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);
}
void backward(const BatchNormShape& s, const float* x, const float* grad_y, const float* gamma, const float* mean,
              const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta, bool accumulate_x,
              const float* relu_output) {
  backward_impl(s, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta, accumulate_x, relu_output);
}
void nhwc_forward_train(long rows, int channels, const float* x, const float* gamma, const float* beta, float eps,
                        float* y, float* mean, float* var, float* invstd, bool fuse_relu) {
  nhwc_forward_train_impl(rows, channels, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);
}
void nhwc_forward_eval(long rows, int channels, const float* x, const float* gamma, const float* beta,
                       const float* running_mean, const float* running_var, float eps, float* y, bool fuse_relu) {
  nhwc_forward_eval_impl(rows, channels, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);
}
void nhwc_backward(long rows, int channels, const float* x, const float* grad_y, const float* gamma,
                   const float* mean, const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta,
                   bool accumulate_x, const float* relu_output) {
  nhwc_backward_impl(rows, channels, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta, accumulate_x,
                     relu_output);
}
}  // namespace sepnet::kernels::bn_avx2
