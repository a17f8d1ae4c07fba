#include "sepnet/infer/lower_module.h"

#include <stdexcept>

#include "sepnet/core/nn/layers.h"

namespace sepnet::infer {

namespace {

std::string join(const std::string& prefix, const std::string& name) { return prefix.empty() ? name : prefix + "." + name; }

int lower_conv(Graph& g, const nn::Conv2d& conv, int x, const std::string& prefix) {
  const nn::Conv2dOptions& o = conv.options();
  const Shape in = g.values[x].shape;  // a copy: adding constants below may move the values
  if (in.size() != 4 || in[1] != o.in_channels)
    throw std::invalid_argument("lower_module: " + prefix + " (" + conv.describe() + ") gets input " + shape_to_string(in));
  Node n;
  n.op = OpKind::conv;
  n.name = prefix;
  n.inputs = {x, g.add_constant(join(prefix, "weight"), conv.weight)};
  if (conv.bias.defined()) n.inputs.push_back(g.add_constant(join(prefix, "bias"), conv.bias));
  n.attributes.stride = {o.stride, o.stride};
  n.attributes.pads = {o.padding, o.padding, o.padding, o.padding};
  n.attributes.group = o.groups;
  const int64_t oh = (in[2] + 2 * o.padding - o.kernel_size) / o.stride + 1;
  const int64_t ow = (in[3] + 2 * o.padding - o.kernel_size) / o.stride + 1;
  return g.add_node(std::move(n), prefix, {in[0], o.out_channels, oh, ow});
}

int lower_batch_norm(Graph& g, const nn::BatchNorm2d& bn, int x, const std::string& prefix) {
  Node n;
  n.op = OpKind::batch_norm;
  n.name = prefix;
  n.inputs = {x, g.add_constant(join(prefix, "weight"), bn.weight), g.add_constant(join(prefix, "bias"), bn.bias),
              g.add_constant(join(prefix, "running_mean"), bn.running_mean),
              g.add_constant(join(prefix, "running_var"), bn.running_var)};
  n.attributes.epsilon = bn.eps();
  return g.add_node(std::move(n), prefix, g.values[x].shape);
}

int lower_simple(Graph& g, OpKind op, int x, const std::string& prefix, Shape out, Attributes a = {}) {
  Node n;
  n.op = op;
  n.name = prefix;
  n.inputs = {x};
  n.attributes = std::move(a);
  return g.add_node(std::move(n), prefix, std::move(out));
}

}  // namespace

int lower_module(Graph& g, const nn::Module& module, int x, const std::string& prefix) {
  const Shape in = g.values[x].shape;
  if (auto* seq = dynamic_cast<const nn::Sequential*>(&module)) {
    for (const auto& [name, child] : seq->children()) x = lower_module(g, *child, x, join(prefix, name));
    return x;
  }
  if (auto* conv = dynamic_cast<const nn::Conv2d*>(&module)) return lower_conv(g, *conv, x, prefix);
  if (auto* bn = dynamic_cast<const nn::BatchNorm2d*>(&module)) return lower_batch_norm(g, *bn, x, prefix);
  if (dynamic_cast<const nn::ReLU*>(&module)) return lower_simple(g, OpKind::relu, x, prefix, in);
  if (auto* pool = dynamic_cast<const nn::MaxPool2d*>(&module)) {
    Attributes a;
    a.kernel = {pool->kernel(), pool->kernel()};
    a.stride = {pool->stride(), pool->stride()};
    if (in.size() != 4) throw std::invalid_argument("lower_module: " + prefix + " (MaxPool2d) gets input " + shape_to_string(in));
    return lower_simple(g, OpKind::max_pool, x, prefix, pool->output_shape(in), a);
  }
  if (dynamic_cast<const nn::GlobalAvgPool*>(&module)) {
    if (in.size() != 4) throw std::invalid_argument("lower_module: " + prefix + " (GlobalAvgPool) gets input " + shape_to_string(in));
    const int pooled = lower_simple(g, OpKind::global_average_pool, x, prefix, {in[0], in[1], 1, 1});
    return lower_simple(g, OpKind::flatten, pooled, prefix + ".flatten", {in[0], in[1]});
  }
  if (dynamic_cast<const nn::Flatten*>(&module)) {
    int64_t rest = 1;
    for (size_t k = 1; k < in.size(); ++k) rest *= in[k];
    return lower_simple(g, OpKind::flatten, x, prefix, {in[0], rest});
  }
  if (auto* linear = dynamic_cast<const nn::Linear*>(&module)) {
    const int64_t out = linear->weight.dim(0);
    if (in.size() != 2 || in[1] != linear->weight.dim(1))
      throw std::invalid_argument("lower_module: " + prefix + " (" + linear->describe() + ") gets input " + shape_to_string(in));
    Node n;
    n.op = OpKind::gemm;
    n.name = prefix;
    n.inputs = {x, g.add_constant(join(prefix, "weight"), linear->weight)};
    if (linear->bias.defined()) n.inputs.push_back(g.add_constant(join(prefix, "bias"), linear->bias));
    n.attributes.trans_b = true;
    return g.add_node(std::move(n), prefix, {in[0], out});
  }
  throw std::invalid_argument("lower_module: " + (prefix.empty() ? std::string("the module") : prefix) + " (" +
                              module.describe() + ") has no inference-graph form");
}

}  // namespace sepnet::infer
