// Batch normalization over NCHW, per channel c across (N, H, W). spatial = H·W.
// Statistics are summed in double, in a fixed order: results do not depend on thread count.
// The kernels dispatch through the variants table below (kernels/dispatch.h); the *_reference
// functions are the double-precision definitions they are tested against.
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

struct BatchNormShape {
  int batch, channels;
  long spatial;
};

// Training: y = gamma·(x − mean)/sqrt(var + eps) + beta with biased batch variance, then
// max(y, 0) if fuse_relu (BN followed by ReLU in one pass over the data).
// Writes mean[c], invstd[c] = 1/sqrt(var + eps) and var[c] (biased) for the caller.
void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma,
                             const float* beta, float eps, float* y, float* mean, float* var,
                             float* invstd, bool fuse_relu = false);
// Evaluation with running statistics; ReLU fused when fuse_relu (saves one pass in inference).
void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma,
                            const float* beta, const float* running_mean, const float* running_var,
                            float eps, float* y, bool fuse_relu = false);
// Training backward: accumulates into grad_x, grad_gamma, grad_beta (each may be null).
// relu_output: the fused forward's output y when BN+ReLU was fused (grad_y is then the
// gradient w.r.t. that ReLU output and is taken as 0 where y <= 0); null for plain BN.
void batchnorm_backward(const BatchNormShape& s, const float* x, const float* grad_y,
                        const float* gamma, const float* mean, const float* invstd, float* grad_x,
                        float* grad_gamma, float* grad_beta, bool accumulate_x = true,
                        const float* relu_output = nullptr);

// Channels-last (NHWC) batch normalization: x is [rows][channels] with rows = N·H·W, statistics
// per channel over all rows. Same contracts as the NCHW functions above. Loops run along the
// contiguous channels; channel sums are taken per fixed chunk of rows and the chunk sums added
// in double in chunk order, so results do not depend on the thread count.
void batchnorm_nhwc_forward_train(long rows, int channels, const float* x, const float* gamma,
                                  const float* beta, float eps, float* y, float* mean, float* var,
                                  float* invstd, bool fuse_relu = false);
void batchnorm_nhwc_forward_eval(long rows, int channels, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean,
                                 const float* running_var, float eps, float* y, bool fuse_relu = false);
void batchnorm_nhwc_backward(long rows, int channels, const float* x, const float* grad_y,
                             const float* gamma, const float* mean, const float* invstd,
                             float* grad_x, float* grad_gamma, float* grad_beta,
                             bool accumulate_x = true, const float* relu_output = nullptr);

// The definitions (NCHW), one element at a time with every sum in double, same contracts as
// the kernels. The channels-last kernels are tested against the NCHW ones on transposed data.
void batchnorm_forward_train_reference(const BatchNormShape& s, const float* x, const float* gamma,
                                       const float* beta, float eps, float* y, float* mean, float* var,
                                       float* invstd, bool fuse_relu = false);
void batchnorm_forward_eval_reference(const BatchNormShape& s, const float* x, const float* gamma,
                                      const float* beta, const float* running_mean,
                                      const float* running_var, float eps, float* y, bool fuse_relu = false);
void batchnorm_backward_reference(const BatchNormShape& s, const float* x, const float* grad_y,
                                  const float* gamma, const float* mean, const float* invstd, float* grad_x,
                                  float* grad_gamma, float* grad_beta, bool accumulate_x = true,
                                  const float* relu_output = nullptr);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The entry points of one compiled copy: batchnorm_impl.h built with baseline, AVX2 or AVX-512
// flags (batchnorm_{scalar,avx2,avx512}.cpp; plain loops the compiler vectorizes to the width
// each allows).
struct BatchNormEntry {
  void (*forward_train)(const BatchNormShape& s, const float* x, const float* gamma, const float* beta, float eps,
                        float* y, float* mean, float* var, float* invstd, bool fuse_relu);
  void (*forward_eval)(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                       const float* running_mean, const float* running_var, float eps, float* y, bool fuse_relu);
  void (*backward)(const BatchNormShape& s, const float* x, const float* grad_y, const float* gamma,
                   const float* mean, const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta,
                   bool accumulate_x, const float* relu_output);
  void (*nhwc_forward_train)(long rows, int channels, const float* x, const float* gamma, const float* beta,
                             float eps, float* y, float* mean, float* var, float* invstd, bool fuse_relu);
  void (*nhwc_forward_eval)(long rows, int channels, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float eps, float* y,
                            bool fuse_relu);
  void (*nhwc_backward)(long rows, int channels, const float* x, const float* grad_y, const float* gamma,
                        const float* mean, const float* invstd, float* grad_x, float* grad_gamma,
                        float* grad_beta, bool accumulate_x, const float* relu_output);
};
// One row per ISA. Batch norm has no shape rule: the active ISA's row runs every shape.
VariantTable<BatchNormEntry> batchnorm_variants();

}  // namespace sepnet::kernels
