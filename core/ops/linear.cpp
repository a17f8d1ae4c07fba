// linear: y = x·Wᵀ + b as one GEMM over the batch; backward dX = dY·W, dW += dYᵀ·X.
#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/check.h"
#include "kernels/gemm.h"

namespace sepnet::ops {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const std::string op = "linear";
  detail::require_ndim(op, "input", x, 2);
  detail::require_ndim(op, "weight", weight, 2);
  const int n = static_cast<int>(x.dim(0)), in = static_cast<int>(x.dim(1)), out = static_cast<int>(weight.dim(0));
  if (weight.dim(1) != in)
    detail::shape_error(op, "input " + shape_to_string(x.shape()) + " does not match weight " + shape_to_string(weight.shape()));
  if (bias.defined() && (bias.ndim() != 1 || bias.dim(0) != out))
    detail::shape_error(op, "bias must be [" + std::to_string(out) + "], got " + shape_to_string(bias.shape()));

  auto xi = x.impl_ptr(), wi = weight.impl_ptr(), bi = bias.impl_ptr();
  Tensor y = make_result({n, out}, {x, weight, bias}, [=](TensorImpl& self) {
    const float* gy = self.grad->data();
    if (xi->requires_grad) {  // beta 0 on a fresh gradient: no zero-fill, no read
      bool accumulate;
      float* gx = xi->grad_data_for_write(accumulate);
      kernels::sgemm(false, false, n, in, out, 1.0f, gy, out, wi->data(), in, accumulate ? 1.0f : 0.0f, gx, in);
    }
    if (wi->requires_grad)
      kernels::sgemm(true, false, out, in, n, 1.0f, gy, out, xi->data(), in, 1.0f, wi->grad_data(), in);
    if (bi && bi->requires_grad) {
      float* gb = bi->grad_data();
      for (int r = 0; r < n; ++r)
        for (int j = 0; j < out; ++j) gb[j] += gy[static_cast<long>(r) * out + j];
    }
  });
  kernels::sgemm(false, true, n, out, in, 1.0f, x.data(), in, weight.data(), in, 0.0f, y.data(), out);
  if (bias.defined()) {
    const float* b = bias.data();
    float* yp = y.data();
    for (int r = 0; r < n; ++r)
      for (int j = 0; j < out; ++j) yp[static_cast<long>(r) * out + j] += b[j];
  }
  return y;
}

}  // namespace sepnet::ops
