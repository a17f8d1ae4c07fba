#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/kernels/eltwise.h"

namespace sepnet::ops {

Tensor add(const Tensor& a, const Tensor& b) {
  detail::require_same_shape("add", a, b);
  auto ai = a.impl_ptr(), bi = b.impl_ptr();
  Tensor y = make_result(a.shape(), {a, b}, [ai, bi](TensorImpl& self) {
    if (ai->requires_grad) kernels::add_scaled(self.numel(), 1.0f, self.grad->data(), ai->grad_data());
    if (bi->requires_grad) kernels::add_scaled(self.numel(), 1.0f, self.grad->data(), bi->grad_data());
  });
  for (int64_t i = 0; i < a.numel(); ++i) y.data()[i] = a.data()[i] + b.data()[i];
  return y;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  detail::require_same_shape("mul", a, b);
  auto ai = a.impl_ptr(), bi = b.impl_ptr();
  Tensor y = make_result(a.shape(), {a, b}, [ai, bi](TensorImpl& self) {
    const float* g = self.grad->data();
    for (int64_t i = 0; i < self.numel(); ++i) {
      if (ai->requires_grad) ai->grad_data()[i] += g[i] * bi->data()[i];
      if (bi->requires_grad) bi->grad_data()[i] += g[i] * ai->data()[i];
    }
  });
  for (int64_t i = 0; i < a.numel(); ++i) y.data()[i] = a.data()[i] * b.data()[i];
  return y;
}

Tensor scale(const Tensor& a, float s) {
  auto ai = a.impl_ptr();
  Tensor y = make_result(a.shape(), {a}, [ai, s](TensorImpl& self) {
    kernels::add_scaled(self.numel(), s, self.grad->data(), ai->grad_data());
  });
  for (int64_t i = 0; i < a.numel(); ++i) y.data()[i] = a.data()[i] * s;
  return y;
}

Tensor sum(const Tensor& a) {
  auto ai = a.impl_ptr();
  Tensor y = make_result({1}, {a}, [ai](TensorImpl& self) {
    const float g = self.grad->data()[0];
    float* ga = ai->grad_data();
    for (int64_t i = 0; i < ai->numel(); ++i) ga[i] += g;
  });
  double total = 0.0;
  for (int64_t i = 0; i < a.numel(); ++i) total += a.data()[i];
  y.data()[0] = static_cast<float>(total);
  return y;
}

Tensor mean(const Tensor& a) { return scale(sum(a), 1.0f / static_cast<float>(a.numel())); }

}  // namespace sepnet::ops
