// custom_model: a network sepnet does not ship ("tinynet": 3×3 conv, BN, ReLU, pool,
// depthwise-separable block, global pooling, linear), registered with sepnet's model registry
// and trained with sepnet's trainer. Usage: custom_model --data DIR --out DIR [--epochs N]
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include <sepnet/core/checkpoint.h>
#include <sepnet/core/data/dataset.h>
#include <sepnet/core/nn/layers.h>
#include <sepnet/kernels/threads.h>
#include <sepnet/models/registry.h>
#include <sepnet/train/experiment.h>
#include <sepnet/train/recipe.h>

namespace {

using namespace sepnet;

class TinyNet : public nn::Module {
 public:
  TinyNet(const models::ModelSpec& spec, Rng& rng) {
    const int c = 16;
    body_ = std::make_shared<nn::Sequential>();
    body_->add(std::make_shared<nn::Conv2d>(nn::Conv2dOptions{spec.in_channels, c, 3, 1, 1}, rng));
    if (spec.batch_norm) body_->add(std::make_shared<nn::BatchNorm2d>(c));
    body_->add(std::make_shared<nn::ReLU>());
    body_->add(std::make_shared<nn::MaxPool2d>(2));
    body_->add(std::make_shared<nn::Conv2d>(nn::Conv2dOptions{c, c, 3, 1, 1, /*groups=*/c}, rng));  // depthwise
    body_->add(std::make_shared<nn::Conv2d>(nn::Conv2dOptions{c, 2 * c, 1}, rng));                 // pointwise
    body_->add(std::make_shared<nn::ReLU>());
    body_->add(std::make_shared<nn::GlobalAvgPool>());
    head_ = std::make_shared<nn::Linear>(2 * c, spec.num_classes, rng);
    register_module("body", body_);
    register_module("head", head_);
  }
  Tensor forward(const Tensor& x) override { return head_->forward(body_->forward(x)); }
  std::string describe() const override { return "TinyNet"; }
  Shape output_shape(const Shape& in) const override { return head_->output_shape(body_->output_shape(in)); }
  int64_t macs(const Shape& in) const override { return body_->macs(in) + head_->macs(body_->output_shape(in)); }

 private:
  std::shared_ptr<nn::Sequential> body_;
  std::shared_ptr<nn::Linear> head_;
};

void register_tinynet() {
  models::register_model({
      "tinynet",
      "example: conv-BN-ReLU-pool, one depthwise-separable block, global pooling, linear",
      [](models::ModelSpec s) {
        // Defaults for fields the data set did not fill; any image size works (global pooling).
        if (s.in_channels == 0) s.in_channels = 1;
        if (s.image_size == 0) s.image_size = 28;
        if (s.num_classes == 0) s.num_classes = 10;
        return s;
      },
      [](const models::ModelSpec& s, Rng& rng) -> std::unique_ptr<nn::Module> { return std::make_unique<TinyNet>(s, rng); },
  });
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_dir = "data/mnist", out_dir = "runs/tinynet";
  int epochs = 1;
  long max_train = -1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data") data_dir = value;
    else if (flag == "--out") out_dir = value;
    else if (flag == "--epochs") epochs = std::stoi(value);
    else if (flag == "--max-train") max_train = std::stol(value);
    else {
      std::fprintf(stderr, "usage: %s --data DIR --out DIR [--epochs N] [--max-train N]\n", argv[0]);
      return 2;
    }
  }
  try {
    register_tinynet();
    sepnet::kernels::set_num_threads(1);
    auto train_data = data::load_dataset(data_dir, true, max_train);
    auto test_data = data::load_dataset(data_dir, false);

    train::RunConfig config = train::config_from_recipe(*train::find_recipe("standard"));
    config.model.name = "tinynet";
    config.epochs = epochs;
    config.lr = 0.01f;  // a network of ~1k parameters learns in one epoch with a larger Adam step
    config.out_dir = out_dir;
    train::fit_data_to_model(config.model, train_data, test_data);  // the test set takes the training set's normalization
    const train::RunResult result = train::run_training(config, train_data, test_data);
    std::printf("tinynet: %lld parameters, %lld MACs/image, test accuracy %.2f%% after %d epoch(s)\n",
                static_cast<long long>(result.parameters), static_cast<long long>(result.macs_per_image),
                result.final_test_accuracy(), epochs);

    // The checkpoint names its model; the registry rebuilds it from the metadata alone.
    const std::string checkpoint = out_dir + "/model.safetensors";
    auto reloaded = train::model_from_metadata(checkpoint, read_metadata(checkpoint));
    load_model(checkpoint, *reloaded);
    const train::Evaluation again = train::evaluate(*reloaded, test_data);
    std::printf("reloaded %s: test accuracy %.2f%%\n", checkpoint.c_str(), again.accuracy);
    if (again.accuracy != result.final_test_accuracy()) {
      std::fprintf(stderr, "custom_model: the reloaded checkpoint scores differently\n");
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "custom_model: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
