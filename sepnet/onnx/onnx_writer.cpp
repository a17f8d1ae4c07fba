#include "sepnet/onnx/onnx_writer.h"

#include <cmath>
#include <cstring>
#include <set>
#include <stdexcept>

#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet::onnx {
namespace {

namespace pb = ::onnx;

// Opset 13 is the newest whose operators ONNX Runtime, PyTorch 1.13 and the Debian ONNX 1.12
// tools all know; IR version 7 is the one that opset was released with.
constexpr int64_t kOpset = 13;
constexpr int64_t kIrVersion = 7;

class Writer {
 public:
  explicit Writer(const infer::Graph& graph) : graph_(graph) {
    for (const auto& v : graph.values) used_names_.insert(v.name);
  }

  std::string run(const std::string& graph_name) {
    infer::validate(graph_);
    const std::vector<Shape> shapes = infer::infer_shapes(graph_, 1);
    model_.set_ir_version(kIrVersion);
    model_.set_producer_name("sepnet");
    auto* opset = model_.add_opset_import();
    opset->set_domain("");
    opset->set_version(kOpset);
    for (const auto& [key, value] : graph_.metadata) {
      auto* prop = model_.add_metadata_props();
      prop->set_key(key);
      prop->set_value(value);
    }
    pb::GraphProto* g = model_.mutable_graph();
    g->set_name(graph_name);
    g_ = g;
    add_value_info(g->add_input(), graph_.input, graph_.values[graph_.input].shape);
    std::set<int> written;
    for (const auto& node : graph_.nodes) {
      for (int id : node.inputs)
        if (graph_.values[id].is_constant() && written.insert(id).second)
          add_float_initializer(graph_.values[id].name, graph_.values[id].constant);
      add_node(node);
    }
    add_value_info(g->add_output(), graph_.output, shapes[graph_.output]);
    std::string bytes;
    if (!model_.SerializeToString(&bytes)) throw std::invalid_argument("the ONNX model does not serialize (over 2 GiB?)");
    return bytes;
  }

 private:
  std::string fresh_name(const std::string& base) {
    std::string name = base;
    for (int i = 1; !used_names_.insert(name).second; ++i) name = fmt::format("{}_{}", base, i);
    return name;
  }

  void add_value_info(pb::ValueInfoProto* info, int id, const Shape& shape) {
    info->set_name(graph_.values[id].name);
    auto* tensor = info->mutable_type()->mutable_tensor_type();
    tensor->set_elem_type(pb::TensorProto_DataType_FLOAT);
    auto* s = tensor->mutable_shape();
    for (size_t i = 0; i < shape.size(); ++i) {
      auto* d = s->add_dim();
      if (i == 0)
        d->set_dim_param("N");  // the batch
      else
        d->set_dim_value(shape[i]);
    }
  }

  void add_float_initializer(const std::string& name, const Tensor& t) {
    pb::TensorProto* init = g_->add_initializer();
    init->set_name(name);
    init->set_data_type(pb::TensorProto_DataType_FLOAT);
    for (int64_t d : t.shape()) init->add_dims(d);
    const Tensor c = t.clone();  // contiguous copy
    init->set_raw_data(std::string(reinterpret_cast<const char*>(c.data()), static_cast<size_t>(c.numel()) * 4));
  }
  std::string scalar_initializer(const std::string& base, float v) {
    const std::string name = fresh_name(base);
    add_float_initializer(name, Tensor::from_vector({}, {v}));
    return name;
  }
  std::string int64_initializer(const std::string& base, const std::vector<int64_t>& v) {
    const std::string name = fresh_name(base);
    pb::TensorProto* init = g_->add_initializer();
    init->set_name(name);
    init->set_data_type(pb::TensorProto_DataType_INT64);
    init->add_dims(static_cast<int64_t>(v.size()));
    init->set_raw_data(std::string(reinterpret_cast<const char*>(v.data()), v.size() * 8));
    return name;
  }

