// Channels-last ops: equal to the NCHW ops on transposed tensors (values and gradients), and
// their backward against finite differences; shape errors name the op.
#include <catch2/catch.hpp>
#include <cmath>

#include "sepnet/core/ops.h"
#include "gradcheck.h"

using namespace sepnet;
using sepnet::testing::gradcheck;
using sepnet::testing::random_tensor;

namespace {
constexpr double kGradTolerance = 2e-2;

Tensor leaf(Tensor t) {
  t.set_requires_grad(true);
  return t;
}

void require_close(const Tensor& a, const Tensor& b, double margin) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector(), vb = b.to_vector();
  for (size_t i = 0; i < va.size(); ++i) REQUIRE(va[i] == Approx(vb[i]).margin(margin));
}

struct Case {
  int n, c, h, w, out, k, stride, pad, groups;
  bool bias;
};
}  // namespace

TEST_CASE("to_channels_last / to_channels_first transpose and pass gradients", "[nhwc][grad]") {
  Rng rng(1);
  Tensor x = random_tensor({2, 3, 4, 5}, rng);
  Tensor y = ops::to_channels_last(x);
  REQUIRE(y.shape() == Shape{2, 4, 5, 3});
  CHECK(y.data()[((1 * 4 + 2) * 5 + 3) * 3 + 1] == x.data()[((1 * 3 + 1) * 4 + 2) * 5 + 3]);
  CHECK(ops::to_channels_first(y).to_vector() == x.to_vector());
  auto r = gradcheck([](const std::vector<Tensor>& in) { return ops::to_channels_first(ops::to_channels_last(in[0])); },
                     {leaf(x)});
  CHECK(r.max_error < kGradTolerance);
  auto r2 = gradcheck([](const std::vector<Tensor>& in) { return ops::to_channels_last(in[0]); },
                      {leaf(random_tensor({1, 5, 3, 2}, rng))});
  CHECK(r2.max_error < kGradTolerance);
}

TEST_CASE("conv2d_nhwc equals conv2d on transposed tensors and passes finite differences", "[nhwc][conv2d][grad]") {
  const Case cases[] = {
      {2, 5, 7, 6, 5, 3, 1, 1, 5, true},     // depthwise 3×3
      {2, 17, 9, 10, 17, 3, 2, 1, 17, false}, // depthwise stride 2, channel tail
      {1, 6, 12, 12, 6, 5, 1, 0, 6, true},   // depthwise 5×5
      {2, 4, 5, 3, 6, 1, 1, 0, 1, true},     // pointwise
      {2, 3, 9, 8, 4, 3, 2, 1, 1, false},    // dense 3×3 stride 2 (MobileNet's stem): via NCHW
  };
  Rng rng(2);
  for (const auto& c : cases) {
    INFO("n=" << c.n << " c=" << c.c << " " << c.h << "x" << c.w << " out=" << c.out << " k=" << c.k
              << " s=" << c.stride << " p=" << c.pad << " g=" << c.groups);
    Tensor x = random_tensor({c.n, c.c, c.h, c.w}, rng);
    Tensor w = leaf(random_tensor({c.out, c.c / c.groups, c.k, c.k}, rng));
    Tensor b = c.bias ? leaf(random_tensor({c.out}, rng)) : Tensor();
    Tensor xa = leaf(x.clone()), xb = leaf(ops::to_channels_last(x).detach());
    Tensor ya = ops::conv2d(xa, w, b, c.stride, c.pad, c.groups);
    Tensor yb = ops::conv2d_nhwc(xb, w, b, c.stride, c.pad, c.groups);
    require_close(ops::to_channels_last(ya.detach()), yb, 1e-5);
    // Gradients: the same upstream gradient in each layout.
    Tensor g = random_tensor(ya.shape(), rng);
    ops::sum(ops::mul(ya, g)).backward();
    const auto gw_nchw = w.grad().to_vector();
    const auto gb_nchw = c.bias ? b.grad().to_vector() : std::vector<float>{};
    w.zero_grad();
    if (c.bias) b.zero_grad();
    ops::sum(ops::mul(yb, ops::to_channels_last(g))).backward();
    require_close(ops::to_channels_last(xa.grad()), xb.grad(), 1e-4);
    const auto gw_nhwc = w.grad().to_vector();
    for (size_t i = 0; i < gw_nchw.size(); ++i) REQUIRE(gw_nhwc[i] == Approx(gw_nchw[i]).margin(1e-4));
    if (c.bias) {
      const auto gb_nhwc = b.grad().to_vector();
      for (size_t i = 0; i < gb_nchw.size(); ++i) REQUIRE(gb_nhwc[i] == Approx(gb_nchw[i]).margin(1e-4));
    }
    std::vector<Tensor> inputs{leaf(ops::to_channels_last(x).detach()), w};
    if (c.bias) inputs.push_back(b);
    auto r = gradcheck([&](const std::vector<Tensor>& in) {
      return ops::conv2d_nhwc(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), c.stride, c.pad, c.groups);
    }, inputs);
    INFO("worst input " << r.worst_input << " error " << r.max_error);
    CHECK(r.max_error < kGradTolerance);
  }
}

