#include "sepnet/onnx/onnx_reader.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet::onnx {
namespace {

namespace pb = ::onnx;

// The default-domain opsets read. 17 is the newest the Debian ONNX 1.12 protobuf knows. Older
// definitions of the supported operators differ from opset 13 only in attributes that the
// per-operator attribute check below refuses when present (Clip's min/max attributes, Reshape's
// shape attribute, BatchNormalization's is_test, ...) or in defaults equal to what sepnet does,
// except Softmax (2-D coercion before 13, accepted only along the last axis) and Unsqueeze (axes
// an attribute before 13, read as such).
constexpr int64_t kMinOpset = 1, kMaxOpset = 17;
// Far above any network sepnet runs (MobileNet v1 has 84 nodes); bounds the load-time work.
constexpr int kMaxNodes = 100000;
// A shape-tensor entry standing for the symbolic batch (Shape(x)[0] of an activation).
constexpr int64_t kSymbolicBatch = std::numeric_limits<int64_t>::min();

[[noreturn]] void fail(const std::string& message) { throw std::invalid_argument(message); }

// An int64 tensor known at load time: shape constants and the results of shape arithmetic.
struct IntTensor {
  Shape dims;
  std::vector<int64_t> values;
};

// What an ONNX value name stands for while the graph is built.
struct Binding {
  enum class Kind { activation, float_constant, int_constant } kind = Kind::activation;
  int value = -1;      // graph value id: activations, and float constants once a node reads them
  Tensor constant;     // float_constant
  IntTensor ints;      // int_constant
};

std::string dtype_name(int type) {
  const auto* descriptor = pb::TensorProto_DataType_descriptor();
  const auto* value = descriptor->FindValueByNumber(type);
  return value ? value->name() : fmt::format("#{}", type);
}

// Product of dims, each checked to be >= 0, refused past `limit` (before any overflow).
int64_t checked_numel(const Shape& dims, int64_t limit, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : dims) {
    if (d < 0) fail(fmt::format("{}: dimension {} is negative", what, d));
    if (d != 0 && n > limit / d)
      fail(fmt::format("{}: shape {} has more than {} elements", what, shape_to_string(dims), limit));
    n *= d;
  }
  return n;
}

struct TensorData {
  int type = 0;
  Shape dims;
  Tensor floats;               // FLOAT
  std::vector<int64_t> ints;   // INT64
};

// A TensorProto's contents, with every length checked against its dims before copying.
TensorData convert_tensor(const pb::TensorProto& t, const std::string& what, const ReadOptions& options) {
  if (t.data_location() == pb::TensorProto_DataLocation_EXTERNAL || t.external_data_size() > 0)
    fail(fmt::format("{}: external data is not supported (the weights must be inside the .onnx file)", what));
  if (t.has_segment()) fail(fmt::format("{}: segmented tensors are not supported", what));
  TensorData out;
  out.type = t.data_type();
  out.dims.assign(t.dims().begin(), t.dims().end());
  const int64_t n = checked_numel(out.dims, options.max_tensor_elements, what);
  const std::string& raw = t.raw_data();
  if (out.type == pb::TensorProto_DataType_FLOAT) {
    const int64_t typed = t.float_data_size();
    if (!raw.empty() ? static_cast<int64_t>(raw.size()) != n * 4 : typed != n)
      fail(fmt::format("{}: holds {} but its dims {} need {} float32 values", what,
                       raw.empty() ? fmt::format("{} float values", typed) : fmt::format("{} bytes of raw data", raw.size()),
                       shape_to_string(out.dims), n));
    out.floats = Tensor::empty(out.dims);
    if (n > 0) {
      if (!raw.empty())
        std::memcpy(out.floats.data(), raw.data(), raw.size());  // little-endian, as ONNX stores it
      else
        std::copy(t.float_data().begin(), t.float_data().end(), out.floats.data());
    }
  } else if (out.type == pb::TensorProto_DataType_INT64) {
    const int64_t typed = t.int64_data_size();
    if (!raw.empty() ? static_cast<int64_t>(raw.size()) != n * 8 : typed != n)
      fail(fmt::format("{}: holds fewer or more values than its dims {} need ({})", what, shape_to_string(out.dims), n));
    out.ints.resize(static_cast<size_t>(n));
    if (!raw.empty())
      std::memcpy(out.ints.data(), raw.data(), raw.size());
    else
      std::copy(t.int64_data().begin(), t.int64_data().end(), out.ints.begin());
  } else {
    fail(fmt::format("{}: dtype {} is not supported (float32 weights and int64 shapes only)", what, dtype_name(out.type)));
  }
  return out;
}

