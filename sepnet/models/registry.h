// The model registry: one place that maps a model name to its factory, its options and the
// checkpoint metadata that rebuilds it. `sepnet train|eval|info|throughput|compare` and resume
// all build networks through it, and a program outside the repository adds its own network
// the same way (examples/custom_model).
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sepnet/core/checkpoint.h"
#include "sepnet/core/nn/module.h"
#include "sepnet/core/random.h"
#include "sepnet/infer/graph.h"

namespace sepnet::models {

// Everything that decides a network's parameters, plus its activation layout. A field left
// at 0 takes the model's default (resolve_spec fills it in); the data set being trained on
// fills in channels, image size and classes before that.
struct ModelSpec {
  std::string name = "cnn";
  bool batch_norm = true;
  float width = 1.0f;        // width multiplier α (models that scale their channels)
  float resolution = 1.0f;   // resolution multiplier ρ: default image side round(224·ρ)
  int image_size = 0;        // square input side in pixels
  int in_channels = 0;
  int num_classes = 0;
  bool channels_last = true;  // layout after the stem; changes speed, not parameters
  // "separable" (the model as designed) or "full": every depthwise-separable block replaced by
  // one full 3×3 convolution (MobileNet paper, Table 4). Only models that declare
  // ModelEntry::has_full_conv_variant accept "full".
  std::string conv = "separable";
};

using ModelFactory = std::function<std::unique_ptr<nn::Module>(const ModelSpec&, Rng&)>;
// Lowers a network the entry's factory built (for the same resolved spec) into an inference graph
// with input "input" [kBatch, C, H, W] and output "logits"; inference_graph adds the metadata.
using GraphLowering = std::function<infer::Graph(const nn::Module&, const ModelSpec&)>;

struct ModelEntry {
  std::string name;
  std::string summary;  // one line, shown by `sepnet info --list`
  // Fills the fields left at 0 with this model's defaults and checks the others; throws
  // std::invalid_argument saying what the model accepts.
  std::function<ModelSpec(ModelSpec)> resolve;
  ModelFactory build;   // called with a resolved spec
  GraphLowering to_graph = nullptr;  // optional: the network as an inference graph
  bool has_full_conv_variant = false;  // accepts ModelSpec::conv == "full"
};

// Adds a model; throws std::invalid_argument if the name is taken or the entry is incomplete.
void register_model(ModelEntry entry);
// The entry for `name`; throws std::invalid_argument listing the registered names.
const ModelEntry& find_model(const std::string& name);
bool has_model(const std::string& name);
std::vector<std::string> model_names();  // registration order: cnn, dw, dwsep, mobilenet, then users'

ModelSpec resolve_spec(const ModelSpec& spec);
// Builds the network of a spec (resolved first) with weights drawn from `rng`.
std::unique_ptr<nn::Module> build_model(const ModelSpec& spec, Rng& rng);
// The network a checkpoint file at `path` describes. A checkpoint holds every parameter and
// buffer, so a spec whose network needs far more memory than the file's size is refused (naming
// the file) before it is allocated: a few bytes of hostile metadata cannot cost gigabytes.
std::unique_ptr<nn::Module> build_model_for_checkpoint(const ModelSpec& spec, Rng& rng, const std::string& path);
// `model` (built for `resolved`, in eval mode for BatchNorm's running statistics) as an inference
// graph, with metadata "sepnet.model", "sepnet.<spec key>" for each spec_metadata key, and the
// input normalization "sepnet.input_mean" / "sepnet.input_std" (one value per channel, applied to
// [0, 1] pixels: `input_mean` and `input_std`, what the network was trained on — a checkpoint
// records them). Throws std::invalid_argument "model X has no inference graph" when its entry
// has no to_graph. Constants alias the model's weights.
infer::Graph inference_graph(const nn::Module& model, const ModelSpec& resolved, float input_mean, float input_std);
// [batch, in_channels, image_size, image_size] of a resolved spec.
Shape input_shape(const ModelSpec& resolved, int64_t batch = 1);
// One line naming the spec: "dwsep+BN 1×28×28 → 10", "mobilenet+BN α=0.25 full-conv 1×32×32 → 10".
std::string spec_label(const ModelSpec& resolved);

// The metadata keys a checkpoint carries to rebuild its network ("model", "batch_norm",
// "width", "resolution", "image_size", "in_channels", "num_classes", "conv").
Metadata spec_metadata(const ModelSpec& resolved);
// The inverse, checking every key and number; errors name `path` and the key. Checkpoints that
// carry only "model" and "batch_norm" (the MNIST nets' first format) get the model's defaults.
ModelSpec spec_from_metadata(const std::string& path, const Metadata& metadata);

}  // namespace sepnet::models
