// sgemm (every ISA path, 1 and 2 threads) against sgemm_reference.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/isa.h"

using namespace sepnet::kernels;

namespace {

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512})
    if (isa_supported(isa)) out.push_back(isa);
  return out;
}

struct ThreadCount {
  int previous = omp_get_max_threads();
  explicit ThreadCount(int n) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(previous); }
};

constexpr float kSentinel = -12345.5f;
constexpr int kGuard = 64;  // floats after the last row of C that must stay untouched

struct Case {
  bool trans_a, trans_b;
  int m, n, k;
  float alpha, beta;
  int pad_a, pad_b, pad_c;  // extra leading-dimension slack
};

// Runs one case on every supported ISA with 1 and 2 threads and compares with the reference.
void check_case(const Case& cs, std::mt19937& rng) {
  const int lda = (cs.trans_a ? cs.m : cs.k) + cs.pad_a;
  const int ldb = (cs.trans_b ? cs.k : cs.n) + cs.pad_b;
  const int ldc = cs.n + cs.pad_c;
  const long a_rows = cs.trans_a ? cs.k : cs.m, b_rows = cs.trans_b ? cs.n : cs.k;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(a_rows * lda)), b(static_cast<size_t>(b_rows * ldb));
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);
  const size_t c_size = static_cast<size_t>(cs.m) * ldc + kGuard;
  std::vector<float> c0(c_size, kSentinel);
  for (int i = 0; i < cs.m; ++i)
    for (int j = 0; j < cs.n; ++j)
      c0[static_cast<size_t>(i) * ldc + j] =
          cs.beta == 0.0f ? std::numeric_limits<float>::quiet_NaN() : dist(rng);

  std::vector<float> ref = c0;
  sgemm_reference(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, cs.alpha, a.data(), lda, b.data(),
                  ldb, cs.beta, ref.data(), ldc);
  // Error scale of each element: magnitude of the summed terms.
  std::vector<double> scale(static_cast<size_t>(cs.m) * cs.n);
  for (int i = 0; i < cs.m; ++i)
    for (int j = 0; j < cs.n; ++j) {
      double s = 0;
      for (int p = 0; p < cs.k; ++p) {
        double av = cs.trans_a ? a[static_cast<size_t>(p) * lda + i] : a[static_cast<size_t>(i) * lda + p];
        double bv = cs.trans_b ? b[static_cast<size_t>(j) * ldb + p] : b[static_cast<size_t>(p) * ldb + j];
        s += std::fabs(av * bv);
      }
      s *= std::fabs(cs.alpha);
      if (cs.beta != 0.0f) s += std::fabs(cs.beta * c0[static_cast<size_t>(i) * ldc + j]);
      scale[static_cast<size_t>(i) * cs.n + j] = s;
    }
  const double eps = std::numeric_limits<float>::epsilon();

  for (Isa isa : supported_isas()) {
    ScopedIsa scoped(isa);
    for (int threads : {1, 2}) {
      ThreadCount tc(threads);
      std::vector<float> c = c0;
      sgemm(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, cs.alpha, a.data(), lda, b.data(), ldb,
            cs.beta, c.data(), ldc);
      INFO("isa=" << isa_name(isa) << " threads=" << threads << " ta=" << cs.trans_a
                  << " tb=" << cs.trans_b << " m=" << cs.m << " n=" << cs.n << " k=" << cs.k
                  << " alpha=" << cs.alpha << " beta=" << cs.beta << " lda=" << lda
                  << " ldb=" << ldb << " ldc=" << ldc);
      long bad = 0, first_bad = -1;
      for (int i = 0; i < cs.m; ++i) {
        for (int j = 0; j < ldc; ++j) {
          const size_t at = static_cast<size_t>(i) * ldc + j;
          if (j >= cs.n) {  // padding columns between rows must be untouched
            if (c[at] != kSentinel && bad++ == 0) first_bad = static_cast<long>(at);
            continue;
          }
          const double tol = 4.0 * eps * (cs.k + 2) * scale[static_cast<size_t>(i) * cs.n + j] + 1e-30;
          if (!(std::fabs(static_cast<double>(c[at]) - ref[at]) <= tol) && bad++ == 0)
            first_bad = static_cast<long>(at);
        }
      }
      for (size_t g = static_cast<size_t>(cs.m) * ldc; g < c_size; ++g)
        if (c[g] != kSentinel && bad++ == 0) first_bad = static_cast<long>(g);
      INFO("first mismatch at flat index " << first_bad << " got "
                                           << (first_bad >= 0 ? c[first_bad] : 0.0f) << " want "
                                           << (first_bad >= 0 ? ref[first_bad] : 0.0f));
      CHECK(bad == 0);
    }
  }
}

}  // namespace

