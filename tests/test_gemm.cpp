// sgemm (every variant of the GEMM's table, 1 and 2 threads) against sgemm_reference.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

#include "kernel_check.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/gemm_portable_vec.h"
#include "sepnet/kernels/isa.h"

using namespace sepnet::kernels;
using sepnet::testing::for_each_variant;

namespace {

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

  for_each_variant(gemm_variants(), [&] {
    std::vector<float> c = c0;
    sgemm(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, cs.alpha, a.data(), lda, b.data(), ldb,
          cs.beta, c.data(), ldc);
    INFO("ta=" << cs.trans_a
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
  });
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

TEST_CASE("sgemm tall-skinny path: N and K up to 64, many rows, every column tail", "[gemm]") {
  // The path of narrow 1×1 convolutions (M ≥ 64, N ≤ 64, K ≤ 64, A not transposed): every N
  // from 1 to 65 (vector tails, 1…4 vectors, one past the limit), K from 1 to 65, rows that
  // leave every partial register tile, both B layouts, alpha / beta, leading-dimension slack.
  std::mt19937 rng(31);
  std::uniform_int_distribution<int> k_dim(1, 65), m_dim(64, 260), pad(0, 5), coin(0, 1);
  const float alphas[] = {1.0f, -0.5f, 2.0f};
  const float betas[] = {0.0f, 1.0f, 0.75f};
  for (int n = 1; n <= 65; ++n) {
    Case cs{false, coin(rng) != 0, m_dim(rng), n, k_dim(rng), alphas[n % 3], betas[(n / 3) % 3],
            pad(rng), pad(rng), pad(rng)};
    check_case(cs, rng);
  }
  const Case shapes[] = {
      {false, true, 4096, 16, 8, 1.0f, 0.0f, 0, 0, 0},   // α 0.25 forward 8 → 16
      {false, false, 4096, 8, 16, 1.0f, 1.0f, 0, 0, 0},  // its input gradient, accumulated
      {false, false, 1031, 32, 64, 1.0f, 0.0f, 0, 0, 0},
      {false, true, 997, 64, 64, 1.0f, 0.0f, 1, 2, 3},
  };
  for (const Case& cs : shapes) check_case(cs, rng);
}

TEST_CASE("sgemm tall-skinny reduction path: Aᵀ·B with M, N up to 64 over a long K", "[gemm]") {
  // Weight gradients of narrow 1×1 convolutions (A and B K rows long, K ≥ 512): every N from 1
  // to 65 (ragged B chunks are copied), M over partial row blocks, K not a whole number of
  // chunks, alpha / beta, strides; 1 and 2 threads split K into private partial sums.
  std::mt19937 rng(57);
  std::uniform_int_distribution<int> m_dim(1, 65), k_dim(512, 1300), pad(0, 5), coin(0, 1);
  const float alphas[] = {1.0f, -0.5f, 2.0f};
  const float betas[] = {0.0f, 1.0f, 0.75f};
  for (int n = 1; n <= 65; n += (n < 20 ? 1 : 3)) {
    Case cs{true, false, m_dim(rng), n, k_dim(rng), alphas[n % 3], betas[(n / 3) % 3], pad(rng), pad(rng), pad(rng)};
    check_case(cs, rng);
  }
  const Case shapes[] = {
      {true, false, 8, 16, 4096, 1.0f, 0.0f, 0, 0, 0},   // α 0.25 8 → 16 weight gradient (Xᵀ·dY)
      {true, false, 16, 8, 4096, 1.0f, 1.0f, 0, 0, 0},   // and dYᵀ·X, accumulated
      {true, false, 64, 64, 2049, 1.0f, 0.0f, 0, 0, 0},
      {true, true, 32, 32, 1024, 1.0f, 0.0f, 0, 0, 0},   // B transposed: not this path
  };
  for (const Case& cs : shapes) check_case(cs, rng);
}

TEST_CASE("sgemm is deterministic for a fixed thread count", "[gemm]") {
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int m = 150, n = 333, k = 277;
  std::vector<float> a(static_cast<size_t>(m) * k), b(static_cast<size_t>(k) * n);
  for (auto& x : a) x = dist(rng);
  for (auto& x : b) x = dist(rng);
  for (const auto& variant : gemm_variants()) {
    if (!isa_supported(variant.isa)) continue;
    ScopedIsa scoped(variant.isa, /*exact=*/true);
    ThreadCount tc(2);
    std::vector<float> c1(static_cast<size_t>(m) * n), c2(c1.size());
    sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c1.data(), n);
    sgemm(false, false, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c2.data(), n);
    INFO("variant=" << variant.name);
    CHECK(c1 == c2);
  }
}

TEST_CASE("sgemm_abt_sum equals the sum of reference A_i·B_iᵀ products", "[gemm]") {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  // (m, n, k, count): the pointwise weight-gradient shapes, K tails, single rows, K long enough
  // to be chunked.
  const int shapes[][4] = {{16, 6, 64, 64}, {6, 1, 576, 5}, {1, 1, 1, 3},   {5, 7, 17, 4},
                           {13, 9, 33, 2},  {4, 4, 16, 1},  {3, 70, 200, 3}, {2, 3, 70000, 2}};
  for (const auto& sh : shapes) {
    const int m = sh[0], n = sh[1], k = sh[2], count = sh[3];
    const long lda = k + 3, ldb = k + 1, a_step = m * lda + 5, b_step = n * ldb + 2, ldc = n + 2;
    std::vector<float> a(static_cast<size_t>(count * a_step)), b(static_cast<size_t>(count * b_step));
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    std::vector<float> c0(static_cast<size_t>(m * ldc) + kGuard, kSentinel);
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) c0[static_cast<size_t>(i * ldc + j)] = dist(rng);
    std::vector<float> want = c0;
    double scale = 0.0;
    for (int t = 0; t < count; ++t)
      sgemm_reference(false, true, m, n, k, 1.0f, a.data() + t * a_step, static_cast<int>(lda),
                      b.data() + t * b_step, static_cast<int>(ldb), 1.0f, want.data(), static_cast<int>(ldc));
    scale = static_cast<double>(k) * count;
    for (const auto& variant : gemm_variants()) {
      if (!isa_supported(variant.isa)) continue;
      ScopedIsa scoped(variant.isa, /*exact=*/true);
      std::vector<float> got = c0;
      sgemm_abt_sum(m, n, k, count, a.data(), lda, a_step, b.data(), ldb, b_step, got.data(), ldc);
      INFO("m=" << m << " n=" << n << " k=" << k << " count=" << count << " variant=" << variant.name);
      for (int i = 0; i < m; ++i)
        for (int j = 0; j < n; ++j) {
          const size_t at = static_cast<size_t>(i * ldc + j);
          CHECK(std::abs(got[at] - want[at]) <= 1e-5 * scale + 1e-5);
        }
      for (size_t at = 0; at < got.size(); ++at)  // ldc padding and the guard untouched
        if (at >= static_cast<size_t>(m * ldc) || static_cast<long>(at % ldc) >= n) CHECK(got[at] == kSentinel);
    }
  }
}

