// reshape / flatten: views that share storage; the gradient flows back unchanged.
#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/kernels/eltwise.h"

namespace sepnet::ops {

Tensor reshape(const Tensor& x, const Shape& shape) {
  Shape resolved = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      if (infer >= 0) detail::shape_error("reshape", "more than one -1 in " + shape_to_string(shape));
      infer = static_cast<int>(i);
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      detail::shape_error("reshape", "cannot infer -1 for " + shape_to_string(x.shape()) + " -> " + shape_to_string(shape));
    resolved[static_cast<size_t>(infer)] = x.numel() / known;
  }
  if (shape_numel(resolved) != x.numel())
    detail::shape_error("reshape", shape_to_string(x.shape()) + " -> " + shape_to_string(shape) + " changes the element count");

  auto xi = x.impl_ptr();
  // A view: the result shares x's storage instead of copying it.
  Tensor y = make_result({0}, {x}, [xi](TensorImpl& self) {
    kernels::add_scaled(self.numel(), 1.0f, self.grad->data(), xi->grad_data());
  });
  y.impl()->shape = resolved;
  y.impl()->storage = xi->storage;
  y.impl()->offset = xi->offset;
  return y;
}

Tensor flatten(const Tensor& x) {
  if (x.ndim() < 1) detail::shape_error("flatten", "needs at least 1-D input");
  return reshape(x, {x.dim(0), -1});
}

}  // namespace sepnet::ops
