// Max-pool, batch-norm and element-wise kernels against their references, every variant, at 1 and
// 2 threads.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <omp.h>
#include <vector>

#include "sepnet/core/random.h"
#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/eltwise.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/pool.h"
#include "kernel_check.h"

using namespace sepnet;
using namespace sepnet::kernels;

TEST_CASE("max_pool2d_forward equals the reference, ties and NaN included", "[kernels][pool]") {
  Rng rng(1);
  testing::for_each_variant(pool_variants(), [&] {
    const int threads = omp_get_max_threads();
    for (int trial = 0; trial < 40; ++trial) {
      const int k = trial % 3 == 0 ? 3 : 2, stride = trial % 5 == 0 ? 1 : 2;
      PoolShape s{1 + static_cast<int>(rng.below(3)), 1 + static_cast<int>(rng.below(5)),
                  k + static_cast<int>(rng.below(13)), k + static_cast<int>(rng.below(45)), k, stride};
      std::vector<float> in(static_cast<size_t>(s.batch) * s.channels * s.in_h * s.in_w);
      // Few distinct values so ties are common; an occasional NaN.
      for (float& v : in) v = rng.below(50) == 0 ? std::numeric_limits<float>::quiet_NaN() : static_cast<float>(rng.below(4));
      const size_t out_size = static_cast<size_t>(s.batch) * s.channels * s.out_h() * s.out_w();
      std::vector<float> out(out_size + 1, 7.0f), ref(out_size);
      std::vector<int32_t> arg(out_size + 1, -5), ref_arg(out_size);
      max_pool2d_forward(s, in.data(), out.data(), arg.data());
      max_pool2d_forward_reference(s, in.data(), ref.data(), ref_arg.data());
      INFO("k=" << k << " stride=" << stride << " " << s.in_h << "x" << s.in_w << " threads=" << threads);
      for (size_t i = 0; i < out_size; ++i) {
        REQUIRE(arg[i] == ref_arg[i]);
        REQUIRE((out[i] == ref[i] || (std::isnan(out[i]) && std::isnan(ref[i]))));
      }
      CHECK(out[out_size] == 7.0f);  // sentinel untouched
      CHECK(arg[out_size] == -5);
    }
  });
  omp_set_num_threads(2);
}

TEST_CASE("pool variants: one row per ISA, and the shape rule", "[kernels][pool][dispatch]") {
  const auto table = pool_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) CHECK(static_cast<size_t>(table[i].isa) == i);
  // Output rows under 16 run the AVX2 copy on AVX-512 (the MNIST pools: 12 and 4 wide).
  CHECK(pool_isa_for(Isa::avx512, PoolOp::max_pool_2x2, PoolShape{64, 6, 24, 24, 2, 2}) == Isa::avx2);
  CHECK(pool_isa_for(Isa::avx512, PoolOp::max_pool_2x2, PoolShape{64, 16, 8, 8, 2, 2}) == Isa::avx2);
  CHECK(pool_isa_for(Isa::avx512, PoolOp::max_pool_2x2, PoolShape{1, 16, 32, 32, 2, 2}) == Isa::avx512);
  for (Isa active : {Isa::scalar, Isa::avx2})
    CHECK(pool_isa_for(active, PoolOp::max_pool_2x2, PoolShape{64, 6, 24, 24, 2, 2}) == active);
}

