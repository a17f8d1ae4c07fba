// Internal: the Vec policy gemm_impl.h expects, as a plain-C++ vector of N floats (no
// intrinsics): the scalar variant's 4 floats (gemm_scalar.cpp, baseline x86-64, where the compiler
// may still use SSE2 for the loops), and the tests' 16-float emulation of the AVX-512 geometry
// (tests/test_gemm.cpp). The SIMD variants use gemm_xsimd_vec.h.
#pragma once
#include <cstddef>
#include <utility>

namespace sepnet::kernels::gemm_detail {

template <int N>
struct PortableVec {
  struct reg {
    float v[N];
  };
  static constexpr int lanes = N;
  // Built as one braced list ({p[0], …, p[N-1]}), which the compiler keeps in registers.
  static reg zero() { return bcast(0.0f); }
  static reg load(const float* p) { return load(p, std::make_index_sequence<N>{}); }
  static void store(float* p, reg r) {
    for (int l = 0; l < N; ++l) p[l] = r.v[l];
  }
  static reg bcast(float x) { return bcast(x, std::make_index_sequence<N>{}); }
  static reg fma(reg a, reg b, reg c) {
    for (int l = 0; l < N; ++l) c.v[l] += a.v[l] * b.v[l];
    return c;
  }
  static reg mul(reg a, reg b) {
    for (int l = 0; l < N; ++l) a.v[l] *= b.v[l];
    return a;
  }
  static reg add(reg a, reg b) {
    for (int l = 0; l < N; ++l) a.v[l] += b.v[l];
    return a;
  }
  static void transpose(reg* r) {
    for (int i = 0; i < N; ++i)
      for (int j = i + 1; j < N; ++j) std::swap(r[i].v[j], r[j].v[i]);
  }

 private:
  template <std::size_t... L>
  static reg load(const float* p, std::index_sequence<L...>) {
    return reg{{p[L]...}};
  }
  template <std::size_t... L>
  static reg bcast(float x, std::index_sequence<L...>) {
    return reg{{(static_cast<void>(L), x)...}};
  }
};

}  // namespace sepnet::kernels::gemm_detail
