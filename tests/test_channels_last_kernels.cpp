// Channels-last kernels besides depthwise: the NCHW <-> NHWC layout transposes, and batch norm
// in NHWC against the (separately tested) NCHW kernels on the same data transposed, every
// variant, 1 and 2 threads, with and without the fused ReLU; bit-identical across thread counts.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernel_check.h"
#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/layout.h"

using namespace sepnet::kernels;
using namespace sepnet::testing;

TEST_CASE("layout: nchw_to_nhwc is the transpose and nhwc_to_nchw inverts it", "[kernels][layout]") {
  std::mt19937 rng(3);
  for (auto [n, c, p] : {std::tuple{1, 1, 1L}, std::tuple{2, 3, 50L}, std::tuple{3, 33, 17L}, std::tuple{1, 40, 49L}}) {
    const auto x = random_vector(rng, n * c * p);
    std::vector<float> y(x.size()), back(x.size());
    nchw_to_nhwc(n, c, p, x.data(), y.data());
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < c; ++j)
        for (long q = 0; q < p; ++q) REQUIRE(y[(i * p + q) * c + j] == x[(static_cast<long>(i) * c + j) * p + q]);
    nhwc_to_nchw(n, c, p, y.data(), back.data());
    CHECK(back == x);
  }
}

namespace {
std::vector<float> to_nchw(const std::vector<float>& x, int n, int c, long p) {
  std::vector<float> y(x.size());
  nhwc_to_nchw(n, c, p, x.data(), y.data());
  return y;
}
void check_near(const std::vector<float>& got, const std::vector<float>& want, float tol) {
  long bad = 0;
  for (size_t i = 0; i < want.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= tol * (1.0f + std::fabs(want[i])))) ++bad;
  CHECK(bad == 0);
}
}  // namespace

TEST_CASE("batchnorm nhwc equals batchnorm nchw on transposed data", "[kernels][batchnorm][nhwc]") {
  std::mt19937 rng(11);
  for_each_variant(batchnorm_variants(), [&] {
    // rows span several 256-row chunks with a tail; channel counts around the vector widths.
    for (auto [n, c, p] : {std::tuple{2, 5, 300L}, std::tuple{1, 17, 49L}, std::tuple{3, 32, 200L}}) {
      for (bool relu : {false, true}) {
        const long rows = n * p, size = rows * c;
        const auto x = random_vector(rng, size, -2.0f, 4.0f), dy = random_vector(rng, size);
        const auto gamma = random_vector(rng, c, 0.5f, 2.0f), beta = random_vector(rng, c);
        INFO("n=" << n << " c=" << c << " pixels=" << p << " relu=" << relu);
        std::vector<float> y(size), mean(c), var(c), invstd(c), dx(size, 0.5f), dg(c, 0.25f), db(c, -0.25f);
        batchnorm_nhwc_forward_train(rows, c, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(),
                                     var.data(), invstd.data(), relu);
        batchnorm_nhwc_backward(rows, c, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                                dg.data(), db.data(), true, relu ? y.data() : nullptr);
        const BatchNormShape s{n, c, p};
        const auto xc = to_nchw(x, n, c, p), dyc = to_nchw(dy, n, c, p);
        std::vector<float> yc(size), mc(c), vc(c), ic(c), dxc(size, 0.5f), dgc(c, 0.25f), dbc(c, -0.25f);
        batchnorm_forward_train(s, xc.data(), gamma.data(), beta.data(), 1e-5f, yc.data(), mc.data(), vc.data(),
                                ic.data(), relu);
        batchnorm_backward(s, xc.data(), dyc.data(), gamma.data(), mc.data(), ic.data(), dxc.data(), dgc.data(),
                           dbc.data(), true, relu ? yc.data() : nullptr);
        check_near(mean, mc, 1e-5f);
        check_near(var, vc, 1e-5f);
        check_near(to_nchw(y, n, c, p), yc, 1e-5f);
        check_near(to_nchw(dx, n, c, p), dxc, 1e-4f);
        check_near(dg, dgc, 1e-4f);
        check_near(db, dbc, 1e-4f);
        // Eval with running statistics, and the overwrite (accumulate_x = false) form.
        std::vector<float> ye(size), yec(size), dx2(size, std::nanf(""));
        batchnorm_nhwc_forward_eval(rows, c, x.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f,
                                    ye.data(), relu);
        batchnorm_forward_eval(s, xc.data(), gamma.data(), beta.data(), mean.data(), var.data(), 1e-5f, yec.data(),
                               relu);
        check_near(to_nchw(ye, n, c, p), yec, 1e-5f);
        std::vector<float> dg2(c, 0.0f), db2(c, 0.0f);
        batchnorm_nhwc_backward(rows, c, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx2.data(),
                                dg2.data(), db2.data(), false, relu ? y.data() : nullptr);
        for (long i = 0; i < size; ++i) REQUIRE(dx2[i] == Approx(dx[i] - 0.5f).margin(1e-5));
      }
    }
  });
}

TEST_CASE("batchnorm nhwc is bit-identical across thread counts", "[kernels][batchnorm][nhwc]") {
  std::mt19937 rng(12);
  const long rows = 1000;
  const int c = 24;
  const auto x = random_vector(rng, rows * c), dy = random_vector(rng, rows * c);
  const std::vector<float> gamma(c, 1.5f), beta(c, 0.25f);
  std::vector<std::vector<float>> runs;
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    std::vector<float> y(rows * c), mean(c), var(c), invstd(c), dx(rows * c, 0.0f), dg(c, 0.0f), db(c, 0.0f);
    batchnorm_nhwc_forward_train(rows, c, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(),
                                 var.data(), invstd.data(), false);
    batchnorm_nhwc_backward(rows, c, x.data(), dy.data(), gamma.data(), mean.data(), invstd.data(), dx.data(),
                            dg.data(), db.data());
    for (auto* v : {&mean, &var, &dx, &dg, &db}) y.insert(y.end(), v->begin(), v->end());
    runs.push_back(y);
  }
  omp_set_num_threads(omp_get_num_procs());
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
}

TEST_CASE("batchnorm nhwc statistics survive a large mean (shifted one-pass variance)", "[kernels][batchnorm][nhwc]") {
  std::mt19937 rng(13);
  const long rows = 3000;
  const int c = 5;
  auto x = random_vector(rng, rows * c);
  for (long i = 0; i < rows * c; ++i) x[i] += 1000.0f + 10.0f * static_cast<float>(i % c);
  std::vector<float> y(rows * c), mean(c), var(c), invstd(c);
  const std::vector<float> gamma(c, 1.0f), beta(c, 0.0f);
  batchnorm_nhwc_forward_train(rows, c, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(), var.data(),
                               invstd.data());
  for (int j = 0; j < c; ++j) {
    double m = 0, v = 0;
    for (long r = 0; r < rows; ++r) m += x[r * c + j];
    m /= rows;
    for (long r = 0; r < rows; ++r) v += (x[r * c + j] - m) * (x[r * c + j] - m);
    v /= rows;
    CHECK(mean[j] == Approx(m).epsilon(1e-6));
    CHECK(var[j] == Approx(v).epsilon(1e-3));  // ≈ 1/3 for U(−1, 1)
  }
}