TEST_CASE("batchnorm kernels equal the double-precision reference", "[kernels][batchnorm]") {
  Rng rng(2);
  testing::for_each_variant(batchnorm_variants(), [&] {
    BatchNormShape s{3, 5, 77};  // 77: two 32-lane blocks and a tail
    const size_t n = static_cast<size_t>(s.batch) * s.channels * s.spatial;
    std::vector<float> x(n), dy(n), gamma(5), beta(5);
    for (float& v : x) v = rng.uniform(-3, 5);
    for (float& v : dy) v = rng.uniform(-1, 1);
    for (int c = 0; c < 5; ++c) gamma[c] = rng.uniform(0.5f, 2), beta[c] = rng.uniform(-1, 1);
    std::vector<float> y(n), mean(5), var(5), invstd(5), dx(n, 0.5f), dgamma(5, 0.25f), dbeta(5, -0.25f);
    batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(), var.data(), invstd.data());
    batchnorm_backward(s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx.data(), dgamma.data(), dbeta.data());
    std::vector<float> ry(n), rmean(5), rvar(5), rinvstd(5), rdx(n, 0.5f), rdgamma(5, 0.25f), rdbeta(5, -0.25f);
    batchnorm_forward_train_reference(s, x.data(), gamma.data(), beta.data(), 1e-5f, ry.data(), rmean.data(), rvar.data(),
                                      rinvstd.data());
    batchnorm_backward_reference(s, x.data(), dy.data(), gamma.data(), rmean.data(), rinvstd.data(), rdx.data(),
                                 rdgamma.data(), rdbeta.data());
    auto at = [&](int b, int c, long i) { return (static_cast<size_t>(b) * s.channels + c) * s.spatial + i; };
    for (int c = 0; c < s.channels; ++c) {
      CHECK(mean[c] == Approx(rmean[c]).epsilon(1e-5));
      CHECK(var[c] == Approx(rvar[c]).epsilon(1e-5));
      for (int b = 0; b < s.batch; ++b)
        for (long i = 0; i < s.spatial; ++i) REQUIRE(y[at(b, c, i)] == Approx(ry[at(b, c, i)]).margin(1e-5));
      CHECK(dgamma[c] == Approx(rdgamma[c]).margin(1e-4));
      CHECK(dbeta[c] == Approx(rdbeta[c]).margin(1e-4));
      for (int b = 0; b < s.batch; ++b)
        for (long i = 0; i < s.spatial; ++i) REQUIRE(dx[at(b, c, i)] == Approx(rdx[at(b, c, i)]).margin(1e-4));
    }
    // accumulate_x = false overwrites grad_x (a fresh, uninitialised buffer): same values minus the 0.5 start.
    std::vector<float> dx_assign(n, std::nanf("")), dgamma2(5, 0.0f), dbeta2(5, 0.0f);
    batchnorm_backward(s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx_assign.data(),
                       dgamma2.data(), dbeta2.data(), false);
    for (size_t i = 0; i < n; ++i) REQUIRE(dx_assign[i] == Approx(dx[i] - 0.5f).margin(1e-5));
  });
}

TEST_CASE("batchnorm references: the fused ReLU and eval forms", "[kernels][batchnorm]") {
  Rng rng(5);
  const BatchNormShape s{2, 3, 20};
  const size_t n = static_cast<size_t>(s.batch) * s.channels * s.spatial;
  std::vector<float> x(n), dy(n), gamma{1.5f, 0.5f, -1.0f}, beta{0.25f, -0.5f, 1.0f};
  for (float& v : x) v = rng.uniform(-2, 3);
  for (float& v : dy) v = rng.uniform(-1, 1);
  std::vector<float> y(n), yr(n), mean(3), var(3), invstd(3), ye(n);
  batchnorm_forward_train_reference(s, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(), var.data(),
                                    invstd.data());
  batchnorm_forward_train_reference(s, x.data(), gamma.data(), beta.data(), 1e-5f, yr.data(), mean.data(), var.data(),
                                    invstd.data(), true);
  batchnorm_forward_eval_reference(s, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f, ye.data());
  std::vector<float> dy_masked(n);
  for (size_t i = 0; i < n; ++i) {
    CHECK(yr[i] == std::max(y[i], 0.0f));
    CHECK(ye[i] == Approx(y[i]).margin(1e-5));  // eval with the batch's own statistics
    dy_masked[i] = yr[i] > 0.0f ? dy[i] : 0.0f;
  }
  std::vector<float> dx(n, 0.0f), dxf(n, 0.0f), dg(3, 0.0f), dgf(3, 0.0f), db(3, 0.0f), dbf(3, 0.0f);
  batchnorm_backward_reference(s, x.data(), dy_masked.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                               dg.data(), db.data());
  batchnorm_backward_reference(s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dxf.data(), dgf.data(),
                               dbf.data(), true, yr.data());
  CHECK(dx == dxf);
  CHECK(dg == dgf);
  CHECK(db == dbf);
}

