// The graph machinery: accumulation through shared subexpressions, no-grad, graph release.
#include <catch2/catch.hpp>

#include "sepnet/core/autograd.h"
#include "sepnet/core/nn/layers.h"
#include "sepnet/core/ops.h"

using namespace sepnet;

TEST_CASE("a tensor used twice accumulates both gradients", "[autograd]") {
  Tensor x = Tensor::from_vector({3}, {1, 2, 3}).set_requires_grad(true);
  // y = Σ (x·x + 3x): dy/dx = 2x + 3; x appears in three places.
  Tensor y = ops::sum(ops::add(ops::mul(x, x), ops::scale(x, 3.0f)));
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{5, 7, 9});
  // A second backward on a fresh graph accumulates into the same leaf gradient.
  ops::sum(x).backward();
  CHECK(x.grad().to_vector() == std::vector<float>{6, 8, 10});
  x.zero_grad();
  CHECK(x.grad().to_vector() == std::vector<float>{0, 0, 0});
}

TEST_CASE("a shared intermediate sends its gradient once per use", "[autograd]") {
  Tensor x = Tensor::from_vector({2}, {2, -1}).set_requires_grad(true);
  Tensor h = ops::scale(x, 2.0f);       // h = 2x
  Tensor y = ops::sum(ops::mul(h, h));  // Σ 4x²  ->  dy/dx = 8x
  y.backward();
  CHECK(x.grad().to_vector() == std::vector<float>{16, -8});
}

TEST_CASE("no-grad mode records nothing", "[autograd]") {
  Tensor x = Tensor::from_vector({2}, {1, 2}).set_requires_grad(true);
  {
    NoGradGuard guard;
    CHECK_FALSE(grad_enabled());
    Tensor y = ops::mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.impl()->inputs.empty());
    CHECK_FALSE(static_cast<bool>(y.impl()->backward_fn));
  }
  CHECK(grad_enabled());
  CHECK(ops::mul(x, x).requires_grad());
  // Tensors that don't require grad don't record either.
  Tensor c = Tensor::from_vector({2}, {1, 2});
  CHECK_FALSE(ops::mul(c, c).requires_grad());
}

TEST_CASE("backward releases the graph and its activations", "[autograd]") {
  Tensor x = Tensor::from_vector({4}, {1, 2, 3, 4}).set_requires_grad(true);
  Tensor h = ops::relu(x);
  Tensor y = ops::sum(h);
  y.backward();
  CHECK(y.impl()->inputs.empty());
  CHECK_FALSE(static_cast<bool>(h.impl()->backward_fn));
  CHECK_FALSE(h.impl()->has_grad());  // intermediate gradients are dropped
  CHECK(x.grad().defined());          // leaf gradients stay
  CHECK_THROWS_WITH(ops::sum(Tensor::zeros({2})).backward(), Catch::Contains("does not require grad"));
  CHECK_THROWS_WITH(ops::mul(x, x).backward(), Catch::Contains("one-element"));
}

TEST_CASE("repeated training steps do not grow memory", "[autograd][memory]") {
  Rng rng(1);
  nn::Sequential net{std::make_shared<nn::Conv2d>(nn::Conv2dOptions{1, 4, 3}, rng), std::make_shared<nn::ReLU>(),
                     std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::MaxPool2d>(2),
                     std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(4 * 3 * 3, 3, rng)};
  Tensor x = Tensor::full({8, 1, 8, 8}, 0.5f);
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(0, 1);
  std::vector<int32_t> labels{0, 1, 2, 0, 1, 2, 0, 1};
  std::vector<int64_t> live, system_allocations;
  for (int step = 0; step < 6; ++step) {
    Tensor loss = ops::cross_entropy(net.forward(x), labels);
    loss.backward();
    auto stats = allocator_stats();
    live.push_back(stats.live_bytes);
    system_allocations.push_back(stats.system_allocations);
  }
  // After the first step, every step reuses the same memory.
  for (size_t i = 2; i < live.size(); ++i) {
    CHECK(live[i] == live[1]);
    CHECK(system_allocations[i] == system_allocations[1]);
  }
}