TEST_CASE("conv2d_nchw_to_nhwc equals conv2d then to_channels_last and passes finite differences",
          "[nhwc][conv2d][grad]") {
  Rng rng(7);
  // 3 and 1 input channels run the direct stem kernel (kernels/conv_stem.h), 2 the im2col GEMM.
  for (int c_in : {3, 1, 2})
  for (bool bias : {true, false}) {
    INFO("c_in=" << c_in);
    Tensor x = leaf(random_tensor({2, c_in, 9, 8}, rng)), w = leaf(random_tensor({5, c_in, 3, 3}, rng));
    Tensor b = bias ? leaf(random_tensor({5}, rng)) : Tensor();
    require_close(ops::to_channels_last(ops::conv2d(x, w, b, 2, 1)), ops::conv2d_nchw_to_nhwc(x, w, b, 2, 1), 1e-5);
    std::vector<Tensor> inputs{x, w};
    if (bias) inputs.push_back(b);
    auto r = gradcheck([](const std::vector<Tensor>& in) {
      return ops::conv2d_nchw_to_nhwc(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), 2, 1);
    }, inputs);
    INFO("bias=" << bias << " worst input " << r.worst_input << " error " << r.max_error);
    CHECK(r.max_error < kGradTolerance);
  }
}

TEST_CASE("batch_norm2d_nhwc equals batch_norm2d on transposed tensors, with and without ReLU",
          "[nhwc][batchnorm][grad]") {
  Rng rng(3);
  for (bool training : {true, false})
    for (bool relu : {false, true}) {
      INFO("training=" << training << " relu=" << relu);
      Tensor x = random_tensor({3, 4, 5, 3}, rng, -2.0f, 3.0f);
      Tensor gamma = leaf(random_tensor({4}, rng, 0.5f, 1.5f)), beta = leaf(random_tensor({4}, rng));
      Tensor rm = random_tensor({4}, rng), rv = random_tensor({4}, rng, 0.5f, 2.0f);
      Tensor rm2 = rm.detach().clone(), rv2 = rv.detach().clone();
      Tensor a = ops::batch_norm2d(x, gamma, beta, rm, rv, training, 0.1f, 1e-5f, relu);
      Tensor b = ops::batch_norm2d_nhwc(ops::to_channels_last(x), gamma, beta, rm2, rv2, training, 0.1f, 1e-5f, relu);
      require_close(ops::to_channels_last(a.detach()), b, 1e-5);
      require_close(rm, rm2, 1e-6);
      require_close(rv, rv2, 1e-6);
      // Gradients against the NCHW op's (finite-difference checked in test_ops.cpp).
      Tensor xa = leaf(x.clone()), xb = leaf(ops::to_channels_last(x).detach());
      Tensor ga = ops::batch_norm2d(xa, gamma, beta, rm, rv, training, 0.0f, 1e-5f, relu);
      Tensor gb = ops::batch_norm2d_nhwc(xb, gamma, beta, rm2, rv2, training, 0.0f, 1e-5f, relu);
      Tensor up = random_tensor(ga.shape(), rng);
      gamma.zero_grad();
      beta.zero_grad();
      ops::sum(ops::mul(ga, up)).backward();
      const auto dg = gamma.grad().to_vector(), db = beta.grad().to_vector();
      gamma.zero_grad();
      beta.zero_grad();
      ops::sum(ops::mul(gb, ops::to_channels_last(up))).backward();
      require_close(ops::to_channels_last(xa.grad()), xb.grad(), 1e-4);
      for (int c = 0; c < 4; ++c) {
        CHECK(gamma.grad().data()[c] == Approx(dg[c]).margin(1e-4));
        CHECK(beta.grad().data()[c] == Approx(db[c]).margin(1e-4));
      }
      if (relu) continue;  // finite differences across ReLU's kink are not a derivative
      auto r = gradcheck([&](const std::vector<Tensor>& in) {
        return ops::batch_norm2d_nhwc(in[0], in[1], in[2], rm, rv, training, 0.0f, 1e-5f, relu);
      }, {leaf(ops::to_channels_last(x).detach()), gamma, beta});
      INFO("worst input " << r.worst_input << " error " << r.max_error);
      CHECK(r.max_error < kGradTolerance);
    }
}

TEST_CASE("global_avg_pool_nhwc averages pixels and passes finite differences", "[nhwc][pool][grad]") {
  Rng rng(4);
  Tensor x = random_tensor({2, 3, 4, 5}, rng);  // [N, H, W, C]
  Tensor y = ops::global_avg_pool_nhwc(x);
  REQUIRE(y.shape() == Shape{2, 5});
  double want = 0;
  for (int p = 0; p < 12; ++p) want += x.data()[(12 + p) * 5 + 2];
  CHECK(y.data()[5 + 2] == Approx(want / 12).margin(1e-6));
  auto r = gradcheck([](const std::vector<Tensor>& in) { return ops::global_avg_pool_nhwc(in[0]); }, {leaf(x)});
  CHECK(r.max_error < kGradTolerance);
}

TEST_CASE("channels-last ops reject wrong shapes clearly", "[nhwc]") {
  Rng rng(5);
  Tensor x = random_tensor({1, 4, 4, 3}, rng);
  CHECK_THROWS_WITH(ops::conv2d_nhwc(x, random_tensor({3, 2, 3, 3}, rng), Tensor(), 1, 1, 1),
                    Catch::Contains("conv2d_nhwc") && Catch::Contains("does not fit"));
  CHECK_THROWS_WITH(ops::conv2d_nhwc(random_tensor({4, 3}, rng), random_tensor({3, 1, 3, 3}, rng), Tensor()),
                    Catch::Contains("conv2d_nhwc") && Catch::Contains("4-D"));
  Tensor rm = Tensor::zeros({4}), rv = Tensor::full({4}, 1.0f);
  CHECK_THROWS_WITH(ops::batch_norm2d_nhwc(x, Tensor::full({4}, 1.0f), Tensor::zeros({4}), rm, rv, true),
                    Catch::Contains("batch_norm2d_nhwc") && Catch::Contains("[3]"));
  CHECK_THROWS_WITH(ops::global_avg_pool_nhwc(random_tensor({2, 3}, rng)), Catch::Contains("global_avg_pool_nhwc"));
}
