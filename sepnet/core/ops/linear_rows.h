// Internal to ops: y[rows × out] = x[rows × in]·Wᵀ + b as one GEMM, with its backward. Shared by
// linear ([N, in] -> [N, out]) and the channels-last 1×1 conv ([N, H, W, C_in] -> [N, H, W, C_out],
// weight [C_out, C_in, 1, 1]: the same floats as [C_out, C_in]). Shapes are the caller's to check.
#pragma once
#include "sepnet/core/tensor.h"

namespace sepnet::ops::detail {

Tensor linear_rows(const Tensor& x, int rows, int in, const Tensor& weight, int out, const Tensor& bias,
                   const Shape& out_shape);

}  // namespace sepnet::ops::detail
