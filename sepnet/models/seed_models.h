// The MNIST networks of the MobileNet write-up, exactly as written there (see docs/models.md):
//   cnn   : Conv(1,6,5) ReLU BN(6) Pool2 Conv(6,16,5) ReLU BN(16) Pool2
//   dw    : Conv(1,1,5) Conv(1,6,1) ReLU BN(6) Pool2 Conv(6,6,5) Conv(6,16,1) ReLU BN(16) Pool2
//           (as written, its second 5×5 conv is a full 6→6 conv, not depthwise)
//   dwsep : dw with the second 5×5 conv truly depthwise (groups = 6)
// followed by Linear(256,120) ReLU Linear(120,84) ReLU Linear(84,10). Without BN the BN layers
// are left out, so positions in conv_module shift exactly as they would in PyTorch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "sepnet/core/nn/layers.h"
#include "sepnet/models/registry.h"

namespace sepnet::models {

class SeedNet : public nn::Module {
 public:
  SeedNet(const std::string& architecture, bool batch_norm, Rng& rng);
  Tensor forward(const Tensor& x) override;  // [N,1,28,28] -> logits [N,10]
  std::string describe() const override;
  Shape output_shape(const Shape& in) const override;
  int64_t macs(const Shape& in) const override;

  const std::string& architecture() const { return architecture_; }
  bool batch_norm() const { return batch_norm_; }
  nn::Sequential& conv_module() { return *conv_; }
  nn::Sequential& fc_module() { return *fc_; }

 private:
  std::string architecture_;
  bool batch_norm_;
  std::shared_ptr<nn::Sequential> conv_, fc_;
};

const std::vector<std::string>& seed_architectures();  // {"cnn", "dw", "dwsep"}
bool is_seed_architecture(const std::string& name);
// Registry entries "cnn", "dw", "dwsep": 1×28×28 images, 10 classes; --no-bn leaves out BN.
std::vector<ModelEntry> seed_model_entries();
// A SeedNet as an inference graph: conv_module → Flatten → fc_module (models/inference_graph.cpp).
infer::Graph seed_net_graph(const nn::Module& model, const ModelSpec& resolved);

}  // namespace sepnet::models
