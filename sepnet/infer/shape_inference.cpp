// infer_shapes: ONNX's output-shape rule for each op (opset 13, ceil_mode 0, auto_pad NOTSET).
#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/infer/graph.h"
#include "sepnet/infer/node_label.h"
#include "sepnet/infer/op_shapes.h"

namespace sepnet::infer {

int64_t window_output(int64_t in, int kernel, int stride, int dilation, int pad_begin, int pad_end) {
  const int64_t span = static_cast<int64_t>(dilation) * (kernel - 1) + 1;
  const int64_t padded = in + pad_begin + pad_end;
  if (padded < span) return 0;
  return (padded - span) / stride + 1;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t k = 0; k < rank; ++k) {
    const int64_t da = k + a.size() >= rank ? a[k + a.size() - rank] : 1;
    const int64_t db = k + b.size() >= rank ? b[k + b.size() - rank] : 1;
    if (da != db && da != 1 && db != 1) return {};
    out[k] = da == 1 ? db : da;
  }
  return out;
}

namespace {

[[noreturn]] void fail(const Graph& g, size_t i, const std::string& what) {
  throw std::invalid_argument(node_label(g, i) + ": " + what);
}

Shape node_output_shape(const Graph& g, size_t i, const std::vector<Shape>& shapes) {
  const Node& n = g.nodes[i];
  const Attributes& a = n.attributes;
  const Shape& x = shapes[n.inputs[0]];
  auto rank_is = [&](const Shape& s, size_t r, const char* what) {
    if (s.size() != r) fail(g, i, fmt::format("{} must be {}-D, not {}", what, r, shape_to_string(s)));
  };
  switch (n.op) {
    case OpKind::conv: {
      rank_is(x, 4, "the input");
      const Shape& w = shapes[n.inputs[1]];
      if (x[1] != w[1] * a.group)
        fail(g, i, fmt::format("input has {} channels but the weight {} with group {} takes {}", x[1], shape_to_string(w),
                               a.group, w[1] * a.group));
      if (w[0] % a.group != 0) fail(g, i, fmt::format("{} output channels do not split into {} groups", w[0], a.group));
      if (n.inputs.size() == 3 && shapes[n.inputs[2]] != Shape{w[0]})
        fail(g, i, fmt::format("bias is {}, not [{}]", shape_to_string(shapes[n.inputs[2]]), w[0]));
      const int64_t h = window_output(x[2], static_cast<int>(w[2]), a.stride[0], a.dilation[0], a.pads[0], a.pads[2]);
      const int64_t wd = window_output(x[3], static_cast<int>(w[3]), a.stride[1], a.dilation[1], a.pads[1], a.pads[3]);
      if (h < 1 || wd < 1) fail(g, i, fmt::format("kernel {} does not fit the padded input {}", shape_to_string(w), shape_to_string(x)));
      return {x[0], w[0], h, wd};
    }
    case OpKind::batch_norm:
      if (x.size() < 2) fail(g, i, "the input must have a channel dimension, not " + shape_to_string(x));
      for (size_t k = 1; k < 5; ++k)
        if (shapes[n.inputs[k]] != Shape{x[1]})
          fail(g, i, fmt::format("input {} is {}, not [{}]", k, shape_to_string(shapes[n.inputs[k]]), x[1]));
      return x;
    case OpKind::relu:
    case OpKind::clip:
    case OpKind::identity: return x;
    case OpKind::max_pool:
    case OpKind::average_pool: {
      rank_is(x, 4, "the input");
      const int64_t h = window_output(x[2], a.kernel[0], a.stride[0], 1, a.pads[0], a.pads[2]);
      const int64_t w = window_output(x[3], a.kernel[1], a.stride[1], 1, a.pads[1], a.pads[3]);
      if (h < 1 || w < 1) fail(g, i, fmt::format("kernel {}×{} does not fit the padded input {}", a.kernel[0], a.kernel[1], shape_to_string(x)));
      return {x[0], x[1], h, w};
    }
    case OpKind::global_average_pool:
      rank_is(x, 4, "the input");
      return {x[0], x[1], 1, 1};
    case OpKind::gemm: {
      const Shape& b = shapes[n.inputs[1]];
      rank_is(x, 2, "A");
      rank_is(b, 2, "B");
      const int64_t m = a.trans_a ? x[1] : x[0], k = a.trans_a ? x[0] : x[1];
      const int64_t kb = a.trans_b ? b[1] : b[0], nn = a.trans_b ? b[0] : b[1];
      if (k != kb) fail(g, i, fmt::format("A {} and B {} do not multiply (trans_a {}, trans_b {})", shape_to_string(x),
                                          shape_to_string(b), a.trans_a, a.trans_b));
      if (n.inputs.size() == 3) {
        const Shape& c = shapes[n.inputs[2]];
        if (c.size() > 2 || broadcast_shapes(c, {m, nn}) != Shape{m, nn})
          fail(g, i, fmt::format("C {} does not broadcast to [{}, {}]", shape_to_string(c), m, nn));
      }
      return {m, nn};
    }
    case OpKind::matmul: {
      const Shape& b = shapes[n.inputs[1]];
      if (x.empty() || x.back() != b[0])
        fail(g, i, fmt::format("{} and {} do not multiply", shape_to_string(x), shape_to_string(b)));
      Shape out = x;
      out.back() = b[1];
      return out;
    }
    case OpKind::add: {
      Shape out = broadcast_shapes(x, shapes[n.inputs[1]]);
      if (out.empty() && !(x.empty() && shapes[n.inputs[1]].empty()))
        fail(g, i, fmt::format("{} and {} do not broadcast", shape_to_string(x), shape_to_string(shapes[n.inputs[1]])));
      return out;
    }
    case OpKind::flatten: {
      const int r = static_cast<int>(x.size());
      if (a.axis < -r || a.axis > r) fail(g, i, fmt::format("axis {} is outside [{}, {}]", a.axis, -r, r));
      const int axis = a.axis < 0 ? a.axis + r : a.axis;
      int64_t outer = 1, inner = 1;
      for (int k = 0; k < r; ++k) (k < axis ? outer : inner) *= x[k];
      return {outer, inner};
    }
    case OpKind::reshape: {
      Shape out = a.shape;
      int infer_at = -1;
      int64_t known = 1;
      for (size_t k = 0; k < out.size(); ++k) {
        if (out[k] == 0) {
          if (k >= x.size()) fail(g, i, fmt::format("target dim {} copies an input dim that {} does not have", k, shape_to_string(x)));
          out[k] = x[k];
        } else if (out[k] == -1) {
          if (infer_at >= 0) fail(g, i, "more than one -1 in the target shape");
          infer_at = static_cast<int>(k);
          continue;
        } else if (out[k] < 0) {
          fail(g, i, fmt::format("target dim {} is {}", k, out[k]));
        }
        known *= out[k];
      }
      const int64_t total = shape_numel(x);
      if (infer_at >= 0) {
        if (known == 0 || total % known != 0)
          fail(g, i, fmt::format("{} elements do not fit the target {}", total, shape_to_string(a.shape)));
        out[infer_at] = total / known;
      } else if (known != total) {
        fail(g, i, fmt::format("{} has {} elements, the target {} has {}", shape_to_string(x), total, shape_to_string(out), known));
      }
      return out;
    }
    case OpKind::softmax: {
      const int r = static_cast<int>(x.size());
      if (a.axis < -r || a.axis >= r) fail(g, i, fmt::format("axis {} is outside [{}, {}]", a.axis, -r, r - 1));
      return x;
    }
  }
  fail(g, i, "unknown op");
}

}  // namespace