  static void set_ints(pb::NodeProto* n, const char* name, std::initializer_list<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto_AttributeType_INTS);
    for (int64_t x : v) a->add_ints(x);
  }
  static void set_int(pb::NodeProto* n, const char* name, int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto_AttributeType_INT);
    a->set_i(v);
  }
  static void set_float(pb::NodeProto* n, const char* name, float v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(pb::AttributeProto_AttributeType_FLOAT);
    a->set_f(v);
  }
  static void set_window(pb::NodeProto* n, const infer::Attributes& a) {
    set_ints(n, "strides", {a.stride[0], a.stride[1]});
    set_ints(n, "pads", {a.pads[0], a.pads[1], a.pads[2], a.pads[3]});
  }

  // Clip's bounds are inputs since opset 11; an infinite bound is left out (no clipping there).
  void add_clip_bounds(pb::NodeProto* n, const std::string& base, float lo, float hi) {
    n->add_input(std::isfinite(lo) ? scalar_initializer(base + "_min", lo) : "");
    if (std::isfinite(hi)) n->add_input(scalar_initializer(base + "_max", hi));
  }

  void add_node(const infer::Node& node) {
    using infer::OpKind;
    const infer::Attributes& a = node.attributes;
    pb::NodeProto* n = g_->add_node();
    n->set_name(node.name);
    n->set_op_type(infer::op_name(node.op));
    for (int id : node.inputs) n->add_input(graph_.values[id].name);
    const std::string& out = graph_.values[node.output].name;
    const bool fused = a.activation != infer::Activation::none;
    n->add_output(fused ? fresh_name(out + "_before_activation") : out);
    switch (node.op) {
      case OpKind::conv: {
        const Shape& w = graph_.values[node.inputs.at(1)].shape;
        set_ints(n, "kernel_shape", {w.at(2), w.at(3)});
        set_ints(n, "dilations", {a.dilation[0], a.dilation[1]});
        set_int(n, "group", a.group);
        set_window(n, a);
        break;
      }
      case OpKind::batch_norm: set_float(n, "epsilon", a.epsilon); break;
      case OpKind::clip: add_clip_bounds(n, node.name, a.clip_min, a.clip_max); break;
      case OpKind::max_pool:
      case OpKind::average_pool:
        set_ints(n, "kernel_shape", {a.kernel[0], a.kernel[1]});
        set_window(n, a);
        if (node.op == OpKind::average_pool) set_int(n, "count_include_pad", a.count_include_pad ? 1 : 0);
        break;
      case OpKind::gemm:
        set_float(n, "alpha", a.alpha);
        set_float(n, "beta", a.beta);
        set_int(n, "transA", a.trans_a ? 1 : 0);
        set_int(n, "transB", a.trans_b ? 1 : 0);
        break;
      case OpKind::flatten:
      case OpKind::softmax: set_int(n, "axis", a.axis); break;
      case OpKind::reshape: n->add_input(int64_initializer(node.name + "_shape", a.shape)); break;
      default: break;
    }
    if (!fused) return;
    pb::NodeProto* act = g_->add_node();
    act->set_name(fresh_name(node.name + "_activation"));
    act->add_input(n->output(0));
    act->add_output(out);
    if (a.activation == infer::Activation::relu) {
      act->set_op_type("Relu");
    } else {
      act->set_op_type("Clip");
      add_clip_bounds(act, act->name(), a.clip_min, a.clip_max);
    }
  }

  const infer::Graph& graph_;
  pb::ModelProto model_;
  pb::GraphProto* g_ = nullptr;
  std::set<std::string> used_names_;
};

}  // namespace

std::string write_onnx(const infer::Graph& graph, const std::string& graph_name) {
  return Writer(graph).run(graph_name);
}

void write_onnx_file(const infer::Graph& graph, const std::string& path, const std::string& graph_name) {
  write_file_atomically(path, write_onnx(graph, graph_name));
}

}  // namespace sepnet::onnx
