// relu, softmax, log_softmax.
#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/kernels/eltwise.h"

namespace sepnet::ops {

Tensor relu(const Tensor& x) {
  auto xi = x.impl_ptr();
  Tensor y = make_result(x.shape(), {x}, [xi](TensorImpl& self) {
    // The mask comes from the output itself (y > 0 ⇔ x > 0), so no extra activation is saved.
    bool accumulate;
    float* gx = xi->grad_data_for_write(accumulate);
    kernels::relu_backward(self.numel(), self.data(), self.grad->data(), gx, accumulate);
  });
  kernels::relu_forward(x.numel(), x.data(), y.data());
  return y;
}

namespace {
template <class Forward, class Backward>
Tensor rowwise(const char* op, const Tensor& x, Forward forward, Backward backward) {
  detail::require_ndim(op, "input", x, 2);
  const long rows = x.dim(0), cols = x.dim(1);
  auto xi = x.impl_ptr();
  Tensor y = make_result(x.shape(), {x}, [=](TensorImpl& self) {
    backward(rows, cols, self.data(), self.grad->data(), xi->grad_data());
  });
  forward(rows, cols, x.data(), y.data());
  return y;
}
}  // namespace

Tensor softmax(const Tensor& x) {
  return rowwise("softmax", x, kernels::softmax_rows, kernels::softmax_rows_backward);
}

Tensor log_softmax(const Tensor& x) {
  return rowwise("log_softmax", x, kernels::log_softmax_rows, kernels::log_softmax_rows_backward);
}

}  // namespace sepnet::ops
