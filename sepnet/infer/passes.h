// Graph rewrites the executor runs before planning. Each keeps the graph's meaning (ONNX NCHW
// semantics; run_reference gives the same result within float rounding) and returns how many
// nodes it removed.
#pragma once
#include <vector>

#include "sepnet/infer/graph.h"

namespace sepnet::infer {

// BatchNormalization after a Conv whose output nothing else reads becomes part of the conv:
// W' = W·γ/√(σ²+ε) per output channel, b' = (b − μ)·γ/√(σ²+ε) + β (new constants; the originals
// are left to whoever else holds them). A BN after anything else stays and runs on its own.
int fold_batch_norm(Graph& graph);

// Relu, and Clip (ReLU6 and any other range), after a Conv, Gemm, MatMul, Add or standalone
// BatchNormalization whose output nothing else reads becomes that node's Attributes::activation,
// applied in the producing kernel's output pass instead of another sweep over memory.
int fuse_activations(Graph& graph);

// How many nodes read each value (the graph output counts as one more reader).
std::vector<int> reader_counts(const Graph& graph);

}  // namespace sepnet::infer
