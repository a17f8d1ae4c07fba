// Every op: forward values on hand-computed cases, backward against finite differences.
#include <catch2/catch.hpp>
#include <cmath>

#include "sepnet/core/ops.h"
#include "gradcheck.h"

using namespace sepnet;
using sepnet::testing::gradcheck;
using sepnet::testing::random_tensor;

namespace {
constexpr double kGradTolerance = 2e-2;  // a wrong sign or a missing term gives O(1)

Tensor leaf(Tensor t) {
  t.set_requires_grad(true);
  return t;
}

struct ConvCase {
  int n, c, h, w, out, k, stride, pad, groups;
  bool bias;
};
}  // namespace

TEST_CASE("conv2d forward matches a hand-computed case", "[conv2d]") {
  // 1 image, 1 channel 3×3, 2×2 kernel of ones plus bias 0.5: each output = window sum + 0.5.
  Tensor x = Tensor::from_vector({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor w = Tensor::from_vector({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor b = Tensor::from_vector({1}, {0.5f});
  Tensor y = ops::conv2d(x, w, b);
  REQUIRE(y.shape() == Shape{1, 1, 2, 2});
  CHECK(y.to_vector() == std::vector<float>{12.5f, 16.5f, 24.5f, 28.5f});

  // Padding 1, stride 2 with a centre-only 3×3 kernel samples x[0][0], x[0][2], x[2][0], x[2][2].
  Tensor centre = Tensor::from_vector({1, 1, 3, 3}, {0, 0, 0, 0, 1, 0, 0, 0, 0});
  Tensor ys = ops::conv2d(x, centre, Tensor(), 2, 1);
  CHECK(ys.to_vector() == std::vector<float>{1, 3, 7, 9});
}

TEST_CASE("conv2d with groups keeps channels apart", "[conv2d]") {
  // Depthwise, 2 channels, 1×1 kernels scaling each channel by its own factor.
  Tensor x = Tensor::from_vector({1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor w = Tensor::from_vector({2, 1, 1, 1}, {10, -1});
  CHECK(ops::conv2d(x, w, Tensor(), 1, 0, 2).to_vector() == std::vector<float>{10, 20, -3, -4});
  // groups = 2 with 2 outputs per group: channel 0 feeds outputs 0,1 and channel 1 outputs 2,3.
  Tensor w2 = Tensor::from_vector({4, 1, 1, 1}, {1, 2, 3, 4});
  CHECK(ops::conv2d(x, w2, Tensor(), 1, 0, 2).to_vector() == std::vector<float>{1, 2, 2, 4, 9, 12, 12, 16});
  // Depthwise 3×3 with padding 1 (the MobileNet case): ones kernel sums the in-image neighbours.
  Tensor x3 = Tensor::full({1, 2, 3, 3}, 1.0f);
  Tensor w3 = Tensor::full({2, 1, 3, 3}, 1.0f);
  auto y3 = ops::conv2d(x3, w3, Tensor(), 1, 1, 2).to_vector();
  CHECK(y3[0] == 4.0f);  // corner: 2×2 neighbourhood inside
  CHECK(y3[1] == 6.0f);  // edge
  CHECK(y3[4] == 9.0f);  // centre
}

TEST_CASE("conv2d backward matches finite differences", "[conv2d][grad]") {
  const ConvCase cases[] = {
      {2, 3, 7, 6, 4, 3, 1, 0, 1, true},   // plain 3×3
      {2, 3, 9, 8, 2, 3, 2, 1, 1, true},   // stride 2, padding 1
      {1, 2, 11, 9, 3, 5, 1, 2, 1, false}, // 5×5, pad 2, odd sizes, no bias
      {2, 3, 7, 7, 3, 3, 1, 1, 3, true},   // depthwise 3×3
      {2, 4, 9, 10, 4, 3, 2, 1, 4, true},  // depthwise stride 2
      {1, 2, 12, 12, 2, 5, 1, 0, 2, true}, // depthwise 5×5 (MNIST dwsep)
      {2, 4, 5, 3, 6, 1, 1, 0, 1, true},   // pointwise 1×1
      {2, 4, 6, 5, 6, 3, 1, 1, 2, true},   // grouped, 2 groups
      {2, 1, 8, 8, 1, 5, 1, 0, 1, true},   // 1→1 5×5 (the dw model's first layer)
      {2, 1, 9, 8, 3, 5, 1, 0, 1, true},   // 1→3 5×5: depthwise with multiplier (cnn's first layer)
      {2, 2, 7, 6, 6, 3, 2, 1, 2, false},  // groups = C_in = 2, multiplier 3, stride 2
      {2, 1, 6, 5, 6, 1, 1, 0, 1, true},   // 1→6 1×1 (MNIST dwsep): pointwise, not replicated
      {2, 1, 5, 4, 1, 1, 1, 0, 1, false},  // 1→1 1×1
  };
  Rng rng(1);
  for (const auto& c : cases) {
    INFO("n=" << c.n << " c=" << c.c << " " << c.h << "x" << c.w << " out=" << c.out << " k=" << c.k
              << " s=" << c.stride << " p=" << c.pad << " g=" << c.groups);
    Tensor x = leaf(random_tensor({c.n, c.c, c.h, c.w}, rng));
    Tensor w = leaf(random_tensor({c.out, c.c / c.groups, c.k, c.k}, rng));
    Tensor b = c.bias ? leaf(random_tensor({c.out}, rng)) : Tensor();
    std::vector<Tensor> inputs{x, w};
    if (c.bias) inputs.push_back(b);
    auto f = [&](const std::vector<Tensor>& in) {
      return ops::conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), c.stride, c.pad, c.groups);
    };
    auto r = gradcheck(f, inputs);
    INFO("worst input " << r.worst_input << " error " << r.max_error);
    CHECK(r.max_error < kGradTolerance);
  }
}

TEST_CASE("conv2d rejects wrong shapes clearly", "[conv2d]") {
  Tensor x = Tensor::zeros({1, 3, 8, 8});
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({4, 2, 3, 3}), Tensor()), Catch::Contains("does not fit input"));
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({4, 3, 9, 9}), Tensor()), Catch::Contains("larger than padded input"));
  CHECK_THROWS_WITH(ops::conv2d(x, Tensor::zeros({4, 3, 3, 3}), Tensor::zeros({3})), Catch::Contains("bias"));
  CHECK_THROWS_WITH(ops::conv2d(Tensor::zeros({3, 8, 8}), Tensor::zeros({4, 3, 3, 3}), Tensor()), Catch::Contains("4-D"));
}

