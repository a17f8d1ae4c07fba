// Channels-last (NHWC) ops: layout conversions, conv2d (depthwise on the NHWC kernels, dense 1×1
// as one GEMM over every pixel of the batch (linear's, core/ops/linear_rows.h), anything else
// through NCHW) and global average pooling. Batch norm's NHWC form lives with the NCHW one in
// batch_norm.cpp.
#include <string>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/core/ops/linear_rows.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/eltwise.h"
#include "sepnet/kernels/layout.h"

namespace sepnet::ops {

namespace {
// [N, A, B·…] viewed as n images of `rows` × `cols`; convert(src, dst) transposes each.
using Convert = void (*)(int, int, long, const float*, float*);

Tensor convert_layout(const Tensor& x, const Shape& out_shape, int channels, long pixels, Convert forward,
                      Convert backward) {
  const int n = static_cast<int>(x.dim(0));
  auto xi = x.impl_ptr();
  Tensor y = make_result(out_shape, {x}, [=](TensorImpl& self) {
    Tensor back = Tensor::empty(xi->shape);
    backward(n, channels, pixels, self.grad->data(), back.data());
    kernels::add_scaled(back.numel(), 1.0f, back.data(), xi->grad_data());
  });
  forward(n, channels, pixels, x.data(), y.data());
  return y;
}
}  // namespace

Tensor to_channels_last(const Tensor& x) {
  detail::require_ndim("to_channels_last", "input", x, 4);
  return convert_layout(x, {x.dim(0), x.dim(2), x.dim(3), x.dim(1)}, static_cast<int>(x.dim(1)),
                        x.dim(2) * x.dim(3), kernels::nchw_to_nhwc, kernels::nhwc_to_nchw);
}

Tensor to_channels_first(const Tensor& x) {
  detail::require_ndim("to_channels_first", "input", x, 4);
  return convert_layout(x, {x.dim(0), x.dim(3), x.dim(1), x.dim(2)}, static_cast<int>(x.dim(3)),
                        x.dim(1) * x.dim(2), kernels::nhwc_to_nchw, kernels::nchw_to_nhwc);
}

namespace {
Tensor depthwise_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad) {
  const int channels = static_cast<int>(x.dim(3));
  const kernels::DepthwiseShape s{static_cast<int>(x.dim(0)), channels, static_cast<int>(x.dim(1)),
                                  static_cast<int>(x.dim(2)), static_cast<int>(weight.dim(2)),
                                  static_cast<int>(weight.dim(3)), stride, pad};
  const int taps = s.kernel_h * s.kernel_w;
  // The kernels take [KH·KW][C] weights; converting per call costs one pass over C·KH·KW floats.
  Tensor w_hwc = Tensor::empty({taps, channels});
  kernels::depthwise_weight_to_hwc(channels, taps, weight.data(), w_hwc.data());
  auto xi = x.impl_ptr(), wi = weight.impl_ptr(), bi = bias.impl_ptr();
  Tensor y = make_result({s.batch, s.out_h(), s.out_w(), channels}, {x, weight, bias}, [=](TensorImpl& self) {
    const float* gy = self.grad->data();
    if (xi->requires_grad) kernels::depthwise_conv2d_nhwc_backward_input(s, gy, w_hwc.data(), xi->grad_data());
    const bool grad_w = wi->requires_grad, grad_b = bi && bi->requires_grad;
    if (!grad_w && !grad_b) return;
    Tensor gw_hwc = Tensor::zeros({taps, channels}), gw = Tensor::empty({channels, taps});
    kernels::depthwise_conv2d_nhwc_backward_weight(s, xi->data(), gy, gw_hwc.data(),
                                                   grad_b ? bi->grad_data() : nullptr);
    if (grad_w) {
      kernels::depthwise_weight_from_hwc(channels, taps, gw_hwc.data(), gw.data());
      kernels::add_scaled(gw.numel(), 1.0f, gw.data(), wi->grad_data());
    }
  });
  kernels::depthwise_conv2d_nhwc_forward(s, x.data(), w_hwc.data(), bias.defined() ? bias.data() : nullptr,
                                         y.data(), false);
  return y;
}
}  // namespace

Tensor conv2d_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad, int groups) {
  const std::string op = "conv2d_nhwc";
  detail::require_ndim(op, "input", x, 4);
  detail::require_ndim(op, "weight", weight, 4);
  const int64_t h = x.dim(1), w = x.dim(2), c_in = x.dim(3), c_out = weight.dim(0);
  if (stride < 1 || pad < 0 || groups < 1)
    detail::shape_error(op, "needs stride >= 1, pad >= 0, groups >= 1");
  if (c_in % groups != 0 || c_out % groups != 0 || weight.dim(1) != c_in / groups)
    detail::shape_error(op, "weight " + shape_to_string(weight.shape()) + " does not fit channels-last input " +
                                shape_to_string(x.shape()) + " with groups " + std::to_string(groups));
  if (h + 2 * pad < weight.dim(2) || w + 2 * pad < weight.dim(3))
    detail::shape_error(op, "kernel larger than padded input " + shape_to_string(x.shape()));
  if (bias.defined() && (bias.ndim() != 1 || bias.dim(0) != c_out))
    detail::shape_error(op, "bias must be [" + std::to_string(c_out) + "], got " + shape_to_string(bias.shape()));
  if (groups == c_in && c_out == c_in && c_in > 1) return depthwise_nhwc(x, weight, bias, stride, pad);
  if (groups == 1 && weight.dim(2) == 1 && weight.dim(3) == 1 && stride == 1 && pad == 0)
    // A 1×1 conv over channels-last pixels is one GEMM over the whole batch, [N·H·W × C_in]·Wᵀ.
    return detail::linear_rows(x, static_cast<int>(x.dim(0) * h * w), static_cast<int>(c_in), weight,
                               static_cast<int>(c_out), bias, {x.dim(0), h, w, c_out});
  // Anything else (MobileNet's 3-channel stem): the NCHW kernels between two layout conversions.
  return to_channels_last(conv2d(to_channels_first(x), weight, bias, stride, pad, groups));
}

Tensor global_avg_pool_nhwc(const Tensor& x) {
  detail::require_ndim("global_avg_pool_nhwc", "input", x, 4);
  const int64_t n = x.dim(0), pixels = x.dim(1) * x.dim(2), c = x.dim(3);
  if (pixels < 1) detail::shape_error("global_avg_pool_nhwc", "empty image " + shape_to_string(x.shape()));
  const float inv = 1.0f / static_cast<float>(pixels);
  auto xi = x.impl_ptr();
  Tensor y = make_result({n, c}, {x}, [=](TensorImpl& self) {
    const float* gy = self.grad->data();
    float* gx = xi->grad_data();
    for (int64_t i = 0; i < n; ++i)
      for (int64_t p = 0; p < pixels; ++p)
        for (int64_t j = 0; j < c; ++j) gx[(i * pixels + p) * c + j] += gy[i * c + j] * inv;
  });
  const float* xp = x.data();
  float* yp = y.data();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < c; ++j) yp[i * c + j] = 0.0f;
    for (int64_t p = 0; p < pixels; ++p)
      for (int64_t j = 0; j < c; ++j) yp[i * c + j] += xp[(i * pixels + p) * c + j];
    for (int64_t j = 0; j < c; ++j) yp[i * c + j] *= inv;
  }
  return y;
}

}  // namespace sepnet::ops