std::vector<Shape> infer_shapes(const Graph& g, int64_t batch) {
  validate(g);
  if (batch < 1) throw std::invalid_argument(fmt::format("infer_shapes: batch {} must be at least 1", batch));
  std::vector<Shape> shapes(g.values.size());
  for (size_t id = 0; id < g.values.size(); ++id)
    if (g.values[id].is_constant()) shapes[id] = g.values[id].shape;
  shapes[g.input] = g.values[g.input].shape;
  for (int64_t& d : shapes[g.input])
    if (d == kBatch) d = batch;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Shape out = node_output_shape(g, i, shapes);
    // A declared output shape must agree where it names a fixed size (kBatch stands for any).
    const Shape& declared = g.values[g.nodes[i].output].shape;
    if (!declared.empty()) {
      bool agrees = declared.size() == out.size();
      for (size_t k = 0; agrees && k < out.size(); ++k) agrees = declared[k] == kBatch || declared[k] == out[k];
      if (!agrees)
        fail(g, i, fmt::format("output '{}' is declared {} but the inputs give {}", g.values[g.nodes[i].output].name,
                               shape_to_string(declared), shape_to_string(out)));
    }
    shapes[g.nodes[i].output] = std::move(out);
  }
  return shapes;
}

}  // namespace sepnet::infer

namespace sepnet::infer {

int64_t batch_of_input(const Graph& g, const Shape& input) {
  const Value& v = g.values[g.input];
  bool fits = input.size() == v.shape.size() && !input.empty() && input[0] >= 1;
  for (size_t k = 0; fits && k < input.size(); ++k) fits = v.shape[k] == kBatch ? k == 0 : v.shape[k] == input[k];
  if (!fits)
    throw std::invalid_argument(fmt::format("input {} does not fit the graph input '{}' {}", shape_to_string(input), v.name,
                                            shape_to_string(v.shape)));
  return input[0];
}

}  // namespace sepnet::infer
