// Optimizer updates against values computed by hand from PyTorch's update rules.
#include <catch2/catch.hpp>
#include <cmath>

#include "sepnet/core/optim/optimizer.h"

using namespace sepnet;

namespace {
void set_grad(Tensor& p, std::vector<float> g) {
  float* d = p.impl()->grad_data();
  for (size_t i = 0; i < g.size(); ++i) d[i] = g[i];
}
}  // namespace

TEST_CASE("SGD with momentum and weight decay", "[optim]") {
  Tensor p = Tensor::from_vector({2}, {1.0f, -2.0f}).set_requires_grad(true);
  optim::Sgd sgd({p}, {.lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f});
  // step 1: d = g + 0.01p = [0.51, -0.52]; buf = d; p -= 0.1·buf
  set_grad(p, {0.5f, -0.5f});
  sgd.step();
  CHECK(p.data()[0] == Approx(1.0f - 0.051f));
  CHECK(p.data()[1] == Approx(-2.0f + 0.052f));
  // step 2: d = g + 0.01p; buf = 0.9·buf + d
  const float p0 = p.data()[0];
  set_grad(p, {0.2f, 0.0f});
  sgd.step();
  const float d0 = 0.2f + 0.01f * p0, buf0 = 0.9f * 0.51f + d0;
  CHECK(p.data()[0] == Approx(p0 - 0.1f * buf0));
  CHECK(sgd.step_count() == 2);
}

TEST_CASE("plain SGD is p -= lr·g", "[optim]") {
  Tensor p = Tensor::from_vector({1}, {3.0f}).set_requires_grad(true);
  optim::Sgd sgd({p}, {.lr = 0.5f});
  set_grad(p, {2.0f});
  sgd.step();
  CHECK(p.item() == Approx(2.0f));
}

TEST_CASE("Adam matches its bias-corrected update", "[optim]") {
  Tensor p = Tensor::from_vector({2}, {1.0f, 1.0f}).set_requires_grad(true);
  optim::Adam adam({p}, {.lr = 0.1f});
  // Step 1: m̂ = g, v̂ = g², so the update is lr·g/(|g| + eps) = ±lr for any g.
  set_grad(p, {0.3f, -4.0f});
  adam.step();
  CHECK(p.data()[0] == Approx(0.9f).epsilon(1e-5));
  CHECK(p.data()[1] == Approx(1.1f).epsilon(1e-5));
  // Step 2 by hand.
  set_grad(p, {0.1f, 0.0f});
  adam.step();
  const double m = 0.9 * 0.1 * 0.3 + 0.1 * 0.1, v = 0.999 * 0.001 * 0.09 + 0.001 * 0.01;
  const double mhat = m / (1 - 0.81), vhat = v / (1 - 0.999 * 0.999);
  CHECK(p.data()[0] == Approx(0.9 - 0.1 * mhat / (std::sqrt(vhat) + 1e-8)).epsilon(1e-5));
}

TEST_CASE("zero_grad clears every parameter", "[optim]") {
  Tensor p = Tensor::from_vector({2}, {1, 2}).set_requires_grad(true);
  set_grad(p, {5, 6});
  optim::Sgd sgd({p}, {});
  sgd.zero_grad();
  CHECK(p.grad().to_vector() == std::vector<float>{0, 0});
}
