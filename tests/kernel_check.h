// Helpers for kernel-vs-reference tests: guarded output buffers (out-of-bounds writes hit a
// sentinel), random inputs, and a tolerance scaled by the summed magnitude of the terms.
#pragma once
#include <catch2/catch.hpp>

#include <omp.h>

#include <cmath>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "sepnet/kernels/dispatch.h"
#include "sepnet/kernels/isa.h"

namespace sepnet::testing {

// Runs f() — or f(variant), if it takes the row — for every row of a kernel family's variants table (kernels/dispatch.h,
// <family>_variants()) that this CPU can run, with that row forced exactly (ScopedIsa(isa, true):
// the family's shape rule is skipped, so every compiled copy meets every shape), at 1 and 2
// OpenMP threads, with the variant and thread count in the test's INFO context. Restores the
// default thread count.
template <class Table, class F>
void for_each_variant(const Table& table, F&& f) {
  for (const auto& variant : table) {
    if (!kernels::isa_supported(variant.isa)) continue;
    kernels::ScopedIsa forced(variant.isa, /*exact=*/true);
    for (int threads : {1, 2}) {
      omp_set_num_threads(threads);
      INFO("variant=" << variant.name << " threads=" << threads);
      if constexpr (std::is_invocable_v<F&, decltype(variant)>)
        f(variant);
      else
        f();
    }
  }
  omp_set_num_threads(omp_get_num_procs());
}

constexpr int kGuard = 37;
constexpr float kSentinel = -7.75e30f;

// A buffer with sentinel guards on both sides of `n` usable floats.
struct Guarded {
  std::vector<float> storage;
  long n;
  explicit Guarded(long count) : storage(count + 2 * kGuard, kSentinel), n(count) {}
  float* data() { return storage.data() + kGuard; }
  const float* data() const { return storage.data() + kGuard; }
  bool guards_intact() const {
    for (int i = 0; i < kGuard; ++i)
      if (storage[i] != kSentinel || storage[kGuard + n + i] != kSentinel) return false;
    return true;
  }
};

inline std::vector<float> random_vector(std::mt19937& rng, long n, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

inline std::vector<float> absolute(const std::vector<float>& v) {
  std::vector<float> a(v.size());
  for (size_t i = 0; i < v.size(); ++i) a[i] = std::fabs(v[i]);
  return a;
}

// |got - want| must be within a relative tolerance of the summed magnitudes of the terms
// (magnitude[i] = the same computation on absolute values) plus a tiny absolute floor.
inline void check_close(const float* got, const std::vector<float>& want, const std::vector<float>& magnitude,
                        const std::string& what) {
  long bad = 0, first = -1;
  for (size_t i = 0; i < want.size(); ++i) {
    const float tol = 3e-5f * magnitude[i] + 1e-6f;
    if (!(std::fabs(got[i] - want[i]) <= tol)) {
      if (first < 0) first = static_cast<long>(i);
      ++bad;
    }
  }
  INFO(what << ": " << bad << " mismatches; first at " << first << " got " << (first >= 0 ? got[first] : 0.0f)
            << " want " << (first >= 0 ? want[first] : 0.0f));
  CHECK(bad == 0);
}

}  // namespace sepnet::testing
