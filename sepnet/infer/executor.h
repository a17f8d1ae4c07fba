// Runs an inference graph (graph.h) without autograd: the graph is optimized once (passes.h:
// BatchNorm folded into the conv before it, ReLU/ReLU6 fused into the producing kernel,
// channels-last for depthwise-separable chains) and every activation gets a place in a few
// arenas planned ahead, so a forward pass allocates nothing after the first call for a batch size.
#pragma once
#include <cstddef>
#include <string>

#include "sepnet/infer/graph.h"

namespace sepnet::infer {

struct ExecutorOptions {
  bool fold_batch_norm = true;
  bool fuse_activations = true;
  bool channels_last = true;   // run conv chains NHWC where the kernels are faster that way
};

class Executor {
 public:
  // Validates and optimizes `graph`; throws std::invalid_argument naming the first node it
  // cannot run. Constants the passes do not replace stay shared with whoever else holds them
  // (a lowered model's weights): keep those alive and unchanged while the executor runs.
  explicit Executor(Graph graph, ExecutorOptions options = {});
  // Input [N, ...] in the graph input's shape (NCHW for images); returns the graph output.
  Tensor run(const Tensor& input);
  const Graph& graph() const { return graph_; }   // the optimized graph
  std::string summary() const;                    // nodes after the passes, arena sizes
  size_t arena_bytes() const;                     // for the last batch size run

 private:
  Graph graph_;
  ExecutorOptions options_;
  struct Plan;
  std::shared_ptr<Plan> plan_;
};

// The graph evaluated op by op with plain loops and no passes: the reference the executor and
// the ONNX importer are tested against.
Tensor run_reference(const Graph& graph, const Tensor& input);

}  // namespace sepnet::infer