class Importer {
 public:
  Importer(const pb::ModelProto& model, std::string source, const ReadOptions& options)
      : model_(model), source_(std::move(source)), options_(options) {}

  infer::Graph run() {
    check_opsets();
    const pb::GraphProto& g = model_.graph();
    for (const auto& init : g.initializer()) bind_tensor(init.name(), init, fmt::format("initializer '{}'", init.name()));
    bind_inputs(g);
    if (g.node_size() > kMaxNodes)
      fail(at(fmt::format("the graph has {} nodes; sepnet reads at most {}", g.node_size(), kMaxNodes)));
    for (int i = 0; i < g.node_size(); ++i) import_node(g.node(i), i);
    if (!shapes_known_) infer_shapes();
    if (g.output_size() != 1) fail(at(fmt::format("the graph has {} outputs; sepnet reads models with one", g.output_size())));
    const Binding& out = lookup(g.output(0).name(), "the graph output");
    if (out.kind != Binding::Kind::activation)
      fail(at(fmt::format("the graph output '{}' is a constant, not computed from the input", g.output(0).name())));
    graph_.output = out.value;
    for (const auto& prop : model_.metadata_props()) graph_.metadata[prop.key()] = prop.value();
    try {
      infer::validate(graph_);
    } catch (const std::invalid_argument& e) {
      fail(at(e.what()));
    }
    return std::move(graph_);
  }

 private:
  std::string at(const std::string& message) const { return source_ + ": " + message; }
  std::string node_label(const pb::NodeProto& n) const {
    return fmt::format("node '{}' ({})", n.name().empty() ? fmt::format("#{}", node_index_) : n.name(), n.op_type());
  }
  [[noreturn]] void node_fail(const pb::NodeProto& n, const std::string& message) const {
    fail(at(node_label(n) + ": " + message));
  }

  void check_opsets() {
    bool found = false;
    for (const auto& opset : model_.opset_import()) {
      if (opset.domain().empty() || opset.domain() == "ai.onnx") {
        found = true;
        opset_ = opset.version();
        if (opset.version() < kMinOpset || opset.version() > kMaxOpset)
          fail(at(fmt::format("opset {} of the default domain is not supported (sepnet reads opsets {} to {})",
                              opset.version(), kMinOpset, kMaxOpset)));
      }
    }
    if (!found) fail(at("the model imports no opset of the default ONNX domain"));
    if (!model_.has_graph()) fail(at("the model has no graph (not an ONNX model, or a truncated one)"));
  }

  void bind_tensor(const std::string& name, const pb::TensorProto& t, const std::string& what) {
    if (name.empty()) fail(at(what + " has no name"));
    TensorData data = convert_tensor(t, at(what), options_);
    Binding b;
    if (data.type == pb::TensorProto_DataType_FLOAT) {
      b.kind = Binding::Kind::float_constant;
      b.constant = data.floats;
    } else {
      b.kind = Binding::Kind::int_constant;
      b.ints = IntTensor{data.dims, std::move(data.ints)};
    }
    names_[name] = std::move(b);
  }

  void bind_inputs(const pb::GraphProto& g) {
    std::vector<const pb::ValueInfoProto*> free_inputs;
    for (const auto& in : g.input()) {
      if (names_.count(in.name())) continue;  // an initializer listed as an input (IR < 4)
      if (auto it = options_.constant_inputs.find(in.name()); it != options_.constant_inputs.end()) {
        Binding b;
        b.kind = Binding::Kind::float_constant;
        b.constant = it->second;
        names_[in.name()] = b;
        continue;
      }
      free_inputs.push_back(&in);
    }
    if (free_inputs.size() != 1)
      fail(at(fmt::format("the graph has {} inputs that are not initializers; sepnet reads models with one",
                          free_inputs.size())));
    const pb::ValueInfoProto& in = *free_inputs[0];
    const std::string what = fmt::format("graph input '{}'", in.name());
    if (!in.type().has_tensor_type()) fail(at(what + " is not a tensor"));
    const auto& tt = in.type().tensor_type();
    if (tt.elem_type() != pb::TensorProto_DataType_FLOAT)
      fail(at(fmt::format("{}: dtype {} is not supported (float32 only)", what, dtype_name(tt.elem_type()))));
    if (!tt.has_shape() || tt.shape().dim_size() == 0) fail(at(what + " has no shape (sepnet needs [batch, ...])"));
    Shape shape{infer::kBatch};
    for (int i = 1; i < tt.shape().dim_size(); ++i) {
      const auto& d = tt.shape().dim(i);
      if (!d.has_dim_value() || d.dim_value() < 1)
        fail(at(fmt::format("{}: dimension {} is not a fixed positive size (only dimension 0, the batch, may vary)", what, i)));
      shape.push_back(d.dim_value());
    }
    checked_numel(Shape(shape.begin() + 1, shape.end()), options_.max_tensor_elements, at(what));
    graph_.input = graph_.add_value(infer::Value{in.name(), shape, Tensor()});
    names_[in.name()] = Binding{Binding::Kind::activation, graph_.input, Tensor(), {}};
  }