TEST_CASE("gemm variants: one row per ISA, and the shape rule", "[gemm][dispatch]") {
  const auto table = gemm_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) CHECK(static_cast<size_t>(table[i].isa) == i);
  // Tall-skinny products with at most 8 columns run the AVX2 copy on AVX-512; nothing else moves.
  const GemmShape pw_dx{false, false, 131072, 8, 16}, pw_dw{true, false, 8, 8, 131072},
      pw_fwd{false, true, 131072, 16, 8}, square{false, false, 512, 512, 512}, few_rows{false, false, 32, 8, 16};
  CHECK(gemm_isa_for(Isa::avx512, GemmOp::sgemm, pw_dx) == Isa::avx2);
  CHECK(gemm_isa_for(Isa::avx512, GemmOp::sgemm, pw_dw) == Isa::avx2);
  CHECK(gemm_isa_for(Isa::avx512, GemmOp::sgemm, pw_fwd) == Isa::avx512);     // 16 columns
  CHECK(gemm_isa_for(Isa::avx512, GemmOp::sgemm, square) == Isa::avx512);
  CHECK(gemm_isa_for(Isa::avx512, GemmOp::sgemm, few_rows) == Isa::avx512);   // not tall-skinny
  CHECK(gemm_isa_for(Isa::avx512, GemmOp::sgemm_abt_sum, pw_dx) == Isa::avx512);
  for (Isa active : {Isa::scalar, Isa::avx2})
    for (const GemmShape& s : {pw_dx, pw_dw, pw_fwd, square, few_rows}) CHECK(gemm_isa_for(active, GemmOp::sgemm, s) == active);
}

