#include "sepnet/train/model_throughput.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

#include "sepnet/core/autograd.h"
#include "sepnet/core/data/dataset.h"
#include "sepnet/core/optim/optimizer.h"
#include "sepnet/core/random.h"
#include "sepnet/infer/executor.h"
#include "sepnet/train/trainer.h"

namespace sepnet::bench {

ModelStep make_model_step(const ThroughputOptions& o) {
  if (o.batch < 1) throw std::invalid_argument("throughput: batch must be >= 1");
  if (o.engine != "autograd" && o.engine != "graph")
    throw std::invalid_argument("throughput: engine must be 'autograd' or 'graph', not '" + o.engine + "'");
  if (o.train && o.engine == "graph") throw std::invalid_argument("throughput: the graph engine only runs inference");
  Rng rng(1);
  const models::ModelSpec spec = models::resolve_spec(o.model);
  std::shared_ptr<nn::Module> net = models::build_model(spec, rng);
  const int channels = spec.in_channels, side = spec.image_size, classes = spec.num_classes;
  std::vector<float> pixels(static_cast<size_t>(o.batch) * channels * side * side);
  for (auto& v : pixels) v = rng.normal();
  const Tensor x = Tensor::from_vector({o.batch, channels, side, side}, pixels);
  std::vector<int32_t> labels(static_cast<size_t>(o.batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes)));

  ModelStep step;
  step.model = net->describe();
  step.input_size = side;
  step.macs_per_image = net->macs({1, channels, side, side});
  if (o.train) {
    net->train();
    std::shared_ptr<optim::Optimizer> optimizer = train::make_optimizer("sgd", net->parameters(), 0.01f, 0.9f, 0.0f);
    step.run = [net, optimizer, x, labels] {
      optimizer->zero_grad();
      Tensor loss = train::classification_loss("ce", net->forward(x), labels);
      loss.backward();
      optimizer->step();
    };
  } else if (o.engine == "graph") {
    net->eval();
    // Timing only: the normalization recorded in the graph does not change its speed.
    auto executor =
        std::make_shared<infer::Executor>(models::inference_graph(*net, spec, data::kMnistMean, data::kMnistStd));
    step.run = [net, executor, x] {  // net holds the weights the graph's constants alias
      Tensor logits = executor->run(x);
      (void)logits;
    };
  } else {
    net->eval();
    step.run = [net, x] {
      NoGradGuard no_grad;
      Tensor logits = net->forward(x);
      (void)logits;
    };
  }
  return step;
}

ThroughputResult measure_throughput(const ThroughputOptions& o) {
  const ModelStep model = make_model_step(o);
  const auto& step = model.run;
  using Clock = std::chrono::steady_clock;
  for (int i = 0; i < o.warmup; ++i) step();
  std::vector<double> ms;
  const auto start = Clock::now();
  do {
    const auto t = Clock::now();
    step();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  } while (std::chrono::duration<double>(Clock::now() - start).count() < o.seconds || ms.size() < 3);
  std::nth_element(ms.begin(), ms.begin() + static_cast<long>(ms.size() / 2), ms.end());
  ThroughputResult r;
  r.model = model.model;
  r.input_size = model.input_size;
  r.macs_per_image = model.macs_per_image;
  r.batches = static_cast<int>(ms.size());
  r.median_ms = ms[ms.size() / 2];
  r.images_per_second = o.batch / (r.median_ms / 1000.0);
  return r;
}

}  // namespace sepnet::bench