  const Binding& lookup(const std::string& name, const std::string& what) const {
    auto it = names_.find(name);
    if (it == names_.end())
      fail(at(fmt::format("{} reads '{}', which no earlier node, initializer or input produces (a cycle, or nodes "
                          "out of order)", what, name)));
    return it->second;
  }

  // The graph value of a float input (an activation or a constant added on first use).
  int float_value(const pb::NodeProto& n, int i) {
    Binding& b = const_cast<Binding&>(lookup(n.input(i), node_label(n)));
    if (b.kind == Binding::Kind::int_constant)
      node_fail(n, fmt::format("input '{}' is an int64 tensor; only float32 data is supported here", n.input(i)));
    if (b.kind == Binding::Kind::float_constant && b.value < 0) b.value = graph_.add_constant(n.input(i), b.constant);
    return b.value;
  }
  const Binding& input_binding(const pb::NodeProto& n, int i) const { return lookup(n.input(i), node_label(n)); }
  bool has_input(const pb::NodeProto& n, int i) const { return n.input_size() > i && !n.input(i).empty(); }
  const Tensor& float_constant_input(const pb::NodeProto& n, int i, const char* role) const {
    const Binding& b = input_binding(n, i);
    if (b.kind != Binding::Kind::float_constant)
      node_fail(n, fmt::format("input '{}' ({}) must be a float32 constant (an initializer or Constant)", n.input(i), role));
    return b.constant;
  }
  const IntTensor& int_input(const pb::NodeProto& n, int i) const {
    const Binding& b = input_binding(n, i);
    if (b.kind != Binding::Kind::int_constant)
      node_fail(n, fmt::format("input '{}' must be an int64 tensor known at load time (a constant or shape arithmetic "
                               "on fixed shapes)", n.input(i)));
    return b.ints;
  }

