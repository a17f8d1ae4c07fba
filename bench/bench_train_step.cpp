// One MNIST training step (forward, loss, backward, optimizer step) of the seed models at
// batch 64 on random images: the number the 2×-PyTorch target is about, without data loading
// or evaluation, so kernel changes can be compared with repetitions and medians.
// Names: train_step/<model>/batch:<B>/threads:<T>; counter `images_per_second`.
// (scripts/bench_training.py measures whole epochs against PyTorch in the same run.)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>
#include <vector>

#include "core/optim/optimizer.h"
#include "core/random.h"
#include "core/train/trainer.h"
#include "kernels/parallel.h"
#include "models/seed_models.h"

namespace {

void train_step(benchmark::State& state, const std::string& architecture, int batch, int threads) {
  sepnet::kernels::set_num_threads(threads);
  sepnet::Rng rng(7);
  sepnet::models::SeedNet model(architecture, true, rng);
  model.train();
  auto optimizer = sepnet::train::make_optimizer("sgd", model.parameters(), 0.01f, 0.9f, 0.0f);
  std::vector<float> pixels(static_cast<size_t>(batch) * 28 * 28);
  for (auto& v : pixels) v = rng.normal();
  const sepnet::Tensor x = sepnet::Tensor::from_vector({batch, 1, 28, 28}, pixels);
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.below(10));
  for (auto _ : state) {
    optimizer->zero_grad();
    sepnet::Tensor loss = sepnet::train::classification_loss("ce", model.forward(x), labels);
    loss.backward();
    optimizer->step();
    benchmark::DoNotOptimize(loss.data());
  }
  state.counters["images_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * batch, benchmark::Counter::kIsRate);
}

const bool registered = [] {
  for (const char* model : {"cnn", "dw", "dwsep"})
    for (int threads : {1, 2}) {
      const std::string name = std::string("train_step/") + model + "/batch:64/threads:" + std::to_string(threads);
      benchmark::RegisterBenchmark(name.c_str(), [model, threads](benchmark::State& s) { train_step(s, model, 64, threads); })
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
    }
  return true;
}();

}  // namespace

BENCHMARK_MAIN();
