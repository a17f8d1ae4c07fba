// Internal: a 1-lane stand-in for xsimd::batch<float>, so the SIMD template bodies
// (depthwise_simd.h, depthwise_nhwc_simd.h, conv_direct_simd.h, conv_stem_simd.h) also build the
// scalar (baseline x86-64) variant: the same algorithm on every CPU, tested against the plain
// *_reference loops. Include only from *_scalar.cpp translation units (baseline flags), never
// from a per-ISA one.
#pragma once
#include <cstddef>

namespace sepnet::kernels::scalar_simd {

struct Lane {
  static constexpr std::size_t size = 1;
  float v;
  Lane() = default;
  explicit Lane(float x) : v(x) {}
  static Lane load_unaligned(const float* p) { return Lane(*p); }
  void store_unaligned(float* p) const { *p = v; }
  Lane& operator+=(Lane o) {
    v += o.v;
    return *this;
  }
  friend Lane operator+(Lane a, Lane b) { return Lane(a.v + b.v); }
  friend Lane fma(Lane a, Lane b, Lane c) { return Lane(a.v * b.v + c.v); }
  friend Lane max(Lane a, Lane b) { return Lane(a.v > b.v ? a.v : b.v); }
};

}  // namespace sepnet::kernels::scalar_simd