  // ---- attributes: every attribute a node carries must be one its operator reads here ----
  void check_attributes(const pb::NodeProto& n, std::initializer_list<const char*> known) const {
    for (const auto& a : n.attribute()) {
      if (std::none_of(known.begin(), known.end(), [&](const char* k) { return a.name() == k; }))
        node_fail(n, fmt::format("attribute '{}' is not supported", a.name()));
    }
  }
  const pb::AttributeProto* attribute(const pb::NodeProto& n, const char* name, pb::AttributeProto_AttributeType type) const {
    for (const auto& a : n.attribute()) {
      if (a.name() != name) continue;
      if (a.type() != type)
        node_fail(n, fmt::format("attribute '{}' has type {}, expected {}", name, pb::AttributeProto_AttributeType_Name(a.type()),
                                 pb::AttributeProto_AttributeType_Name(type)));
      return &a;
    }
    return nullptr;
  }
  int64_t int_attribute(const pb::NodeProto& n, const char* name, int64_t fallback) const {
    const auto* a = attribute(n, name, pb::AttributeProto_AttributeType_INT);
    return a ? a->i() : fallback;
  }
  float float_attribute(const pb::NodeProto& n, const char* name, float fallback) const {
    const auto* a = attribute(n, name, pb::AttributeProto_AttributeType_FLOAT);
    return a ? a->f() : fallback;
  }
  std::vector<int64_t> ints_attribute(const pb::NodeProto& n, const char* name) const {
    const auto* a = attribute(n, name, pb::AttributeProto_AttributeType_INTS);
    return a ? std::vector<int64_t>(a->ints().begin(), a->ints().end()) : std::vector<int64_t>{};
  }
  std::string string_attribute(const pb::NodeProto& n, const char* name, const std::string& fallback) const {
    const auto* a = attribute(n, name, pb::AttributeProto_AttributeType_STRING);
    return a ? a->s() : fallback;
  }
  int small_int(const pb::NodeProto& n, const char* name, int64_t v, int64_t lo, int64_t hi) const {
    if (v < lo || v > hi) node_fail(n, fmt::format("attribute '{}'={} is out of range [{}, {}]", name, v, lo, hi));
    return static_cast<int>(v);
  }
  // kernel_shape, strides, dilations, pads (and auto_pad resolved against the input's size).
  void spatial_attributes(const pb::NodeProto& n, int x, std::array<int, 2> kernel, infer::Attributes& attrs) const {
    const auto two = [&](const char* name, std::array<int, 2>& out, int64_t lo) {
      const auto v = ints_attribute(n, name);
      if (v.empty()) return;
      if (v.size() != 2) node_fail(n, fmt::format("attribute '{}' has {} entries; only 2-D (H, W) is supported", name, v.size()));
      for (int i = 0; i < 2; ++i) out[i] = small_int(n, name, v[i], lo, 1 << 16);
    };
    two("strides", attrs.stride, 1);
    two("dilations", attrs.dilation, 1);
    const auto pads = ints_attribute(n, "pads");
    if (!pads.empty()) {
      if (pads.size() != 4) node_fail(n, fmt::format("attribute 'pads' has {} entries; only 2-D is supported", pads.size()));
      for (int i = 0; i < 4; ++i) attrs.pads[i] = small_int(n, "pads", pads[i], 0, 1 << 16);
    }
    const std::string auto_pad = string_attribute(n, "auto_pad", "NOTSET");
    if (auto_pad == "NOTSET") return;
    if (!pads.empty()) node_fail(n, "attributes 'auto_pad' and 'pads' are both set");
    if (auto_pad == "VALID") return;
    if (auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER")
      node_fail(n, fmt::format("attribute 'auto_pad'={} is not supported", auto_pad));
    const Shape& in = const_cast<Importer*>(this)->activation_shape(x);
    if (in.size() != 4) node_fail(n, "auto_pad needs a 4-D input");
    for (int i = 0; i < 2; ++i) {  // output = ceil(in / stride), padding split evenly, the odd one at the end (UPPER)
      const int64_t size = in[2 + i], stride = attrs.stride[i];
      const int64_t out = (size + stride - 1) / stride;
      const int64_t extent = (int64_t{kernel[i]} - 1) * attrs.dilation[i] + 1;
      const int64_t total = std::max<int64_t>(0, (out - 1) * stride + extent - size);
      if (total > (1 << 16)) node_fail(n, fmt::format("auto_pad needs {} pixels of padding", total));
      const int64_t small = total / 2, large = total - small;
      attrs.pads[i] = static_cast<int>(auto_pad == "SAME_UPPER" ? small : large);
      attrs.pads[2 + i] = static_cast<int>(auto_pad == "SAME_UPPER" ? large : small);
    }
  }
  std::array<int, 2> kernel_shape(const pb::NodeProto& n, bool required) const {
    const auto v = ints_attribute(n, "kernel_shape");
    if (v.empty()) {
      if (required) node_fail(n, "attribute 'kernel_shape' is missing");
      return {0, 0};
    }
    if (v.size() != 2) node_fail(n, fmt::format("attribute 'kernel_shape' has {} entries; only 2-D is supported", v.size()));
    return {small_int(n, "kernel_shape", v[0], 1, 1 << 16), small_int(n, "kernel_shape", v[1], 1, 1 << 16)};
  }
  int normalized_axis(const pb::NodeProto& n, int64_t axis, int64_t rank, bool end_inclusive) const {
    const int64_t hi = end_inclusive ? rank : rank - 1;
    if (axis < -rank || axis > hi) node_fail(n, fmt::format("attribute 'axis'={} is out of range for rank {}", axis, rank));
    return static_cast<int>(axis < 0 ? axis + rank : axis);
  }
  void only_first_output(const pb::NodeProto& n) const {
    if (n.output_size() < 1 || n.output(0).empty()) node_fail(n, "the node has no output");
    for (int i = 1; i < n.output_size(); ++i)
      if (!n.output(i).empty()) node_fail(n, fmt::format("output {} ('{}') is not supported", i, n.output(i)));
  }
  void input_count(const pb::NodeProto& n, int lo, int hi) const {
    if (n.input_size() < lo || n.input_size() > hi)
      node_fail(n, fmt::format("has {} inputs, expected {} to {}", n.input_size(), lo, hi));
    for (int i = 0; i < lo; ++i)
      if (n.input(i).empty()) node_fail(n, fmt::format("required input {} is empty", i));
  }
  int activation_input(const pb::NodeProto& n, int i) {
    if (input_binding(n, i).kind != Binding::Kind::activation)
      node_fail(n, fmt::format("input '{}' is a constant; sepnet does not fold float computations at load time", n.input(i)));
    return float_value(n, i);
  }

  // Adds a node. Output shapes are computed when an operator needs one (Shape, axes, auto_pad)
  // and once at the end, all nodes at a time, so a long graph costs a few passes, not one per node.
  void emit(const pb::NodeProto& n, infer::OpKind op, std::vector<int> inputs, infer::Attributes attrs) {
    infer::Node node;
    node.op = op;
    node.name = n.name().empty() ? fmt::format("{}_{}", n.op_type(), node_index_) : n.name();
    node.inputs = std::move(inputs);
    node.attributes = std::move(attrs);
    graph_.add_node(std::move(node), n.output(0), Shape{});
    names_[n.output(0)] = Binding{Binding::Kind::activation, graph_.nodes.back().output, Tensor(), {}};
    shapes_known_ = false;
  }
  // The shape of activation `x`, dimension 0 the batch (kBatch).
  const Shape& activation_shape(int x) {
    if (!shapes_known_) infer_shapes();
    return graph_.values[x].shape;
  }
  // Shapes for a batch of 1 and of 2: every node's output must keep the batch as dimension 0 and
  // nothing else may depend on it, since sepnet's graphs run at any batch size.
  void infer_shapes() {
    const int saved_output = graph_.output;
    graph_.output = graph_.nodes.empty() ? graph_.input : graph_.nodes.back().output;
    std::vector<Shape> one, two;
    try {
      one = infer::infer_shapes(graph_, 1);
      two = infer::infer_shapes(graph_, 2);
    } catch (const std::invalid_argument& e) {
      fail(at(e.what()));  // names the node
    }
    graph_.output = saved_output;
    for (size_t i = shaped_nodes_; i < graph_.nodes.size(); ++i) {
      const infer::Node& node = graph_.nodes[i];
      const Shape& s1 = one[node.output];
      const Shape& s2 = two[node.output];
      if (s1.empty() || s1.size() != s2.size() || s1[0] != 1 || s2[0] != 2 ||
          !std::equal(s1.begin() + 1, s1.end(), s2.begin() + 1))
        fail(at(fmt::format("node '{}' ({}): its output shape ({} for a batch of 1) does not keep the batch as dimension 0",
                            node.name, infer::op_name(node.op), shape_to_string(s1))));
      Shape shape = s1;
      shape[0] = infer::kBatch;
      graph_.values[node.output].shape = shape;
    }
    shaped_nodes_ = graph_.nodes.size();
    shapes_known_ = true;
  }
  void bind_ints(const pb::NodeProto& n, IntTensor t) {
    Binding b;
    b.kind = Binding::Kind::int_constant;
    b.ints = std::move(t);
    names_[n.output(0)] = std::move(b);
  }

  void import_node(const pb::NodeProto& n, int index) {
    node_index_ = index;
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      node_fail(n, fmt::format("domain '{}' is not supported (standard ONNX operators only)", n.domain()));
    only_first_output(n);
    if (names_.count(n.output(0))) node_fail(n, fmt::format("output '{}' is already defined (a value is assigned once)", n.output(0)));
    const std::string& op = n.op_type();
    infer::Attributes attrs;
    using infer::OpKind;
    if (op == "Conv") {
      check_attributes(n, {"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"});
      input_count(n, 2, 3);
      const int x = activation_input(n, 0);
      const Tensor& w = float_constant_input(n, 1, "weight");
      if (w.ndim() != 4) node_fail(n, fmt::format("weight shape {}: only 2-D convolutions are supported", shape_to_string(w.shape())));
      const std::array<int, 2> k{static_cast<int>(w.shape()[2]), static_cast<int>(w.shape()[3])};
      const auto declared = kernel_shape(n, false);
      if (declared[0] != 0 && declared != k) node_fail(n, "attribute 'kernel_shape' does not match the weight");
      attrs.group = small_int(n, "group", int_attribute(n, "group", 1), 1, 1 << 20);
      spatial_attributes(n, x, k, attrs);
      std::vector<int> in{x, float_value(n, 1)};
      if (has_input(n, 2)) {
        float_constant_input(n, 2, "bias");
        in.push_back(float_value(n, 2));
      }
      emit(n, OpKind::conv, in, attrs);
    } else if (op == "BatchNormalization") {
      check_attributes(n, {"epsilon", "momentum", "training_mode"});
      input_count(n, 5, 5);
      if (int_attribute(n, "training_mode", 0) != 0) node_fail(n, "attribute 'training_mode'=1 is not supported (inference only)");
      attrs.epsilon = float_attribute(n, "epsilon", 1e-5f);
      std::vector<int> in{activation_input(n, 0)};
      const char* roles[] = {"", "scale", "bias", "mean", "var"};
      for (int i = 1; i < 5; ++i) {
        float_constant_input(n, i, roles[i]);
        in.push_back(float_value(n, i));
      }
      emit(n, OpKind::batch_norm, in, attrs);
    } else if (op == "Relu") {
      check_attributes(n, {});
      input_count(n, 1, 1);
      emit(n, OpKind::relu, {activation_input(n, 0)}, attrs);
    } else if (op == "Clip") {
      check_attributes(n, {});
      input_count(n, 1, 3);
      const auto bound = [&](int i, float& out) {
        if (!has_input(n, i)) return;
        const Tensor& t = float_constant_input(n, i, i == 1 ? "min" : "max");
        if (t.numel() != 1) node_fail(n, fmt::format("input '{}' must be a scalar", n.input(i)));
        out = t.data()[0];
      };
      bound(1, attrs.clip_min);
      bound(2, attrs.clip_max);
      emit(n, OpKind::clip, {activation_input(n, 0)}, attrs);
    } else if (op == "MaxPool" || op == "AveragePool") {
      const bool max = op == "MaxPool";
      if (max)
        check_attributes(n, {"auto_pad", "ceil_mode", "dilations", "kernel_shape", "pads", "storage_order", "strides"});
      else
        check_attributes(n, {"auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides"});
      input_count(n, 1, 1);
      if (int_attribute(n, "ceil_mode", 0) != 0) node_fail(n, "attribute 'ceil_mode'=1 is not supported");
      const int x = activation_input(n, 0);
      attrs.kernel = kernel_shape(n, true);
      spatial_attributes(n, x, attrs.kernel, attrs);
      if (attrs.dilation != std::array<int, 2>{1, 1}) node_fail(n, "attribute 'dilations' other than 1 is not supported");
      attrs.count_include_pad = int_attribute(n, "count_include_pad", 0) != 0;
      emit(n, max ? OpKind::max_pool : OpKind::average_pool, {x}, attrs);
    } else if (op == "GlobalAveragePool") {
      check_attributes(n, {});
      input_count(n, 1, 1);
      emit(n, OpKind::global_average_pool, {activation_input(n, 0)}, attrs);
    } else if (op == "Gemm") {
      check_attributes(n, {"alpha", "beta", "transA", "transB"});
      input_count(n, 2, 3);
      attrs.alpha = float_attribute(n, "alpha", 1.0f);
      attrs.beta = float_attribute(n, "beta", 1.0f);
      attrs.trans_a = int_attribute(n, "transA", 0) != 0;
      attrs.trans_b = int_attribute(n, "transB", 0) != 0;
      std::vector<int> in{activation_input(n, 0), float_value(n, 1)};
      if (has_input(n, 2)) in.push_back(float_value(n, 2));
      emit(n, OpKind::gemm, in, attrs);
    } else if (op == "MatMul") {
      check_attributes(n, {});
      input_count(n, 2, 2);
      emit(n, OpKind::matmul, {activation_input(n, 0), float_value(n, 1)}, attrs);
    } else if (op == "Add") {
      check_attributes(n, {});
      input_count(n, 2, 2);
      // The activation first: the graph's add broadcasts either side, but its batch comes from input 0.
      const bool swap = input_binding(n, 0).kind != Binding::Kind::activation;
      const int a = swap ? activation_input(n, 1) : activation_input(n, 0);
      const int b = float_value(n, swap ? 0 : 1);
      emit(n, OpKind::add, {a, b}, attrs);
    } else if (op == "Flatten" || op == "Softmax") {
      check_attributes(n, {"axis"});
      input_count(n, 1, 1);
      const int x = activation_input(n, 0);
      const int64_t rank = static_cast<int64_t>(activation_shape(x).size());
      const bool flatten = op == "Flatten";
      attrs.axis = normalized_axis(n, int_attribute(n, "axis", flatten ? 1 : (opset_ < 13 ? 1 : -1)), rank, flatten);
      if (!flatten && opset_ < 13 && attrs.axis != rank - 1)
        node_fail(n, fmt::format("Softmax before opset 13 flattens from axis {}; only the last axis is supported", attrs.axis));
      emit(n, flatten ? OpKind::flatten : OpKind::softmax, {x}, attrs);
    } else if (op == "Reshape") {
      check_attributes(n, {"allowzero"});
      input_count(n, 2, 2);
      if (int_attribute(n, "allowzero", 0) != 0) node_fail(n, "attribute 'allowzero'=1 is not supported");
      const int x = activation_input(n, 0);
      const IntTensor& shape = int_input(n, 1);
      if (shape.dims.size() != 1) node_fail(n, "the shape input must be 1-D");
      int64_t fixed = 1;  // the product of the given sizes stays bounded, so no shape rule overflows
      for (int64_t v : shape.values)
        if (v > 0 && (v > options_.max_tensor_elements || fixed > options_.max_tensor_elements / v))
          node_fail(n, fmt::format("shape entry {} makes a tensor of more than {} elements", v, options_.max_tensor_elements));
        else if (v > 0)
          fixed *= v;
      for (size_t i = 0; i < shape.values.size(); ++i) {
        const int64_t v = shape.values[i];
        if (v == kSymbolicBatch) {
          if (i != 0) node_fail(n, "the batch size may only be dimension 0 of the new shape");
          attrs.shape.push_back(0);  // copies the input's dimension 0, the batch
        } else {
          if (v < -1) node_fail(n, fmt::format("shape entry {} is invalid", v));
          attrs.shape.push_back(v);
        }
      }
      emit(n, OpKind::reshape, {x}, attrs);
    } else if (op == "Identity") {
      check_attributes(n, {});
      input_count(n, 1, 1);
      names_[n.output(0)] = input_binding(n, 0);  // an alias: no node needed
    } else if (op == "Constant") {
      import_constant(n);
    } else if (op == "Shape") {
      check_attributes(n, {"start", "end"});
      input_count(n, 1, 1);
      const Binding& b = input_binding(n, 0);
      Shape dims = b.kind == Binding::Kind::activation ? activation_shape(b.value)
                   : b.kind == Binding::Kind::float_constant ? b.constant.shape() : b.ints.dims;
      if (b.kind == Binding::Kind::activation) dims[0] = kSymbolicBatch;
      const int64_t rank = static_cast<int64_t>(dims.size());
      const auto clamp = [&](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
      const int64_t start = clamp(int_attribute(n, "start", 0)), end = clamp(int_attribute(n, "end", rank));
      IntTensor t;
      for (int64_t i = start; i < end; ++i) t.values.push_back(dims[i]);
      t.dims = {static_cast<int64_t>(t.values.size())};
      bind_ints(n, std::move(t));
    } else if (op == "Gather") {
      check_attributes(n, {"axis"});
      input_count(n, 2, 2);
      const IntTensor& data = int_input(n, 0);
      const IntTensor& indices = int_input(n, 1);
      if (data.dims.size() != 1 || int_attribute(n, "axis", 0) != 0)
        node_fail(n, "Gather is supported on 1-D int64 shape tensors only");
      if (indices.dims.size() > 1) node_fail(n, "indices must be a scalar or 1-D");
      IntTensor t{indices.dims, {}};
      const int64_t size = static_cast<int64_t>(data.values.size());
      for (int64_t i : indices.values) {
        if (i < -size || i >= size) node_fail(n, fmt::format("index {} is out of range for {} entries", i, size));
        t.values.push_back(data.values[static_cast<size_t>(i < 0 ? i + size : i)]);
      }
      bind_ints(n, std::move(t));
    } else if (op == "Unsqueeze") {
      IntTensor axes;
      if (opset_ < 13) {  // axes an attribute
        check_attributes(n, {"axes"});
        input_count(n, 1, 1);
        axes.values = ints_attribute(n, "axes");
        axes.dims = {static_cast<int64_t>(axes.values.size())};
      } else {
        check_attributes(n, {});
        input_count(n, 2, 2);
        axes = int_input(n, 1);
      }
      IntTensor t = int_input(n, 0);
      const int64_t rank = static_cast<int64_t>(t.dims.size() + axes.values.size());
      if (rank > 8) node_fail(n, "too many axes");
      std::vector<int64_t> sorted;
      for (int64_t a : axes.values) {
        if (a < -rank || a >= rank) node_fail(n, fmt::format("axis {} is out of range", a));
        sorted.push_back(a < 0 ? a + rank : a);
      }
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) node_fail(n, "repeated axis");
      for (int64_t a : sorted) t.dims.insert(t.dims.begin() + a, 1);
      bind_ints(n, std::move(t));
    } else if (op == "Concat") {
      check_attributes(n, {"axis"});
      if (n.input_size() < 1) node_fail(n, "has no inputs");
      const int64_t axis = int_attribute(n, "axis", 0);
      IntTensor t{{0}, {}};
      for (int i = 0; i < n.input_size(); ++i) {
        const IntTensor& part = int_input(n, i);
        if (part.dims.size() != 1 || (axis != 0 && axis != -1)) node_fail(n, "Concat is supported on 1-D int64 shape tensors only");
        t.values.insert(t.values.end(), part.values.begin(), part.values.end());
      }
      t.dims[0] = static_cast<int64_t>(t.values.size());
      bind_ints(n, std::move(t));
    } else {
      node_fail(n, "operator is not supported");
    }
  }

  void import_constant(const pb::NodeProto& n) {
    if (n.input_size() != 0) node_fail(n, "a Constant has no inputs");
    if (n.attribute_size() != 1) node_fail(n, "a Constant needs exactly one value attribute");
    const auto& a = n.attribute(0);
    const std::string what = node_label(n);
    if (a.name() == "value" && a.type() == pb::AttributeProto_AttributeType_TENSOR) {
      bind_tensor(n.output(0), a.t(), what);
    } else if (a.name() == "value_float" && a.type() == pb::AttributeProto_AttributeType_FLOAT) {
      Binding b{Binding::Kind::float_constant, -1, Tensor::from_vector({}, {a.f()}), {}};
      names_[n.output(0)] = b;
    } else if (a.name() == "value_floats" && a.type() == pb::AttributeProto_AttributeType_FLOATS) {
      std::vector<float> v(a.floats().begin(), a.floats().end());
      Binding b{Binding::Kind::float_constant, -1, Tensor::from_vector({static_cast<int64_t>(v.size())}, v), {}};
      names_[n.output(0)] = b;
    } else if (a.name() == "value_int" && a.type() == pb::AttributeProto_AttributeType_INT) {
      bind_ints(n, IntTensor{{}, {a.i()}});
    } else if (a.name() == "value_ints" && a.type() == pb::AttributeProto_AttributeType_INTS) {
      bind_ints(n, IntTensor{{a.ints_size()}, std::vector<int64_t>(a.ints().begin(), a.ints().end())});
    } else {
      node_fail(n, fmt::format("attribute '{}' is not supported", a.name()));
    }
  }

  const pb::ModelProto& model_;
  std::string source_;
  const ReadOptions& options_;
  infer::Graph graph_;
  std::map<std::string, Binding> names_;
  int node_index_ = 0;
  int64_t opset_ = 0;
  bool shapes_known_ = true;
  size_t shaped_nodes_ = 0;
};

}  // namespace

infer::Graph read_onnx(std::string_view bytes, const std::string& source, const ReadOptions& options) {
  if (bytes.size() > options.max_bytes)
    fail(fmt::format("{}: {} bytes is larger than the {} bytes sepnet reads", source, bytes.size(), options.max_bytes));
  pb::ModelProto model;
  if (!model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail(source + ": not a valid ONNX model (the protobuf does not parse: truncated or corrupt)");
  return Importer(model, source, options).run();
}


infer::Graph read_onnx_file(const std::string& path, const ReadOptions& options) {
  return read_onnx(read_file_bytes(path, options.max_bytes), path, options);
}

Tensor read_onnx_tensor_file(const std::string& path, const ReadOptions& options) {
  const std::string bytes = read_file_bytes(path, options.max_bytes);
  pb::TensorProto t;
  if (!t.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    fail(path + ": not a valid ONNX TensorProto (truncated or corrupt)");
  TensorData data = convert_tensor(t, path, options);
  if (data.type != pb::TensorProto_DataType_FLOAT)
    fail(fmt::format("{}: dtype {} is not supported (float32 only)", path, dtype_name(data.type)));
  return data.floats;
}

}  // namespace sepnet::onnx
