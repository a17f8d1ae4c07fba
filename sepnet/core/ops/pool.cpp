#include <memory>
#include <vector>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/kernels/pool.h"

namespace sepnet::ops {

Tensor max_pool2d(const Tensor& x, int kernel, int stride) {
  detail::require_ndim("max_pool2d", "input", x, 4);
  if (kernel < 1 || stride < 1 || x.dim(2) < kernel || x.dim(3) < kernel)
    detail::shape_error("max_pool2d", "kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) +
                                          " do not fit input " + shape_to_string(x.shape()));
  const kernels::PoolShape s{static_cast<int>(x.dim(0)), static_cast<int>(x.dim(1)), static_cast<int>(x.dim(2)),
                             static_cast<int>(x.dim(3)), kernel, stride};
  // Winner indices live in pooled float-sized storage (same size as int32): reused every step.
  static_assert(sizeof(float) == sizeof(int32_t));
  auto argmax = make_storage(static_cast<int64_t>(s.batch) * s.channels * s.out_h() * s.out_w(), false);
  auto xi = x.impl_ptr();
  Tensor y = make_result({s.batch, s.channels, s.out_h(), s.out_w()}, {x}, [s, argmax, xi](TensorImpl& self) {
    kernels::max_pool2d_backward(s, self.grad->data(), reinterpret_cast<const int32_t*>(argmax->data()), xi->grad_data());
  });
  kernels::max_pool2d_forward(s, x.data(), y.data(), reinterpret_cast<int32_t*>(argmax->data()));
  return y;
}

}  // namespace sepnet::ops
