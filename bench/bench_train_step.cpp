// One MNIST training step (forward, loss, backward, optimizer step) of the seed models at
// batch 64 on random images: the number the 2×-PyTorch target is about, without data loading
// or evaluation, so kernel changes can be compared with repetitions and medians.
// Names: train_step/<model>/batch:<B>/threads:<T>; counter `images_per_second`.
// (scripts/bench_training.py measures whole epochs against PyTorch in the same run.)
#include <benchmark/benchmark.h>
#include <omp.h>

#include <string>

#include "sepnet/train/model_throughput.h"
#include "sepnet/kernels/parallel.h"

namespace {

void train_step(benchmark::State& state, const std::string& architecture, int batch, int threads) {
  sepnet::kernels::set_num_threads(threads);
  sepnet::bench::ThroughputOptions options;
  options.model = {.name = architecture};
  options.batch = batch;
  options.train = true;
  const sepnet::bench::ModelStep step = sepnet::bench::make_model_step(options);
  for (auto _ : state) step.run();
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
