// MobileNet v1 (Howard et al. 2017) with the width multiplier α (channels × α) and the
// resolution multiplier ρ (input side = round(224·ρ)): a 3×3 stride-2 conv, 13 depthwise-
// separable blocks (3×3 depthwise + BN + ReLU, 1×1 pointwise + BN + ReLU), global average
// pooling and a linear classifier. With full_conv each block is instead one full 3×3 conv +
// BN + ReLU with the block's channels and stride: the paper's Table 4 baseline ("Conv
// MobileNet", 4866 M MACs and 29.3 M parameters at 224², α 1).
//
// Parameter names follow PyTorch's nn.Sequential indices: features.0 (stem conv), features.1
// (its BN), then 6 modules per separable block (dw conv, BN, ReLU, pw conv, BN, ReLU) or 3 per
// full block, the pooling, and classifier.0 (scripts/torch_mobilenet.py builds the same).
#pragma once
#include <memory>

#include "sepnet/core/nn/layers.h"
#include "sepnet/models/registry.h"

namespace sepnet::models {

struct MobileNetOptions {
  float width_multiplier = 1.0f;       // α ∈ (0, 1]; channels = max(8, round(c·α))
  float resolution_multiplier = 1.0f;  // ρ; input side = round(224·ρ) unless image_size is set
  int num_classes = 1000;
  int in_channels = 3;
  // Run channels-last (NHWC) after the stem: depthwise vectorizes over channels and the 1×1
  // convs are single GEMMs (docs/design.md, "Layouts"). Input and output are the same either
  // way ([N, 3, H, W] images in, logits out), and so are parameters and checkpoints.
  bool channels_last = true;
  int image_size = 0;  // input side in pixels; 0: round(224·ρ)
  bool full_conv = false;
  int input_size() const {
    return image_size > 0 ? image_size : static_cast<int>(224.0f * resolution_multiplier + 0.5f);
  }
};

class MobileNetV1 : public nn::Module {
 public:
  MobileNetV1(const MobileNetOptions& options, Rng& rng);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;
  Shape output_shape(const Shape& in) const override { return {in[0], options_.num_classes}; }
  int64_t macs(const Shape& in) const override;
  const MobileNetOptions& options() const { return options_; }
  nn::Sequential& features() { return *features_; }

 private:
  MobileNetOptions options_;
  std::shared_ptr<nn::Sequential> features_, classifier_;
};

// Registry entry "mobilenet": defaults 3×224ρ×224ρ images, 1000 classes; BN always on
// (the paper's network; --no-bn is refused); accepts conv "full".
ModelEntry mobilenet_v1_entry();
// A MobileNetV1 as an inference graph: features → classifier (models/inference_graph.cpp).
infer::Graph mobilenet_graph(const nn::Module& model, const ModelSpec& resolved);

}  // namespace sepnet::models