TEST_CASE("sgemm runs the variant its rule selects (bit-identical to that row's entry)", "[gemm][dispatch]") {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const GemmShape shapes[] = {{false, false, 300, 8, 16}, {true, false, 8, 8, 4096}, {false, true, 64, 120, 256}};
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (!isa_supported(isa)) continue;
    ScopedIsa scoped(isa);
    for (const GemmShape& s : shapes) {
      const int lda = s.trans_a ? s.m : s.k, ldb = s.trans_b ? s.k : s.n;
      std::vector<float> a(static_cast<size_t>(s.m) * s.k), b(static_cast<size_t>(s.k) * s.n);
      for (auto& x : a) x = dist(rng);
      for (auto& x : b) x = dist(rng);
      std::vector<float> got(static_cast<size_t>(s.m) * s.n), want(got.size());
      sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, got.data(), s.n);
      const auto& row = variant_for(gemm_variants(), gemm_isa_for(isa, GemmOp::sgemm, s));
      row.entry->sgemm(s.trans_a, s.trans_b, s.m, s.n, s.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, want.data(), s.n);
      INFO("isa=" << isa_name(isa) << " m=" << s.m << " n=" << s.n << " k=" << s.k << " ran " << row.name);
      CHECK(got == want);
    }
  }
}

// The AVX-512 build uses a 6×64 register block (4 vectors of 16 floats), a different loop
// order (B micro-panels stream from L2) and 4×4 dot blocks. This CPU may lack AVX-512, so the
// same driver is also instantiated here over a plain 16-float vector (the scalar variant's
// PortableVec, 16 wide) with the AVX-512 geometry: every blocking / edge / path decision of that
// build runs on any machine.
namespace sepnet::kernels::gemm_test16 {
using Vec = gemm_detail::PortableVec<16>;
constexpr int kMR = 6;
constexpr int kNV = 4;
}  // namespace sepnet::kernels::gemm_test16
#define SEPNET_GEMM_NS gemm_test16
#include "sepnet/kernels/gemm_impl.h"
#undef SEPNET_GEMM_NS

