#include "sepnet/infer/graph.h"

#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/infer/node_label.h"

namespace sepnet::infer {

const char* op_name(OpKind op) {
  switch (op) {
    case OpKind::conv: return "Conv";
    case OpKind::batch_norm: return "BatchNormalization";
    case OpKind::relu: return "Relu";
    case OpKind::clip: return "Clip";
    case OpKind::max_pool: return "MaxPool";
    case OpKind::average_pool: return "AveragePool";
    case OpKind::global_average_pool: return "GlobalAveragePool";
    case OpKind::gemm: return "Gemm";
    case OpKind::matmul: return "MatMul";
    case OpKind::add: return "Add";
    case OpKind::flatten: return "Flatten";
    case OpKind::reshape: return "Reshape";
    case OpKind::softmax: return "Softmax";
    case OpKind::identity: return "Identity";
  }
  return "?";
}

std::string node_label(const Graph& graph, size_t index) {
  const Node& n = graph.nodes[index];
  return fmt::format("node {} '{}' ({})", index, n.name, op_name(n.op));
}

int Graph::add_value(Value v) {
  values.push_back(std::move(v));
  return static_cast<int>(values.size()) - 1;
}

int Graph::add_constant(const std::string& name, Tensor data) {
  if (!data.defined()) throw std::invalid_argument("add_constant: constant '" + name + "' has no data");
  Value v{name, data.shape(), std::move(data)};
  return add_value(std::move(v));
}

int Graph::add_node(Node n, const std::string& output_name, Shape output_shape) {
  const int id = add_value(Value{output_name, std::move(output_shape), Tensor()});
  n.output = id;
  nodes.push_back(std::move(n));
  return id;
}

namespace {

[[noreturn]] void fail(const Graph& g, size_t i, const std::string& what) {
  throw std::invalid_argument(node_label(g, i) + ": " + what);
}

// How many inputs each op takes (min, max) and which must be constants.
std::pair<size_t, size_t> arity(OpKind op) {
  switch (op) {
    case OpKind::conv: return {2, 3};
    case OpKind::batch_norm: return {5, 5};
    case OpKind::gemm: return {2, 3};
    case OpKind::matmul:
    case OpKind::add: return {2, 2};
    default: return {1, 1};
  }
}

void check_attributes(const Graph& g, size_t i) {
  const Node& n = g.nodes[i];
  const Attributes& a = n.attributes;
  auto positive2 = [&](const std::array<int, 2>& v, const char* what) {
    if (v[0] < 1 || v[1] < 1) fail(g, i, fmt::format("{} must be at least 1, not {}×{}", what, v[0], v[1]));
  };
  auto pads_ok = [&] {
    for (int p : a.pads)
      if (p < 0) fail(g, i, fmt::format("negative pad {}", p));
  };
  switch (n.op) {
    case OpKind::conv:
      positive2(a.stride, "stride");
      positive2(a.dilation, "dilation");
      pads_ok();
      if (a.group < 1) fail(g, i, fmt::format("group must be at least 1, not {}", a.group));
      if (!g.values[n.inputs[1]].is_constant()) fail(g, i, "the weight must be a constant");
      if (g.values[n.inputs[1]].shape.size() != 4)
        fail(g, i, "the weight must be 4-D [M, C/group, kH, kW], not " + shape_to_string(g.values[n.inputs[1]].shape));
      break;
    case OpKind::batch_norm:
      if (!(a.epsilon >= 0.0f) || !std::isfinite(a.epsilon)) fail(g, i, fmt::format("epsilon {} is not a finite value ≥ 0", a.epsilon));
      for (size_t k = 1; k < 5; ++k) {
        const Value& v = g.values[n.inputs[k]];
        if (!v.is_constant() || v.shape.size() != 1)
          fail(g, i, fmt::format("input {} ('{}') must be a 1-D constant (scale, bias, mean, var)", k, v.name));
      }
      break;
    case OpKind::clip:
      if (std::isnan(a.clip_min) || std::isnan(a.clip_max) || a.clip_min > a.clip_max)
        fail(g, i, fmt::format("clip range [{}, {}] is empty", a.clip_min, a.clip_max));
      break;
    case OpKind::max_pool:
    case OpKind::average_pool:
      positive2(a.kernel, "kernel");
      positive2(a.stride, "stride");
      pads_ok();
      if (a.pads[0] >= a.kernel[0] || a.pads[2] >= a.kernel[0] || a.pads[1] >= a.kernel[1] || a.pads[3] >= a.kernel[1])
        fail(g, i, "a pad must be smaller than the kernel");
      break;
    case OpKind::gemm:
      if (!std::isfinite(a.alpha) || !std::isfinite(a.beta)) fail(g, i, "alpha and beta must be finite");
      break;
    case OpKind::matmul:
      if (g.values[n.inputs[1]].shape.size() != 2)
        fail(g, i, "the second input must be a 2-D matrix, not " + shape_to_string(g.values[n.inputs[1]].shape));
      break;
    case OpKind::reshape:
      if (a.shape.empty()) fail(g, i, "no target shape");
      break;
    default: break;
  }
  if (a.activation == Activation::clip && (std::isnan(a.clip_min) || std::isnan(a.clip_max) || a.clip_min > a.clip_max))
    fail(g, i, "fused clip range is empty");
}

}  // namespace

void validate(const Graph& g) {
  const int count = static_cast<int>(g.values.size());
  auto in_range = [&](int id) { return id >= 0 && id < count; };
  if (!in_range(g.input)) throw std::invalid_argument(fmt::format("graph input id {} is not a value (the graph has {})", g.input, count));
  if (!in_range(g.output)) throw std::invalid_argument(fmt::format("graph output id {} is not a value (the graph has {})", g.output, count));
  if (g.values[g.input].is_constant()) throw std::invalid_argument("graph input '" + g.values[g.input].name + "' is a constant");
  if (g.values[g.input].shape.empty()) throw std::invalid_argument("graph input '" + g.values[g.input].name + "' has no shape");
  for (int id = 0; id < count; ++id) {
    const Value& v = g.values[id];
    for (int64_t d : v.shape)
      if (d < 0 && d != kBatch)
        throw std::invalid_argument(fmt::format("value {} '{}' has dimension {} in {}", id, v.name, d, shape_to_string(v.shape)));
    if (v.is_constant() && v.constant.shape() != v.shape)
      throw std::invalid_argument(fmt::format("constant '{}' is declared {} but holds {}", v.name, shape_to_string(v.shape),
                                              shape_to_string(v.constant.shape())));
  }
  std::vector<char> defined(count, 0);
  for (int id = 0; id < count; ++id) defined[id] = g.values[id].is_constant();
  defined[g.input] = 1;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& n = g.nodes[i];
    const auto [lo, hi] = arity(n.op);
    if (n.inputs.size() < lo || n.inputs.size() > hi)
      fail(g, i, lo == hi ? fmt::format("takes {} inputs, not {}", lo, n.inputs.size())
                          : fmt::format("takes {} to {} inputs, not {}", lo, hi, n.inputs.size()));
    for (int id : n.inputs) {
      if (!in_range(id)) fail(g, i, fmt::format("reads value id {}, which does not exist (the graph has {})", id, count));
      if (!defined[id])
        fail(g, i, fmt::format("reads '{}' before any node produces it (a cycle, or nodes out of order)", g.values[id].name));
    }
    if (!in_range(n.output)) fail(g, i, fmt::format("writes value id {}, which does not exist", n.output));
    if (defined[n.output]) fail(g, i, fmt::format("writes '{}', which already has a value", g.values[n.output].name));
    check_attributes(g, i);
    defined[n.output] = 1;
  }
  if (!defined[g.output]) throw std::invalid_argument("graph output '" + g.values[g.output].name + "' is never produced");
}

int64_t broadcast_index(int64_t flat, const Shape& out, const Shape& in) {
  int64_t index = 0, stride = 1;
  for (int k = static_cast<int>(out.size()) - 1; k >= 0; --k) {
    const int64_t coordinate = flat % out[k];
    flat /= out[k];
    const int in_k = k - static_cast<int>(out.size() - in.size());
    if (in_k >= 0) {
      if (in[in_k] != 1) index += coordinate * stride;
      stride *= in[in_k];
    }
  }
  return index;
}

}  // namespace sepnet::infer
