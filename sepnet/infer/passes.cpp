#include "sepnet/infer/passes.h"

#include <cmath>

namespace sepnet::infer {

std::vector<int> reader_counts(const Graph& g) {
  std::vector<int> readers(g.values.size(), 0);
  for (const Node& n : g.nodes)
    for (int id : n.inputs) ++readers[id];
  if (g.output >= 0) ++readers[g.output];
  return readers;
}

namespace {

// The index of the node writing each value, -1 for inputs and constants.
std::vector<int> producers(const Graph& g) {
  std::vector<int> producer(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) producer[g.nodes[i].output] = static_cast<int>(i);
  return producer;
}

// Drops the nodes marked in `removed` and returns how many there were.
int erase_nodes(Graph& g, const std::vector<char>& removed) {
  std::vector<Node> kept;
  for (size_t i = 0; i < g.nodes.size(); ++i)
    if (!removed[i]) kept.push_back(std::move(g.nodes[i]));
  const int count = static_cast<int>(g.nodes.size() - kept.size());
  g.nodes = std::move(kept);
  return count;
}

}  // namespace

int fold_batch_norm(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  const std::vector<int> producer = producers(g);
  std::vector<char> removed(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    Node& bn = g.nodes[i];
    if (bn.op != OpKind::batch_norm || bn.attributes.activation != Activation::none) continue;
    const int x = bn.inputs[0];
    if (producer[x] < 0 || readers[x] != 1) continue;
    Node& conv = g.nodes[producer[x]];
    if (conv.op != OpKind::conv || conv.attributes.activation != Activation::none) continue;
    const Tensor& w = g.values[conv.inputs[1]].constant;
    const int64_t out_channels = w.dim(0), per_channel = w.numel() / out_channels;
    const float *scale = g.values[bn.inputs[1]].constant.data(), *shift = g.values[bn.inputs[2]].constant.data();
    const float *mean = g.values[bn.inputs[3]].constant.data(), *var = g.values[bn.inputs[4]].constant.data();
    const float* bias = conv.inputs.size() == 3 ? g.values[conv.inputs[2]].constant.data() : nullptr;
    Tensor folded_w = Tensor::empty(w.shape()), folded_b = Tensor::empty({out_channels});
    for (int64_t m = 0; m < out_channels; ++m) {
      const double factor = scale[m] / std::sqrt(static_cast<double>(var[m]) + bn.attributes.epsilon);
      for (int64_t k = 0; k < per_channel; ++k)
        folded_w.data()[m * per_channel + k] = static_cast<float>(w.data()[m * per_channel + k] * factor);
      folded_b.data()[m] = static_cast<float>(((bias ? bias[m] : 0.0) - mean[m]) * factor + shift[m]);
    }
    const std::string base = g.values[conv.inputs[1]].name;  // a copy: add_constant may move the values
    conv.inputs[1] = g.add_constant(base + ".bn_folded", folded_w);
    const int b = g.add_constant(base + ".bn_folded_bias", folded_b);
    if (conv.inputs.size() == 3) conv.inputs[2] = b; else conv.inputs.push_back(b);
    conv.output = bn.output;
    removed[i] = 1;
  }
  return erase_nodes(g, removed);
}

int fuse_activations(Graph& g) {
  const std::vector<int> readers = reader_counts(g);
  const std::vector<int> producer = producers(g);
  std::vector<char> removed(g.nodes.size(), 0);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    const Node& act = g.nodes[i];
    if (act.op != OpKind::relu && act.op != OpKind::clip) continue;
    const int x = act.inputs[0];
    if (producer[x] < 0 || readers[x] != 1) continue;
    Node& p = g.nodes[producer[x]];
    const bool fusable = p.op == OpKind::conv || p.op == OpKind::gemm || p.op == OpKind::matmul ||
                         p.op == OpKind::add || p.op == OpKind::batch_norm;
    if (!fusable || p.attributes.activation != Activation::none) continue;
    p.attributes.activation = act.op == OpKind::relu ? Activation::relu : Activation::clip;
    if (act.op == OpKind::clip) {
      p.attributes.clip_min = act.attributes.clip_min;
      p.attributes.clip_max = act.attributes.clip_max;
    }
    p.output = act.output;
    removed[i] = 1;
  }
  return erase_nodes(g, removed);
}

}  // namespace sepnet::infer