TEST_CASE("sgemm matches the reference on edge sizes, all transposes", "[gemm]") {
  std::mt19937 rng(1234);
  // 1, primes, SIMD widths ± 1 and register-block multiples ± 1 for every path's MR/NR.
  const int dims[] = {1, 2, 5, 6, 7, 13, 16, 17, 31, 33, 63, 64, 65, 97};
  std::uniform_int_distribution<int> pick(0, static_cast<int>(std::size(dims)) - 1);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int rep = 0; rep < 14; ++rep) {
        Case cs{ta != 0, tb != 0, dims[pick(rng)], dims[pick(rng)], dims[pick(rng)], 1.0f, 0.0f,
                0, 0, 0};
        check_case(cs, rng);
      }
}

TEST_CASE("sgemm matches the reference on random shapes with strides, alpha, beta", "[gemm]") {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> dim(1, 300), pad(0, 9), coin(0, 1);
  const float alphas[] = {1.0f, -0.5f, 2.0f};
  const float betas[] = {0.0f, 1.0f, 0.75f};
  for (int rep = 0; rep < 40; ++rep) {
    Case cs{coin(rng) != 0, coin(rng) != 0, dim(rng), dim(rng), dim(rng), alphas[rep % 3],
            betas[(rep / 3) % 3], pad(rng), pad(rng), pad(rng)};
    check_case(cs, rng);
  }
}

TEST_CASE("sgemm skinny and blocking-boundary shapes", "[gemm]") {
  std::mt19937 rng(7);
  // The training shapes (per image), the "sup" path thresholds (M around 4·MR), K beyond one
  // KC block and N beyond one NC block.
  const Case cases[] = {
      {false, false, 6, 576, 25, 1.0f, 0.0f, 0, 0, 0},
      {false, false, 16, 64, 150, 1.0f, 0.0f, 0, 0, 0},
      {false, true, 6, 25, 576, 1.0f, 1.0f, 0, 0, 0},
      {false, true, 16, 150, 64, 1.0f, 1.0f, 0, 0, 0},
      {true, false, 25, 576, 6, 1.0f, 0.0f, 0, 0, 0},
      {true, false, 150, 64, 16, 1.0f, 0.0f, 0, 0, 0},
      {false, true, 64, 120, 256, 1.0f, 0.0f, 0, 0, 0},
      {false, true, 64, 10, 84, 1.0f, 0.0f, 0, 0, 0},
      {false, false, 64, 256, 120, 1.0f, 0.0f, 0, 0, 0},
      {true, false, 120, 256, 64, 1.0f, 1.0f, 0, 0, 0},
      {false, false, 23, 1100, 9, 1.0f, 0.0f, 3, 5, 7},
      {false, false, 24, 1100, 260, 0.5f, 0.5f, 0, 1, 2},
      {false, false, 25, 1100, 40, 1.0f, 1.0f, 0, 0, 0},
      {true, true, 17, 1100, 270, 1.0f, 0.0f, 2, 0, 1},
      {false, false, 1, 1, 600, 1.0f, 0.0f, 0, 0, 0},
      {false, false, 300, 1, 1, 1.0f, 0.0f, 0, 0, 0},
      {false, false, 5, 7, 0, 1.0f, 0.5f, 0, 0, 0},   // k == 0: C = beta·C
      {false, false, 5, 7, 3, 0.0f, 0.0f, 0, 0, 0},   // alpha == 0, beta == 0: C = 0, NaN ignored
  };
  for (const Case& cs : cases) check_case(cs, rng);
}

TEST_CASE("sgemm is deterministic for a fixed thread count", "[gemm]") {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int m = 150, n = 333, k = 277;
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n);
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);
  for (Isa isa : supported_isas()) {
    ScopedIsa scoped(isa);
    ThreadCount tc(2);
    std::vector<float> c1(static_cast<size_t>(m) * n), c2(c1.size());
    sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c1.data(), n);
    sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c2.data(), n);
    CHECK(c1 == c2);
  }
}
