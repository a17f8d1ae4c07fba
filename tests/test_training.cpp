// End to end on small generated data: a small conv net must fit a separable task.
#include <catch2/catch.hpp>

#include "sepnet/core/autograd.h"
#include "sepnet/core/nn/layers.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/optim/optimizer.h"

using namespace sepnet;

namespace {
// 3 classes of 10×10 images: a bright vertical bar, a horizontal bar, or a diagonal, each at a
// random position with noise. Only convolutional features separate them.
void make_batch(Rng& rng, int n, Tensor& x, std::vector<int32_t>& labels) {
  x = Tensor::empty({n, 1, 10, 10});
  labels.resize(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    float* img = x.data() + i * 100;
    for (int j = 0; j < 100; ++j) img[j] = rng.uniform(0.0f, 0.3f);
    const int cls = static_cast<int>(rng.below(3)), pos = 2 + static_cast<int>(rng.below(6));
    for (int t = 0; t < 10; ++t) {
      if (cls == 0) img[t * 10 + pos] = 1.0f;
      if (cls == 1) img[pos * 10 + t] = 1.0f;
      if (cls == 2) img[t * 10 + t] = 1.0f;
    }
    labels[static_cast<size_t>(i)] = cls;
  }
}

float train_and_measure(bool depthwise_separable) {
  Rng rng(42);
  nn::Sequential net;
  if (depthwise_separable) {
    net.add(std::make_shared<nn::Conv2d>(nn::Conv2dOptions{1, 4, 1}, rng));
    net.add(std::make_shared<nn::Conv2d>(nn::Conv2dOptions{4, 4, 3, 1, 0, 4}, rng));
  } else {
    net.add(std::make_shared<nn::Conv2d>(nn::Conv2dOptions{1, 4, 3}, rng));
  }
  net.add(std::make_shared<nn::ReLU>());
  net.add(std::make_shared<nn::BatchNorm2d>(4));
  net.add(std::make_shared<nn::MaxPool2d>(2));
  net.add(std::make_shared<nn::Flatten>());
  net.add(std::make_shared<nn::Linear>(4 * 4 * 4, 3, rng));
  optim::Adam adam(net.parameters(), {.lr = 0.02f});
  Tensor x;
  std::vector<int32_t> labels;
  float first_loss = 0;
  for (int step = 0; step < 150; ++step) {
    make_batch(rng, 32, x, labels);
    adam.zero_grad();
    Tensor loss = ops::cross_entropy(net.forward(x), labels);
    if (step == 0) first_loss = loss.item();
    loss.backward();
    adam.step();
  }
  CHECK(first_loss > 0.8f);  // started near chance (ln 3 ≈ 1.1)
  // Training error on a fresh batch, in eval mode (running BN statistics).
  net.eval();
  NoGradGuard no_grad;
  make_batch(rng, 300, x, labels);
  Tensor logits = net.forward(x);
  int wrong = 0;
  for (int i = 0; i < 300; ++i) {
    const float* row = logits.data() + i * 3;
    int best = 0;
    for (int k = 1; k < 3; ++k)
      if (row[k] > row[best]) best = k;
    wrong += best != labels[static_cast<size_t>(i)];
  }
  return static_cast<float>(wrong) / 300.0f;
}
}  // namespace

TEST_CASE("a small conv net fits a separable task", "[training]") {
  CHECK(train_and_measure(false) < 0.03f);
}

TEST_CASE("a small depthwise-separable net fits the same task", "[training]") {
  CHECK(train_and_measure(true) < 0.03f);
}

TEST_CASE("the same seed and thread count give bit-identical training", "[training][determinism]") {
  auto run = [](uint64_t seed) {
    Rng rng(seed);
    nn::Sequential net{std::make_shared<nn::Conv2d>(nn::Conv2dOptions{1, 4, 3}, rng), std::make_shared<nn::ReLU>(),
                       std::make_shared<nn::BatchNorm2d>(4), std::make_shared<nn::MaxPool2d>(2),
                       std::make_shared<nn::Flatten>(), std::make_shared<nn::Linear>(64, 3, rng)};
    optim::Sgd sgd(net.parameters(), {.lr = 0.05f, .momentum = 0.9f});
    Tensor x;
    std::vector<int32_t> labels;
    std::vector<float> losses;
    for (int step = 0; step < 20; ++step) {
      make_batch(rng, 16, x, labels);
      sgd.zero_grad();
      Tensor loss = ops::cross_entropy(net.forward(x), labels);
      losses.push_back(loss.item());
      loss.backward();
      sgd.step();
    }
    return losses;
  };
  CHECK(run(5) == run(5));
  CHECK(run(5) != run(6));
}
