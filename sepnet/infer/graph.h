// The inference graph: a small, ONNX-shaped description of a network for running it without
// autograd. Values are tensors (the graph input, intermediate activations, or constants such as
// weights); nodes are operators reading values and writing one value. `sepnet::onnx` reads and
// writes it from and to .onnx files, the models layer lowers a trained network into it, and the
// executor (executor.h) runs it after the passes in passes.h (BatchNorm folding, activation
// fusion, channels-last, buffer planning).
//
// Shapes: dimension 0 of the graph input and of every activation is the batch, symbolic
// (kBatch) until the executor is given an input; constants have fixed shapes.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "sepnet/core/tensor.h"

namespace sepnet::infer {

constexpr int64_t kBatch = -1;  // the symbolic batch dimension in a Value's shape

// Operators, with ONNX's semantics (opset 13) for the attributes each one reads.
enum class OpKind {
  conv,                 // inputs: x, weight [M, C/group, kH, kW], optional bias [M]
  batch_norm,           // inputs: x, scale, bias, mean, var (inference form); epsilon
  relu,
  clip,                 // clip_min, clip_max (ReLU6 is clip 0..6)
  max_pool,             // kernel, stride, pads
  average_pool,         // kernel, stride, pads, count_include_pad
  global_average_pool,  // [N, C, H, W] -> [N, C, 1, 1]
  gemm,                 // inputs: a, b, optional c; alpha, beta, trans_a, trans_b
  matmul,               // inputs: a, b (b a constant 2-D matrix)
  add,                  // inputs: a, b (numpy broadcasting)
  flatten,              // axis
  reshape,              // target shape in `shape` (0 copies the input's dim, -1 is inferred)
  softmax,              // axis
  identity,
};
const char* op_name(OpKind op);  // the ONNX op_type: "Conv", "BatchNormalization", ...

// An activation applied to a node's output inside its kernel (set by fuse_activations).
enum class Activation { none, relu, clip };

struct Attributes {
  std::array<int, 2> kernel{0, 0};      // kH, kW (pools; conv takes it from the weight)
  std::array<int, 2> stride{1, 1};
  std::array<int, 2> dilation{1, 1};
  std::array<int, 4> pads{0, 0, 0, 0};  // top, left, bottom, right (ONNX order: begins, ends)
  int group = 1;
  bool count_include_pad = false;
  float epsilon = 1e-5f;
  float alpha = 1.0f, beta = 1.0f;
  bool trans_a = false, trans_b = false;
  float clip_min = -std::numeric_limits<float>::infinity();
  float clip_max = std::numeric_limits<float>::infinity();
  int axis = 1;
  std::vector<int64_t> shape;  // reshape target
  // Filled by passes, never by readers:
  Activation activation = Activation::none;  // fused output activation (uses clip_min/max for clip)
};

struct Value {
  std::string name;
  Shape shape;         // dim 0 may be kBatch for activations
  Tensor constant;     // defined for constants (weights, biases, BN statistics)
  bool is_constant() const { return constant.defined(); }
};

struct Node {
  OpKind op = OpKind::identity;
  std::string name;          // the source node's name, for error messages
  std::vector<int> inputs;   // value ids; constants included (e.g. a conv's weight)
  int output = -1;           // value id
  Attributes attributes;
};

struct Graph {
  std::vector<Value> values;
  std::vector<Node> nodes;   // in an order where every input is produced before it is read
  int input = -1;            // value id of the one graph input, [kBatch, C, H, W] or [kBatch, F]
  int output = -1;           // value id of the one graph output
  // Free-form facts carried with the model, e.g. "sepnet.model", "sepnet.input_mean",
  // "sepnet.input_std" (per-channel normalization of [0, 1] pixels, comma-separated).
  std::map<std::string, std::string> metadata;

  int add_value(Value v);                                   // returns its id
  int add_constant(const std::string& name, Tensor data);   // a constant value
  int add_node(Node n, const std::string& output_name, Shape output_shape);  // sets n.output
};

// Checks that ids are in range, every node's inputs are produced before it (no cycles), the
// input/output exist, constants have data of their shape, and each op has the inputs and
// attributes it needs; throws std::invalid_argument naming the node and the problem.
void validate(const Graph& graph);

// Shape of every value for a batch of `batch` (kBatch replaced), following each op's rule;
// throws std::invalid_argument naming the node whose input shapes do not fit.
std::vector<Shape> infer_shapes(const Graph& graph, int64_t batch);

// The flat index into a tensor of shape `in`, broadcast (numpy rules, as Add) to `out`, of the
// element at flat index `flat` of `out`.
int64_t broadcast_index(int64_t flat, const Shape& out, const Shape& in);

}  // namespace sepnet::infer