TEST_CASE("sgemm driver with the AVX-512 geometry (portable 16-lane emulation)", "[gemm]") {
  using namespace sepnet::kernels;
  std::mt19937 rng(2024);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::uniform_int_distribution<int> dim(1, 300), pad(0, 5), coin(0, 1);
  std::vector<Case> cases = {
      {false, false, 6, 576, 25, 1.0f, 0.0f, 0, 0, 0},    {false, true, 6, 25, 576, 1.0f, 1.0f, 0, 0, 0},
      {false, true, 16, 150, 300, 1.0f, 0.0f, 1, 2, 3},   {true, false, 25, 576, 6, 1.0f, 0.0f, 0, 0, 0},
      {false, false, 30, 700, 270, 0.5f, 0.5f, 0, 0, 0},  {false, true, 64, 10, 84, 1.0f, 0.0f, 0, 0, 0},
      {true, true, 71, 129, 257, 1.0f, 0.0f, 0, 0, 0},    {false, false, 250, 65, 31, 1.0f, 1.0f, 0, 0, 0},
      // tall-skinny path: 1…4 vectors, column tails, partial row tiles
      {false, true, 203, 16, 8, 1.0f, 0.0f, 0, 0, 0},     {false, false, 199, 8, 16, 1.0f, 1.0f, 0, 1, 0},
      {false, false, 70, 33, 64, -1.5f, 0.5f, 2, 0, 3},   {false, true, 131, 64, 45, 1.0f, 0.0f, 0, 0, 1},
      {false, false, 64, 50, 1, 1.0f, 0.0f, 0, 0, 0},
      // tall-skinny reduction path (Aᵀ·B, K ≥ 512)
      {true, false, 40, 33, 700, 1.0f, 0.5f, 1, 2, 3},    {true, false, 7, 64, 1025, -1.0f, 0.0f, 0, 0, 0},
  };
  for (int rep = 0; rep < 24; ++rep)
    cases.push_back({coin(rng) != 0, coin(rng) != 0, dim(rng), dim(rng), dim(rng), rep % 2 ? 1.0f : -1.5f,
                     rep % 3 == 0 ? 0.0f : 0.5f, pad(rng), pad(rng), pad(rng)});
  for (const Case& cs : cases) {
    const int lda = (cs.trans_a ? cs.m : cs.k) + cs.pad_a, ldb = (cs.trans_b ? cs.k : cs.n) + cs.pad_b;
    const int ldc = cs.n + cs.pad_c;
    std::vector<float> a(static_cast<size_t>(cs.trans_a ? cs.k : cs.m) * lda);
    std::vector<float> b(static_cast<size_t>(cs.trans_b ? cs.n : cs.k) * ldb);
    for (auto& x : a) x = dist(rng);
    for (auto& x : b) x = dist(rng);
    std::vector<float> c(static_cast<size_t>(cs.m) * ldc + kGuard, kSentinel);
    for (int i = 0; i < cs.m; ++i)
      for (int j = 0; j < cs.n; ++j) c[static_cast<size_t>(i) * ldc + j] = cs.beta == 0.0f ? NAN : dist(rng);
    std::vector<float> ref = c;
    sgemm_reference(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, cs.alpha, a.data(), lda, b.data(), ldb,
                    cs.beta, ref.data(), ldc);
    for (int threads : {1, 2}) {
      ThreadCount tc(threads);
      std::vector<float> got = c;
      gemm_test16::sgemm_entry(cs.trans_a, cs.trans_b, cs.m, cs.n, cs.k, cs.alpha, a.data(), lda,
                               b.data(), ldb, cs.beta, got.data(), ldc);
      INFO("m=" << cs.m << " n=" << cs.n << " k=" << cs.k << " ta=" << cs.trans_a << " tb=" << cs.trans_b
                << " threads=" << threads);
      long bad = 0;
      for (size_t at = 0; at < got.size(); ++at) {
        const long i = static_cast<long>(at) / ldc, j = static_cast<long>(at) % ldc;
        if (i >= cs.m || j >= cs.n) {
          bad += got[at] != kSentinel;
          continue;
        }
        // |A|·|B| row-column bound for the tolerance.
        double s = cs.beta == 0.0f ? 0.0 : std::fabs(cs.beta * c[at]);
        for (int p = 0; p < cs.k; ++p) {
          const double av = cs.trans_a ? a[static_cast<size_t>(p) * lda + i] : a[static_cast<size_t>(i) * lda + p];
          const double bv = cs.trans_b ? b[static_cast<size_t>(j) * ldb + p] : b[static_cast<size_t>(p) * ldb + j];
          s += std::fabs(cs.alpha * av * bv);
        }
        const double tol = 4.0 * std::numeric_limits<float>::epsilon() * (cs.k + 2) * s + 1e-30;
        bad += !(std::fabs(static_cast<double>(got[at]) - ref[at]) <= tol);
      }
      CHECK(bad == 0);
    }
  }
}
