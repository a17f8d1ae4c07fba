// models::inference_graph and the to_graph lowerings of the built-in networks.
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/core/data/dataset.h"
#include "sepnet/infer/lower_module.h"
#include "sepnet/models/mobilenet_v1.h"
#include "sepnet/models/registry.h"
#include "sepnet/models/seed_models.h"

namespace sepnet::models {

namespace {

const nn::Module& child(const nn::Module& model, const std::string& name) {
  for (const auto& [n, m] : model.children())
    if (n == name) return *m;
  throw std::invalid_argument("inference graph: " + model.describe() + " has no child module '" + name + "'");
}

infer::Graph graph_with_input(const ModelSpec& s, int& x) {
  infer::Graph g;
  x = g.add_value({"input", {infer::kBatch, s.in_channels, s.image_size, s.image_size}, Tensor()});
  g.input = x;
  return g;
}

void set_output(infer::Graph& g, int y) {
  g.values[y].name = "logits";
  g.output = y;
}

}  // namespace

// cnn, dw, dwsep: conv_module → Flatten → fc_module.
infer::Graph seed_net_graph(const nn::Module& model, const ModelSpec& s) {
  int x;
  infer::Graph g = graph_with_input(s, x);
  x = infer::lower_module(g, child(model, "conv_module"), x, "conv_module");
  const Shape features = g.values[x].shape;
  infer::Node flatten;
  flatten.op = infer::OpKind::flatten;
  flatten.name = "flatten";
  flatten.inputs = {x};
  x = g.add_node(flatten, "flatten", {infer::kBatch, features[1] * features[2] * features[3]});
  set_output(g, infer::lower_module(g, child(model, "fc_module"), x, "fc_module"));
  return g;
}

// MobileNet: features (ending in GlobalAveragePool + Flatten) → classifier.
infer::Graph mobilenet_graph(const nn::Module& model, const ModelSpec& s) {
  int x;
  infer::Graph g = graph_with_input(s, x);
  x = infer::lower_module(g, child(model, "features"), x, "features");
  set_output(g, infer::lower_module(g, child(model, "classifier"), x, "classifier"));
  return g;
}

infer::Graph inference_graph(const nn::Module& model, const ModelSpec& resolved, float input_mean, float input_std) {
  const ModelEntry& entry = find_model(resolved.name);
  if (!entry.to_graph) throw std::invalid_argument("model " + resolved.name + " has no inference graph");
  infer::Graph g = entry.to_graph(model, resolved);
  for (const auto& [key, value] : spec_metadata(resolved)) g.metadata["sepnet." + key] = value;
  g.metadata["sepnet.model"] = resolved.name;
  // A data set normalizes every channel alike (core/data/dataset.h).
  if (!(input_std > 0.0f) || !std::isfinite(input_mean))
    throw std::invalid_argument(fmt::format("inference_graph: input normalization mean {} std {} is not usable", input_mean, input_std));
  std::string mean, stddev;
  for (int c = 0; c < resolved.in_channels; ++c) {
    mean += fmt::format("{}{}", c ? "," : "", input_mean);
    stddev += fmt::format("{}{}", c ? "," : "", input_std);
  }
  g.metadata["sepnet.input_mean"] = mean;
  g.metadata["sepnet.input_std"] = stddev;
  infer::validate(g);
  return g;
}

}  // namespace sepnet::models
