// batch_norm2d (NCHW, or [N, C]) and batch_norm2d_nhwc (channels-last): one implementation. A
// channels-last tensor is indexed exactly like an NCHW one whose "images" are the N·H·W pixels
// and whose planes have one element, so both share the shape struct, the checks, the eval-mode
// backward and the running-statistics update; only the kernels differ.
#include <cmath>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/kernels/batchnorm.h"

namespace sepnet::ops {

namespace {
Tensor batch_norm_impl(const std::string& op, const Tensor& x, const kernels::BatchNormShape s, bool nhwc,
                       const Tensor& gamma, const Tensor& beta, Tensor& running_mean, Tensor& running_var,
                       bool training, float momentum, float eps, bool fuse_relu) {
  const int channels = s.channels;
  for (const Tensor* t : std::initializer_list<const Tensor*>{&gamma, &beta, &running_mean, &running_var})
    if (!t->defined() || t->ndim() != 1 || t->dim(0) != channels)
      detail::shape_error(op, "gamma, beta and running statistics must be [" + std::to_string(channels) + "]");
  const long count = s.batch * s.spatial;
  auto xi = x.impl_ptr(), gi = gamma.impl_ptr(), bi = beta.impl_ptr();

  if (!training) {
    // Eval-mode BN is an affine map per channel; its backward is cheap and exact.
    Tensor rm = running_mean.detach(), rv = running_var.detach();
    Tensor y = make_result(x.shape(), {x, gamma, beta}, [=](TensorImpl& self) {
      const float* gy = self.grad->data();
      const float* out = self.data();  // the fused ReLU's output: its gradient is 0 where out <= 0
      for (int n = 0; n < s.batch; ++n)
        for (int c = 0; c < channels; ++c) {
          const float is = 1.0f / std::sqrt(rv.data()[c] + eps);
          const long base = (static_cast<long>(n) * channels + c) * s.spatial;
          for (long i = 0; i < s.spatial; ++i) {
            const float g = (fuse_relu && !(out[base + i] > 0.0f)) ? 0.0f : gy[base + i];
            if (xi->requires_grad) xi->grad_data()[base + i] += g * gi->data()[c] * is;
            if (gi->requires_grad) gi->grad_data()[c] += g * (xi->data()[base + i] - rm.data()[c]) * is;
            if (bi->requires_grad) bi->grad_data()[c] += g;
          }
        }
    });
    if (nhwc)
      kernels::batchnorm_nhwc_forward_eval(s.batch, channels, x.data(), gamma.data(), beta.data(),
                                           running_mean.data(), running_var.data(), eps, y.data(), fuse_relu);
    else
      kernels::batchnorm_forward_eval(s, x.data(), gamma.data(), beta.data(), running_mean.data(),
                                      running_var.data(), eps, y.data(), fuse_relu);
    return y;
  }

  if (count < 2) detail::shape_error(op, "training needs more than one value per channel, got input " + shape_to_string(x.shape()));
  Tensor saved_mean = Tensor::empty({channels}), saved_invstd = Tensor::empty({channels});
  Tensor batch_var = Tensor::empty({channels});
  auto mi = saved_mean.impl_ptr(), si = saved_invstd.impl_ptr();
  Tensor y = make_result(x.shape(), {x, gamma, beta}, [=](TensorImpl& self) {
    bool accumulate_x = true;
    float* gx = xi->requires_grad ? xi->grad_data_for_write(accumulate_x) : nullptr;
    float* gg = gi->requires_grad ? gi->grad_data() : nullptr;
    float* gb = bi->requires_grad ? bi->grad_data() : nullptr;
    const float* relu_out = fuse_relu ? self.data() : nullptr;
    if (nhwc)
      kernels::batchnorm_nhwc_backward(s.batch, channels, xi->data(), self.grad->data(), gi->data(), mi->data(),
                                       si->data(), gx, gg, gb, accumulate_x, relu_out);
    else
      kernels::batchnorm_backward(s, xi->data(), self.grad->data(), gi->data(), mi->data(), si->data(), gx, gg, gb,
                                  accumulate_x, relu_out);
  });
  if (nhwc)
    kernels::batchnorm_nhwc_forward_train(s.batch, channels, x.data(), gamma.data(), beta.data(), eps, y.data(),
                                          saved_mean.data(), batch_var.data(), saved_invstd.data(), fuse_relu);
  else
    kernels::batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), eps, y.data(), saved_mean.data(),
                                     batch_var.data(), saved_invstd.data(), fuse_relu);
  // Running statistics track the unbiased variance, as PyTorch does.
  const float unbias = static_cast<float>(count) / static_cast<float>(count - 1);
  float* rm = running_mean.data();
  float* rv = running_var.data();
  for (int c = 0; c < channels; ++c) {
    rm[c] = (1.0f - momentum) * rm[c] + momentum * saved_mean.data()[c];
    rv[c] = (1.0f - momentum) * rv[c] + momentum * batch_var.data()[c] * unbias;
  }
  return y;
}
}  // namespace

Tensor batch_norm2d(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                    Tensor& running_var, bool training, float momentum, float eps, bool fuse_relu) {
  const std::string op = fuse_relu ? "batch_norm2d_relu" : "batch_norm2d";
  if (!x.defined() || (x.ndim() != 4 && x.ndim() != 2))
    detail::shape_error(op, "input must be [N, C, H, W] or [N, C]");
  const kernels::BatchNormShape s{static_cast<int>(x.dim(0)), static_cast<int>(x.dim(1)),
                                  x.ndim() == 4 ? static_cast<long>(x.dim(2) * x.dim(3)) : 1L};
  return batch_norm_impl(op, x, s, false, gamma, beta, running_mean, running_var, training, momentum, eps,
                         fuse_relu);
}

Tensor batch_norm2d_nhwc(const Tensor& x, const Tensor& gamma, const Tensor& beta, Tensor& running_mean,
                         Tensor& running_var, bool training, float momentum, float eps, bool fuse_relu) {
  const std::string op = fuse_relu ? "batch_norm2d_nhwc_relu" : "batch_norm2d_nhwc";
  if (!x.defined() || x.ndim() != 4) detail::shape_error(op, "input must be channels-last [N, H, W, C]");
  const kernels::BatchNormShape s{static_cast<int>(x.dim(0) * x.dim(1) * x.dim(2)), static_cast<int>(x.dim(3)), 1L};
  return batch_norm_impl(op, x, s, true, gamma, beta, running_mean, running_var, training, momentum, eps,
                         fuse_relu);
}

}  // namespace sepnet::ops
