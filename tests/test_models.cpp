// The write-up's models: names, hand-counted parameters and MACs, shapes; MobileNet v1.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/models/mobilenet_v1.h"
#include "sepnet/models/seed_models.h"

using namespace sepnet;

namespace {
std::vector<std::string> keys(const nn::Module& m) {
  std::vector<std::string> out;
  for (auto& [name, t] : m.state_dict()) out.push_back(name);
  return out;
}
}  // namespace

TEST_CASE("seed models have PyTorch's state_dict names", "[models]") {
  Rng rng(1);
  const std::vector<std::string> cnn_bn{
      "conv_module.0.weight", "conv_module.0.bias", "conv_module.2.weight", "conv_module.2.bias",
      "conv_module.2.running_mean", "conv_module.2.running_var", "conv_module.4.weight", "conv_module.4.bias",
      "conv_module.6.weight", "conv_module.6.bias", "conv_module.6.running_mean", "conv_module.6.running_var",
      "fc_module.0.weight", "fc_module.0.bias", "fc_module.2.weight", "fc_module.2.bias", "fc_module.4.weight",
      "fc_module.4.bias"};
  CHECK(keys(models::SeedNet("cnn", true, rng)) == cnn_bn);
  // dw as written: conv, conv, ReLU, BN, pool, conv, conv, ReLU, BN, pool.
  auto dw = keys(models::SeedNet("dw", true, rng));
  CHECK(dw[2] == "conv_module.1.weight");
  CHECK(dw[4] == "conv_module.3.weight");
  CHECK(dw[8] == "conv_module.5.weight");
  CHECK(dw[10] == "conv_module.6.weight");
  CHECK(dw[12] == "conv_module.8.weight");
  // Without BN the positions shift as they would in PyTorch.
  auto dw_nobn = keys(models::SeedNet("dw", false, rng));
  CHECK(dw_nobn[4] == "conv_module.4.weight");
  CHECK(dw_nobn[6] == "conv_module.5.weight");
  CHECK_THROWS_WITH(models::SeedNet("lenet", true, rng), Catch::Contains("unknown model 'lenet'"));
}

TEST_CASE("parameter and MAC totals equal the hand counts", "[models]") {
  Rng rng(1);
  struct Expected {
    const char* name;
    bool bn;
    int64_t params, macs;
  };
  // cnn: conv 6·25+6, BN 12, conv 16·150+16, BN 32, FC 256·120+120 + 120·84+84 + 84·10+10.
  // MACs: 6·24²·25 + 16·8²·150 + 256·120 + 120·84 + 84·10.
  // dw: conv 25+1, 1×1 6+6, BN 12, conv 6·150+6, 1×1 16·6+16, BN 32, same FC;
  // MACs 24²·25 + 6·24² + 6·8²·150 + 16·8²·6 + FC. dwsep: second 5×5 is 6·25+6, 6·8²·25 MACs.
  const Expected cases[] = {
      {"cnn", true, 44470, 281640}, {"cnn", false, 44426, 281640}, {"dw", true, 42954, 123240},
      {"dw", false, 42910, 123240}, {"dwsep", true, 42204, 75240},
  };
  for (const auto& e : cases) {
    INFO(e.name << (e.bn ? "+BN" : ""));
    models::SeedNet net(e.name, e.bn, rng);
    CHECK(net.parameter_count() == e.params);
    CHECK(net.macs({1, 1, 28, 28}) == e.macs);
    CHECK(net.output_shape({5, 1, 28, 28}) == Shape{5, 10});
  }
}

TEST_CASE("seed models run forward and backward on a batch", "[models]") {
  Rng rng(2);
  for (const auto& name : models::seed_architectures()) {
    models::SeedNet net(name, true, rng);
    Tensor x = Tensor::full({3, 1, 28, 28}, 0.1f);
    for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(-1, 1);
    Tensor logits = net.forward(x);
    REQUIRE(logits.shape() == Shape{3, 10});
    ops::cross_entropy(logits, {1, 2, 3}).backward();
    for (auto& [pname, p] : net.named_parameters()) {
      INFO(name << " " << pname);
      REQUIRE(p.grad().defined());
    }
  }
}

TEST_CASE("MobileNet v1 follows the paper's table", "[models][mobilenet]") {
  Rng rng(3);
  models::MobileNetV1 full({1.0f, 1.0f}, rng);
  // Paper, Table 1/8: 1.0 MobileNet-224 has 4.2M parameters and 569M mult-adds.
  CHECK(full.parameter_count() == Approx(4.23e6).epsilon(0.01));
  CHECK(full.macs({1, 3, 224, 224}) == Approx(569e6).epsilon(0.01));
  // 0.5 MobileNet-160: 1.32M parameters, 76M mult-adds.
  models::MobileNetV1 small({0.5f, 160.0f / 224.0f}, rng);
  CHECK(small.options().input_size() == 160);
  CHECK(small.parameter_count() == Approx(1.32e6).epsilon(0.01));
  CHECK(small.macs({1, 3, 160, 160}) == Approx(76e6).epsilon(0.02));
  // A tiny one runs forward and backward end to end.
  models::MobileNetV1 tiny({0.25f, 32.0f / 224.0f, 10}, rng);
  Tensor x = Tensor::empty({2, 3, 32, 32});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(-1, 1);
  Tensor logits = tiny.forward(x);
  REQUIRE(logits.shape() == Shape{2, 10});
  ops::cross_entropy(logits, {3, 7}).backward();
  CHECK(tiny.named_parameters().front().second.grad().defined());
}