TEST_CASE("fused BN+ReLU kernels equal BN then ReLU", "[kernels][batchnorm]") {
  Rng rng(4);
  testing::for_each_variant(batchnorm_variants(), [&] {
    BatchNormShape s{2, 3, 45};
    const size_t n = static_cast<size_t>(s.batch) * s.channels * s.spatial;
    std::vector<float> x(n), dy(n), gamma(3), beta(3);
    for (float& v : x) v = rng.uniform(-3, 5);
    for (float& v : dy) v = rng.uniform(-1, 1);
    for (int c = 0; c < 3; ++c) gamma[c] = rng.uniform(0.5f, 2), beta[c] = rng.uniform(-1, 1);
    std::vector<float> y(n), yf(n), mean(3), var(3), invstd(3);
    batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(), var.data(),
                            invstd.data());
    batchnorm_forward_train(s, x.data(), gamma.data(), beta.data(), 1e-5f, yf.data(), mean.data(), var.data(),
                            invstd.data(), /*fuse_relu=*/true);
    size_t negatives = 0;
    std::vector<float> dy_masked(n);
    for (size_t i = 0; i < n; ++i) {
      REQUIRE(yf[i] == std::max(y[i], 0.0f));
      negatives += y[i] <= 0.0f;
      dy_masked[i] = yf[i] > 0.0f ? dy[i] : 0.0f;  // ReLU backward, unfused
    }
    REQUIRE(negatives > n / 5);  // the mask matters in this case
    std::vector<float> dx(n, 0.5f), dxf(n, 0.5f), dg(3, 0.f), dgf(3, 0.f), db(3, 0.f), dbf(3, 0.f);
    batchnorm_backward(s, x.data(), dy_masked.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                       dg.data(), db.data());
    batchnorm_backward(s, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dxf.data(), dgf.data(),
                       dbf.data(), true, yf.data());
    for (size_t i = 0; i < n; ++i) REQUIRE(dxf[i] == Approx(dx[i]).margin(1e-6));
    for (int c = 0; c < 3; ++c) {
      CHECK(dgf[c] == Approx(dg[c]).margin(1e-6));
      CHECK(dbf[c] == Approx(db[c]).margin(1e-6));
    }
    std::vector<float> ye(n), yef(n);
    batchnorm_forward_eval(s, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f, ye.data());
    batchnorm_forward_eval(s, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f, yef.data(), true);
    for (size_t i = 0; i < n; ++i) REQUIRE(yef[i] == std::max(ye[i], 0.0f));
  });
}
TEST_CASE("relu_backward accumulates or assigns through the output mask", "[kernels][eltwise]") {
  Rng rng(3);
  for (int threads : {1, 2}) {
    omp_set_num_threads(threads);
    for (long count : {1L, 7L, 33L, 200001L}) {  // tails, and enough for two threads
      std::vector<float> y(count), gy(count), acc(count, 1.5f), assign(count, std::nanf(""));
      for (long i = 0; i < count; ++i) {
        y[i] = rng.below(3) == 0 ? 0.0f : rng.uniform(-1, 1);
        gy[i] = rng.uniform(-1, 1);
      }
      relu_backward(count, y.data(), gy.data(), acc.data(), true);
      relu_backward(count, y.data(), gy.data(), assign.data(), false);
      for (long i = 0; i < count; ++i) {
        const float pass = y[i] > 0.0f ? gy[i] : 0.0f;
        REQUIRE(acc[i] == 1.5f + pass);
        REQUIRE(assign[i] == pass);
      }
    }
  }
  omp_set_num_threads(2);
}
