// Internal: the Vec policy gemm_impl.h expects, on top of an xsimd batch. Include only from a
// per-ISA translation unit, inside that ISA's namespace is not needed: the template is
// instantiated with a different Arch in each TU, so no instantiation is shared.
#pragma once
#include <xsimd/xsimd.hpp>

#include "sepnet/kernels/simd_lane_ops.h"

namespace sepnet::kernels::gemm_detail {

template <class Arch>
struct XsimdVec {
  using reg = xsimd::batch<float, Arch>;
  static constexpr int lanes = static_cast<int>(reg::size);
  static reg zero() { return reg(0.0f); }
  static reg load(const float* p) { return reg::load_unaligned(p); }
  static void store(float* p, reg v) { v.store_unaligned(p); }
  static reg bcast(float x) { return reg(x); }
  static reg fma(reg a, reg b, reg c) { return xsimd::fma(a, b, c); }
  static reg mul(reg a, reg b) { return a * b; }
  static reg add(reg a, reg b) { return a + b; }
  // lanes×lanes transpose in registers (packing a transposed operand).
  static void transpose(reg* r) { LaneOps<reg>::transpose(r); }
};

}  // namespace sepnet::kernels::gemm_detail
