// Whole-model speed: images/s of inference (eval mode, no graph) or of a training step
// (forward, cross-entropy, backward, SGD step) for one model at one batch size, on random
// inputs. Used by `sepnet throughput` and scripts/bench_mobilenet.py (against PyTorch).
#pragma once
#include <functional>
#include <string>

#include "sepnet/models/registry.h"

namespace sepnet::bench {

struct ThroughputOptions {
  models::ModelSpec model{.name = "mobilenet"};  // any registered model, resolved to its defaults
  int batch = 1;
  bool train = false;               // training step instead of inference
  // Inference engine: "autograd" (the model's eval forward under NoGradGuard) or "graph" (the
  // model lowered to an inference graph, run by infer::Executor: folded BN, fused activations,
  // planned arenas; docs/inference.md).
  std::string engine = "autograd";
  double seconds = 2.0;             // timed time, after warm-up
  int warmup = 3;                   // untimed batches first
};

struct ThroughputResult {
  std::string model;         // describe() of the network
  int input_size = 0;        // side of the square input
  long long macs_per_image = 0;
  int batches = 0;           // timed batches
  double median_ms = 0;      // per batch
  double images_per_second = 0;  // batch / median batch time
};

// The network (random weights), a random batch and its labels, bound into one callable that
// runs an inference or a training step; `seconds`/`warmup` are not used. Shared by
// measure_throughput and bench/bench_train_step.
struct ModelStep {
  std::function<void()> run;
  std::string model;  // describe() of the network
  int input_size = 0;
  long long macs_per_image = 0;
};
// Throws std::invalid_argument for an unknown engine, or "graph" with train.
ModelStep make_model_step(const ThroughputOptions& options);

ThroughputResult measure_throughput(const ThroughputOptions& options);

}  // namespace sepnet::bench
