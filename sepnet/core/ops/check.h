// Shape checks shared by op implementations: a wrong shape is a clear exception naming the op.
#pragma once
#include <stdexcept>
#include <string>

#include "sepnet/core/tensor.h"

namespace sepnet::ops::detail {

[[noreturn]] inline void shape_error(const std::string& op, const std::string& what) {
  throw std::invalid_argument(op + ": " + what);
}

inline void require_ndim(const std::string& op, const std::string& name, const Tensor& t, int ndim) {
  if (!t.defined()) shape_error(op, name + " is undefined");
  if (t.ndim() != ndim)
    shape_error(op, name + " must be " + std::to_string(ndim) + "-D, got shape " + shape_to_string(t.shape()));
}

inline void require_same_shape(const std::string& op, const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape())
    shape_error(op, "shapes differ: " + shape_to_string(a.shape()) + " vs " + shape_to_string(b.shape()));
}

}  // namespace sepnet::ops::detail