TEST_CASE("linear forward and backward", "[linear][grad]") {
  Tensor x = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor w = Tensor::from_vector({2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f});
  Tensor b = Tensor::from_vector({2}, {1, -1});
  CHECK(ops::linear(x, w, b).to_vector() == std::vector<float>{-1, 2, -1, 6.5f});

  Rng rng(2);
  for (bool bias : {true, false}) {
    Tensor xi = leaf(random_tensor({5, 7}, rng)), wi = leaf(random_tensor({3, 7}, rng));
    Tensor bi = bias ? leaf(random_tensor({3}, rng)) : Tensor();
    const std::vector<Tensor> inputs = bias ? std::vector<Tensor>{xi, wi, bi} : std::vector<Tensor>{xi, wi};
    auto r = gradcheck([](const std::vector<Tensor>& in) { return ops::linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor()); }, inputs);
    CHECK(r.max_error < kGradTolerance);
  }
  CHECK_THROWS_WITH(ops::linear(Tensor::zeros({2, 4}), Tensor::zeros({3, 5}), Tensor()), Catch::Contains("does not match"));
}

TEST_CASE("batch_norm2d forward in train and eval mode", "[batchnorm]") {
  // One channel, values 1..4: mean 2.5, biased var 1.25.
  Tensor x = Tensor::from_vector({2, 1, 1, 2}, {1, 2, 3, 4});
  Tensor gamma = Tensor::from_vector({1}, {2.0f}), beta = Tensor::from_vector({1}, {0.5f});
  Tensor rm = Tensor::zeros({1}), rv = Tensor::full({1}, 1.0f);
  Tensor y = ops::batch_norm2d(x, gamma, beta, rm, rv, true, 0.1f, 1e-5f);
  const float is = 1.0f / std::sqrt(1.25f + 1e-5f);
  auto v = y.to_vector();
  for (int i = 0; i < 4; ++i) CHECK(v[i] == Approx(2.0f * (i + 1 - 2.5f) * is + 0.5f).epsilon(1e-5));
  CHECK(rm.item() == Approx(0.25f));                               // 0.9·0 + 0.1·2.5
  CHECK(rv.item() == Approx(0.9f + 0.1f * 1.25f * 4.0f / 3.0f));  // unbiased batch variance

  Tensor ye = ops::batch_norm2d(x, gamma, beta, rm, rv, false);
  const float eval_is = 1.0f / std::sqrt(rv.item() + 1e-5f);
  auto ve = ye.to_vector();
  for (int i = 0; i < 4; ++i) CHECK(ve[i] == Approx(2.0f * (i + 1 - rm.item()) * eval_is + 0.5f).epsilon(1e-5));
}

