// The batch-norm family's variants table (kernels/dispatch.h). No shape rule: the active ISA's
// copy runs every shape.
#include "sepnet/kernels/batchnorm.h"

#include "sepnet/kernels/batchnorm_internal.h"

namespace sepnet::kernels {

namespace {
constexpr Variant<BatchNormEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kBatchNormScalar},
    {Isa::avx2, "avx2", &kBatchNormAvx2},
    {Isa::avx512, "avx512", &kBatchNormAvx512},
};
static_assert(one_row_per_isa(kVariants));

const BatchNormEntry& pick() { return *active_variant(kVariants).entry; }
}  // namespace

VariantTable<BatchNormEntry> batchnorm_variants() { return kVariants; }

void batchnorm_forward_train(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                             float eps, float* y, float* mean, float* var, float* invstd, bool fuse_relu) {
  pick().forward_train(s, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);
}

void batchnorm_forward_eval(const BatchNormShape& s, const float* x, const float* gamma, const float* beta,
                            const float* running_mean, const float* running_var, float eps, float* y,
                            bool fuse_relu) {
  pick().forward_eval(s, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);
}

void batchnorm_backward(const BatchNormShape& s, const float* x, const float* grad_y, const float* gamma,
                        const float* mean, const float* invstd, float* grad_x, float* grad_gamma, float* grad_beta,
                        bool accumulate_x, const float* relu_output) {
  pick().backward(s, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta, accumulate_x, relu_output);
}

void batchnorm_nhwc_forward_train(long rows, int channels, const float* x, const float* gamma,
                                  const float* beta, float eps, float* y, float* mean, float* var,
                                  float* invstd, bool fuse_relu) {
  pick().nhwc_forward_train(rows, channels, x, gamma, beta, eps, y, mean, var, invstd, fuse_relu);
}

void batchnorm_nhwc_forward_eval(long rows, int channels, const float* x, const float* gamma,
                                 const float* beta, const float* running_mean,
                                 const float* running_var, float eps, float* y, bool fuse_relu) {
  pick().nhwc_forward_eval(rows, channels, x, gamma, beta, running_mean, running_var, eps, y, fuse_relu);
}

void batchnorm_nhwc_backward(long rows, int channels, const float* x, const float* grad_y,
                             const float* gamma, const float* mean, const float* invstd,
                             float* grad_x, float* grad_gamma, float* grad_beta, bool accumulate_x,
                             const float* relu_output) {
  pick().nhwc_backward(rows, channels, x, grad_y, gamma, mean, invstd, grad_x, grad_gamma, grad_beta,
                       accumulate_x, relu_output);
}

}  // namespace sepnet::kernels
