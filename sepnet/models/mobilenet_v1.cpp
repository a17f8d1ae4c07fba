#include "sepnet/models/mobilenet_v1.h"

#include <cmath>
#include <stdexcept>

#include "sepnet/core/ops.h"
#include "sepnet/core/profiler.h"

namespace sepnet::models {

namespace {
// Five stride-2 stages: a 16-pixel input still leaves a 1×1 map at the end (28 → 14 → 7 → 4 → 2 → 1).
constexpr int kMinImageSize = 16;
int scaled(int channels, float alpha) { return std::max(8, static_cast<int>(std::lround(channels * alpha))); }
}  // namespace

ModelEntry mobilenet_v1_entry() {
  return {"mobilenet", "MobileNet v1 (Howard et al. 2017) with width α (--width) and resolution ρ (--resolution)",
          [](ModelSpec s) {
            if (!s.batch_norm) throw std::invalid_argument("model 'mobilenet' always has BatchNorm (drop --no-bn)");
            if (!(s.width > 0.0f && s.width <= 1.0f))
              throw std::invalid_argument("model 'mobilenet': width multiplier must be in (0, 1], not " +
                                          std::to_string(s.width));
            if (s.image_size == 0) s.image_size = MobileNetOptions{1.0f, s.resolution}.input_size();
            if (s.in_channels == 0) s.in_channels = 3;
            if (s.num_classes == 0) s.num_classes = 1000;
            if (s.image_size < kMinImageSize)
              throw std::invalid_argument("model 'mobilenet' needs images of at least " +
                                          std::to_string(kMinImageSize) + " pixels, not " +
                                          std::to_string(s.image_size));
            return s;
          },
          [](const ModelSpec& s, Rng& rng) -> std::unique_ptr<nn::Module> {
            MobileNetOptions o;
            o.width_multiplier = s.width;
            o.resolution_multiplier = s.resolution;
            o.image_size = s.image_size;
            o.num_classes = s.num_classes;
            o.in_channels = s.in_channels;
            o.channels_last = s.channels_last;
            o.full_conv = s.conv == "full";
            return std::make_unique<MobileNetV1>(o, rng);
          },
          mobilenet_graph,
          /*has_full_conv_variant=*/true};
}

MobileNetV1::MobileNetV1(const MobileNetOptions& o, Rng& rng) : options_(o) {
  if (!(o.width_multiplier > 0.0f && o.width_multiplier <= 1.0f))
    throw std::invalid_argument("MobileNet width multiplier must be in (0, 1]");
  if (!(o.resolution_multiplier > 0.0f) || o.input_size() < kMinImageSize)
    throw std::invalid_argument("MobileNet input must be at least " + std::to_string(kMinImageSize) + " pixels wide, not " +
                                std::to_string(o.input_size()));
  using nn::Conv2d;
  using nn::Conv2dOptions;
  features_ = std::make_shared<nn::Sequential>();
  const float a = o.width_multiplier;
  const bool cl = o.channels_last;
  using nn::ConvLayout;
  const ConvLayout stem = cl ? ConvLayout::nchw_in_nhwc_out : ConvLayout::nchw, body = cl ? ConvLayout::nhwc : ConvLayout::nchw;
  int channels = scaled(32, a);
  features_->add(std::make_shared<Conv2d>(Conv2dOptions{o.in_channels, channels, 3, 2, 1, 1, false, stem}, rng));
  features_->add(std::make_shared<nn::BatchNorm2d>(channels, 0.1f, 1e-5f, cl));
  features_->add(std::make_shared<nn::ReLU>());
  // (output channels, stride) of the 13 depthwise-separable blocks, from the paper's Table 1.
  const int blocks[13][2] = {{64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
                             {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  for (const auto& [out, stride] : blocks) {
    const int out_channels = scaled(out, a);
    if (o.full_conv) {
      features_->add(std::make_shared<Conv2d>(Conv2dOptions{channels, out_channels, 3, stride, 1, 1, false, body}, rng));
      features_->add(std::make_shared<nn::BatchNorm2d>(out_channels, 0.1f, 1e-5f, cl));
      features_->add(std::make_shared<nn::ReLU>());
      channels = out_channels;
      continue;
    }
    features_->add(std::make_shared<Conv2d>(Conv2dOptions{channels, channels, 3, stride, 1, channels, false, body}, rng));
    features_->add(std::make_shared<nn::BatchNorm2d>(channels, 0.1f, 1e-5f, cl));
    features_->add(std::make_shared<nn::ReLU>());
    features_->add(std::make_shared<Conv2d>(Conv2dOptions{channels, out_channels, 1, 1, 0, 1, false, body}, rng));
    features_->add(std::make_shared<nn::BatchNorm2d>(out_channels, 0.1f, 1e-5f, cl));
    features_->add(std::make_shared<nn::ReLU>());
    channels = out_channels;
  }
  features_->add(std::make_shared<nn::GlobalAvgPool>(cl));
  classifier_ = std::make_shared<nn::Sequential>();
  classifier_->add(std::make_shared<nn::Linear>(channels, o.num_classes, rng));
  register_module("features", features_);
  register_module("classifier", classifier_);
}

Tensor MobileNetV1::forward(const Tensor& x) {
  Tensor h;
  {
    profiler::Scope scope("features");
    // Channels-last: the stem takes the NCHW image and writes NHWC; everything after stays NHWC.
    h = features_->forward(x);
  }
  profiler::Scope scope("classifier");
  return classifier_->forward(h);
}

std::string MobileNetV1::describe() const {
  return "MobileNetV1(alpha=" + std::to_string(options_.width_multiplier).substr(0, 4) +
         ", input=" + std::to_string(options_.input_size()) + (options_.full_conv ? ", full conv" : "") +
         (options_.channels_last ? ", NHWC" : ", NCHW") + ")";
}

int64_t MobileNetV1::macs(const Shape& in) const {
  return features_->macs(in) + classifier_->macs(features_->output_shape(in));
}

}  // namespace sepnet::models
