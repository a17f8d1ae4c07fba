// Lowering sepnet's nn layers into an inference graph (graph.h). The graph always has ONNX's
// NCHW semantics: a Conv2d's ConvLayout only decides how autograd lays out activations, its
// weights are the same in every layout, so an NHWC network lowers to the same graph as its
// NCHW twin (the executor picks its own layouts). Constants alias the module's tensors (no copy):
// the graph sees later weight updates until a pass replaces them.
#pragma once
#include <string>

#include "sepnet/core/nn/module.h"
#include "sepnet/infer/graph.h"

namespace sepnet::infer {

// Appends `module` applied to value `x` to `graph` and returns its output value id. Sequential,
// Conv2d, BatchNorm2d (eval form: running statistics), ReLU, MaxPool2d, GlobalAvgPool (as
// GlobalAveragePool + Flatten), Flatten and Linear (as Gemm with trans_b) are known; any other
// module throws std::invalid_argument naming it. Node and constant names are the module's
// state_dict names under `prefix` ("features.0", "features.0.weight").
int lower_module(Graph& graph, const nn::Module& module, int x, const std::string& prefix);

}  // namespace sepnet::infer