TEST_CASE("Sequential fuses BatchNorm2d + ReLU with the same values and gradients", "[models][batchnorm]") {
  Rng rng(6);
  auto bn_a = std::make_shared<nn::BatchNorm2d>(3), bn_b = std::make_shared<nn::BatchNorm2d>(3);
  for (int c = 0; c < 3; ++c) {
    bn_a->weight.data()[c] = bn_b->weight.data()[c] = rng.uniform(0.5f, 1.5f);
    bn_a->bias.data()[c] = bn_b->bias.data()[c] = rng.uniform(-0.5f, 0.5f);
  }
  nn::Sequential fused{bn_a, std::make_shared<nn::ReLU>()};  // fused by Sequential
  Tensor x = Tensor::zeros({2, 3, 4, 5});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(-2, 2);
  Tensor xa = x.clone(), xb = x.clone();
  xa.set_requires_grad(true);
  xb.set_requires_grad(true);
  Tensor ya = fused.forward(xa);
  Tensor yb = ops::relu(bn_b->forward(xb));  // the two ops, unfused
  const auto va = ya.to_vector(), vb = yb.to_vector();
  for (size_t i = 0; i < va.size(); ++i) REQUIRE(va[i] == Approx(vb[i]).margin(1e-6));
  Tensor w = Tensor::zeros(ya.shape());
  for (int64_t i = 0; i < w.numel(); ++i) w.data()[i] = rng.uniform(-1, 1);
  ops::sum(ops::mul(ya, w)).backward();
  ops::sum(ops::mul(yb, w)).backward();
  const auto ga = xa.grad().to_vector(), gb = xb.grad().to_vector();
  for (size_t i = 0; i < ga.size(); ++i) REQUIRE(ga[i] == Approx(gb[i]).margin(1e-5));
  for (int c = 0; c < 3; ++c) {
    CHECK(bn_a->weight.grad().data()[c] == Approx(bn_b->weight.grad().data()[c]).margin(1e-5));
    CHECK(bn_a->bias.grad().data()[c] == Approx(bn_b->bias.grad().data()[c]).margin(1e-5));
  }
}

TEST_CASE("MobileNet channels-last equals channels-first: logits, statistics, gradients, names",
          "[models][mobilenet][nhwc]") {
  // Same seed, so both layouts draw the same weights; α 0.75 gives 24-, 48-, 96-channel layers
  // (masked channel tails at 16 lanes), 64×64 input planes down to 2×2.
  models::MobileNetOptions o{0.75f, 64.0f / 224.0f, 10};
  o.channels_last = false;
  Rng rng_a(5), rng_b(5), data(6);
  models::MobileNetV1 nchw(o, rng_a);
  o.channels_last = true;
  models::MobileNetV1 nhwc(o, rng_b);
  CHECK(keys(nchw) == keys(nhwc));
  CHECK(nchw.macs({1, 3, 64, 64}) == nhwc.macs({1, 3, 64, 64}));
  Tensor x = Tensor::empty({3, 3, 64, 64});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = data.uniform(-1, 1);
  const std::vector<int32_t> labels{1, 4, 9};
  auto close = [](const std::vector<float>& a, const std::vector<float>& b, double rel) {
    REQUIRE(a.size() == b.size());
    double scale = 1e-6;
    for (float v : a) scale = std::max(scale, static_cast<double>(std::fabs(v)));
    for (size_t i = 0; i < a.size(); ++i) REQUIRE(b[i] == Approx(a[i]).margin(rel * scale));
  };
  // Training mode: batch statistics, running statistics updated the same way.
  close(nchw.forward(x).to_vector(), nhwc.forward(x).to_vector(), 1e-4);
  const auto sa = nchw.state_dict(), sb = nhwc.state_dict();
  for (size_t i = 0; i < sa.size(); ++i) {
    INFO(sa[i].first);
    close(sa[i].second.to_vector(), sb[i].second.to_vector(), 1e-4);
  }
  // Gradients compared in eval mode: with batch statistics over 3 images of 2×2 planes the
  // backward amplifies rounding chaotically (the NCHW model against itself on the scalar path
  // differs by up to 3 % in early layers), while eval-mode BN is a fixed affine map.
  nchw.eval();
  nhwc.eval();
  Tensor la = nchw.forward(x), lb = nhwc.forward(x);
  close(la.to_vector(), lb.to_vector(), 1e-4);
  ops::cross_entropy(la, labels).backward();
  ops::cross_entropy(lb, labels).backward();
  const auto pa = nchw.named_parameters(), pb = nhwc.named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t p = 0; p < pa.size(); ++p) {
    INFO(pa[p].first);
    close(pa[p].second.grad().to_vector(), pb[p].second.grad().to_vector(), 1e-3);
  }
}
