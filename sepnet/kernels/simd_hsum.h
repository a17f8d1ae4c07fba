// Internal: horizontal sum of a vector (xsimd batch or scalar_simd::Lane) through memory, in a
// fixed lane order (deterministic, and avoids GCC 12's noisy reduce intrinsics). Included by the
// SIMD template bodies; anonymous namespace, so each ISA translation unit keeps its own copy.
#pragma once
#include <cstddef>

namespace sepnet::kernels {
namespace {

template <class B>
float hsum(const B& v) {
  alignas(64) float lanes[B::size];
  v.store_unaligned(lanes);
  float total = 0.0f;
  for (std::size_t i = 0; i < B::size; ++i) total += lanes[i];
  return total;
}

}  // namespace
}  // namespace sepnet::kernels