TEST_CASE("batch_norm2d backward matches finite differences", "[batchnorm][grad]") {
  Rng rng(3);
  for (bool training : {true, false}) {
    for (Shape shape : {Shape{3, 4, 5, 3}, Shape{2, 3, 1, 1}, Shape{6, 5}}) {
      INFO("training=" << training << " shape " << shape_to_string(shape));
      const int c = static_cast<int>(shape[1]);
      Tensor x = leaf(random_tensor(shape, rng, -2.0f, 3.0f));
      Tensor gamma = leaf(random_tensor({c}, rng, 0.5f, 1.5f)), beta = leaf(random_tensor({c}, rng));
      Tensor rm = random_tensor({c}, rng), rv = random_tensor({c}, rng, 0.5f, 2.0f);
      auto f = [&](const std::vector<Tensor>& in) {
        return ops::batch_norm2d(in[0], in[1], in[2], rm, rv, training);
      };
      auto r = gradcheck(f, {x, gamma, beta});
      INFO("worst input " << r.worst_input << " error " << r.max_error);
      CHECK(r.max_error < kGradTolerance);
    }
  }
}

TEST_CASE("fused batch_norm2d+relu equals batch_norm2d then relu, and passes finite differences",
          "[batchnorm][relu][grad]") {
  Rng rng(5);
  for (bool training : {true, false}) {
    INFO("training=" << training);
    const Shape shape{3, 4, 5, 3};
    Tensor x = leaf(random_tensor(shape, rng, -2.0f, 3.0f));
    Tensor gamma = leaf(random_tensor({4}, rng, 0.5f, 1.5f)), beta = leaf(random_tensor({4}, rng));
    Tensor rm = random_tensor({4}, rng), rv = random_tensor({4}, rng, 0.5f, 2.0f);
    Tensor rm2 = rm.detach().clone(), rv2 = rv.detach().clone();
    Tensor fused = ops::batch_norm2d(x, gamma, beta, rm, rv, training, 0.1f, 1e-5f, true);
    Tensor plain = ops::relu(ops::batch_norm2d(x, gamma, beta, rm2, rv2, training, 0.1f, 1e-5f));
    const auto a = fused.to_vector(), b = plain.to_vector();
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == Approx(b[i]).margin(1e-6));
    CHECK(rm.to_vector() == rm2.to_vector());
    auto f = [&](const std::vector<Tensor>& in) {
      return ops::batch_norm2d(in[0], in[1], in[2], rm, rv, training, 0.0f, 1e-5f, true);
    };
    auto r = gradcheck(f, {x, gamma, beta});
    INFO("worst input " << r.worst_input << " error " << r.max_error);
    CHECK(r.max_error < kGradTolerance);
  }
}

TEST_CASE("relu forward and backward", "[relu][grad]") {
  CHECK(ops::relu(Tensor::from_vector({4}, {-1, 0, 2, -3})).to_vector() == std::vector<float>{0, 0, 2, 0});
  Rng rng(4);
  Tensor x = leaf(sepnet::testing::random_away_from_zero({3, 17}, rng));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return ops::relu(in[0]); }, {x}).max_error < kGradTolerance);
}

TEST_CASE("max_pool2d forward and backward", "[pool][grad]") {
  Tensor x = Tensor::from_vector({1, 1, 4, 4}, {1, 5, 2, 0, 3, 4, 8, 1, 0, 9, 2, 2, 7, 1, 3, 6});
  Tensor y = ops::max_pool2d(x, 2, 2);
  CHECK(y.to_vector() == std::vector<float>{5, 8, 9, 6});
  // Overlapping 3×3 stride 2 windows and odd sizes; distinct values so no ties.
  Rng rng(5);
  for (auto [k, s, h, w] : {std::tuple{2, 2, 6, 8}, std::tuple{3, 2, 7, 9}, std::tuple{2, 2, 5, 5}}) {
    Tensor xi = Tensor::empty({2, 3, h, w});
    std::vector<int32_t> order(static_cast<size_t>(xi.numel()));
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    rng.shuffle(order);
    for (size_t i = 0; i < order.size(); ++i) xi.data()[i] = 0.1f * static_cast<float>(order[i]);
    leaf(xi);
    auto r = gradcheck([k = k, s = s](const std::vector<Tensor>& in) { return ops::max_pool2d(in[0], k, s); }, {xi});
    CHECK(r.max_error < kGradTolerance);
  }
}

