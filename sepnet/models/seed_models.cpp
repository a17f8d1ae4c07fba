#include "sepnet/models/seed_models.h"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/core/ops.h"
#include "sepnet/core/profiler.h"

namespace sepnet::models {

const std::vector<std::string>& seed_architectures() {
  static const std::vector<std::string> names{"cnn", "dw", "dwsep"};
  return names;
}

bool is_seed_architecture(const std::string& name) {
  const auto& names = seed_architectures();
  return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<ModelEntry> seed_model_entries() {
  const char* summaries[] = {"the write-up's LeNet-style CNN: two 5×5 convs, three linear layers",
                             "the write-up's 'depthwise' net as written (its second 5×5 conv is a full 6→6 conv)",
                             "dw with that conv truly depthwise (groups = 6)"};
  std::vector<ModelEntry> entries;
  for (size_t i = 0; i < seed_architectures().size(); ++i) {
    const std::string name = seed_architectures()[i];
    entries.push_back({name, summaries[i],
                       [](ModelSpec s) {
                         // Fixed by the architecture: the flatten after two 5×5 convs and pools
                         // expects 16×4×4 features.
                         if (s.image_size == 0) s.image_size = 28;
                         if (s.in_channels == 0) s.in_channels = 1;
                         if (s.num_classes == 0) s.num_classes = 10;
                         if (s.image_size != 28 || s.in_channels != 1 || s.num_classes != 10 || s.width != 1.0f)
                           throw std::invalid_argument(fmt::format(
                               "model '{}' takes 1×28×28 images in 10 classes at width 1, not {}×{}×{} in {} "
                               "classes at width {}",
                               s.name, s.in_channels, s.image_size, s.image_size, s.num_classes, s.width));
                         s.resolution = 1.0f;
                         return s;
                       },
                       [](const ModelSpec& s, Rng& rng) -> std::unique_ptr<nn::Module> {
                         return std::make_unique<SeedNet>(s.name, s.batch_norm, rng);
                       },
                       seed_net_graph});
  }
  return entries;
}

SeedNet::SeedNet(const std::string& architecture, bool batch_norm, Rng& rng)
    : architecture_(architecture), batch_norm_(batch_norm) {
  if (!is_seed_architecture(architecture))
    throw std::invalid_argument("unknown model '" + architecture + "' (known: cnn, dw, dwsep)");
  using nn::Conv2d;
  using nn::Conv2dOptions;
  conv_ = std::make_shared<nn::Sequential>();
  auto conv = [&](int in, int out, int k, int groups = 1) {
    conv_->add(std::make_shared<Conv2d>(Conv2dOptions{in, out, k, 1, 0, groups}, rng));
  };
  auto relu_bn_pool = [&](int channels) {
    conv_->add(std::make_shared<nn::ReLU>());
    if (batch_norm) conv_->add(std::make_shared<nn::BatchNorm2d>(channels));
    conv_->add(std::make_shared<nn::MaxPool2d>(2));
  };
  if (architecture == "cnn") {
    conv(1, 6, 5);
    relu_bn_pool(6);
    conv(6, 16, 5);
    relu_bn_pool(16);
  } else {
    conv(1, 1, 5);
    conv(1, 6, 1);
    relu_bn_pool(6);
    conv(6, 6, 5, architecture == "dwsep" ? 6 : 1);
    conv(6, 16, 1);
    relu_bn_pool(16);
  }
  fc_ = std::make_shared<nn::Sequential>();
  fc_->add(std::make_shared<nn::Linear>(256, 120, rng));
  fc_->add(std::make_shared<nn::ReLU>());
  fc_->add(std::make_shared<nn::Linear>(120, 84, rng));
  fc_->add(std::make_shared<nn::ReLU>());
  fc_->add(std::make_shared<nn::Linear>(84, 10, rng));
  register_module("conv_module", conv_);
  register_module("fc_module", fc_);
}

Tensor SeedNet::forward(const Tensor& x) {
  Tensor features;
  {
    profiler::Scope scope("conv_module");
    features = ops::flatten(conv_->forward(x));
  }
  profiler::Scope scope("fc_module");
  return fc_->forward(features);
}

std::string SeedNet::describe() const { return architecture_ + (batch_norm_ ? "+BN" : " (no BN)"); }

Shape SeedNet::output_shape(const Shape& in) const {
  Shape s = conv_->output_shape(in);
  return fc_->output_shape({s[0], s[1] * s[2] * s[3]});
}

int64_t SeedNet::macs(const Shape& in) const {
  Shape s = conv_->output_shape(in);
  return conv_->macs(in) + fc_->macs({s[0], s[1] * s[2] * s[3]});
}

}  // namespace sepnet::models