TEST_CASE("reshape and flatten share storage and pass gradients", "[shape][grad]") {
  Tensor x = Tensor::from_vector({2, 3, 2}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
  Tensor f = ops::flatten(x);
  CHECK(f.shape() == Shape{2, 6});
  CHECK(f.data() == x.data());
  CHECK(ops::reshape(x, {-1, 4}).shape() == Shape{3, 4});
  CHECK_THROWS_WITH(ops::reshape(x, {5, -1}), Catch::Contains("cannot infer"));
  Rng rng(6);
  Tensor xi = leaf(random_tensor({2, 3, 4}, rng));
  CHECK(gradcheck([](const std::vector<Tensor>& in) { return ops::mul(ops::flatten(in[0]), ops::flatten(in[0])); }, {xi})
            .max_error < kGradTolerance);
}

TEST_CASE("softmax, log_softmax, nll_loss and cross_entropy", "[loss][grad]") {
  Tensor logits = Tensor::from_vector({2, 3}, {1, 2, 3, 1000, 1000, 1000});
  auto sm = ops::softmax(logits).to_vector();
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  CHECK(sm[0] == Approx(std::exp(1.0) / z));
  CHECK(sm[4] == Approx(1.0 / 3.0));  // large logits do not overflow
  // Cross-entropy of row 0 at label 2 and row 1 at label 0: mean of −log p.
  Tensor loss = ops::cross_entropy(logits, {2, 0});
  CHECK(loss.item() == Approx((-(3.0 - std::log(z)) + std::log(3.0)) / 2.0).epsilon(1e-4));
  CHECK_THROWS_WITH(ops::cross_entropy(logits, {2, 3}), Catch::Contains("label 3"));
  CHECK_THROWS_WITH(ops::cross_entropy(logits, {2}), Catch::Contains("1 labels for 2 rows"));

  Rng rng(7);
  Tensor x = leaf(random_tensor({4, 5}, rng, -3.0f, 3.0f));
  std::vector<int32_t> labels{0, 4, 2, 2};
  for (auto f : std::vector<sepnet::testing::OpFn>{
           [](const std::vector<Tensor>& in) { return ops::softmax(in[0]); },
           [](const std::vector<Tensor>& in) { return ops::log_softmax(in[0]); },
           [&](const std::vector<Tensor>& in) { return ops::cross_entropy(in[0], labels); },
           // The seed recipe's loss: cross-entropy applied to softmax outputs.
           [&](const std::vector<Tensor>& in) { return ops::cross_entropy(ops::softmax(in[0]), labels); },
       })
    CHECK(gradcheck(f, {x}).max_error < kGradTolerance);
}

TEST_CASE("arithmetic ops backward", "[arith][grad]") {
  Rng rng(8);
  Tensor a = leaf(random_tensor({3, 4}, rng)), b = leaf(random_tensor({3, 4}, rng));
  auto f = [](const std::vector<Tensor>& in) {
    return ops::add(ops::mul(in[0], in[1]), ops::scale(in[0], -2.0f));
  };
  CHECK(gradcheck(f, {a, b}).max_error < kGradTolerance);
  CHECK(ops::mean(Tensor::from_vector({4}, {1, 2, 3, 6})).item() == Approx(3.0));
}

TEST_CASE("gradcheck itself catches a wrong backward", "[grad]") {
  // A deliberately wrong op (backward with the wrong sign) must fail the tolerance.
  Rng rng(9);
  Tensor x = leaf(random_tensor({6}, rng));
  auto wrong = [](const std::vector<Tensor>& in) {
    auto xi = in[0].impl_ptr();
    Tensor y = make_result(in[0].shape(), {in[0]}, [xi](TensorImpl& self) {
      for (int64_t i = 0; i < self.numel(); ++i) xi->grad_data()[i] -= self.grad->data()[i];
    });
    for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = in[0].data()[i];
    return y;
  };
  CHECK(gradcheck(wrong, {x}).max_error > 1.0);
}
