// The model registry: every registered model builds, describes itself and round-trips through
// checkpoint metadata; bad metadata is refused naming the file and key; a user's model
// registers, trains, resumes and reloads like the built-in ones; MobileNet trains and resumes
// through the same path.
#include <catch2/catch.hpp>

#include "quadrant_data.h"
#include "temp_dir.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/data/dataset.h"
#include "sepnet/core/nn/layers.h"
#include "sepnet/models/registry.h"
#include "sepnet/train/experiment.h"
#include "sepnet/train/recipe.h"

using namespace sepnet;
using sepnet::testing::TempDir;

namespace {

using sepnet::testing::quadrants;

class Probe : public nn::Module {
 public:
  Probe(const models::ModelSpec& s, Rng& rng) {
    net_ = std::make_shared<nn::Sequential>();
    net_->add(std::make_shared<nn::Flatten>());
    net_->add(std::make_shared<nn::Linear>(s.in_channels * s.image_size * s.image_size, s.num_classes, rng));
    register_module("net", net_);
  }
  Tensor forward(const Tensor& x) override { return net_->forward(x); }
  std::string describe() const override { return "Probe"; }
  Shape output_shape(const Shape& in) const override { return net_->output_shape(in); }

 private:
  std::shared_ptr<nn::Sequential> net_;
};

}  // namespace

TEST_CASE("every registered model builds at its defaults and round-trips through metadata", "[registry]") {
  const auto names = models::model_names();
  CHECK(names.size() >= 4);
  for (const char* name : {"cnn", "dw", "dwsep", "mobilenet"}) CHECK(models::has_model(name));
  for (const std::string& name : names) {
    INFO(name);
    models::ModelSpec spec{.name = name, .width = name == "mobilenet" ? 0.25f : 1.0f, .image_size = name == "mobilenet" ? 32 : 0};
    const models::ModelSpec r = models::resolve_spec(spec);
    Rng rng(1);
    const auto net = models::build_model(r, rng);
    const Shape out = net->output_shape(models::input_shape(r, 2));
    CHECK(out == Shape{2, r.num_classes});
    CHECK(net->parameter_count() > 0);
    const models::ModelSpec back = models::spec_from_metadata("m.safetensors", models::spec_metadata(r));
    CHECK(models::spec_metadata(back) == models::spec_metadata(r));
  }
}

TEST_CASE("a model refuses options it cannot take, saying what it takes", "[registry]") {
  CHECK_THROWS_WITH(models::resolve_spec({.name = "cnn", .image_size = 32}), Catch::Contains("takes 1×28×28"));
  CHECK_THROWS_WITH(models::resolve_spec({.name = "mobilenet", .batch_norm = false}), Catch::Contains("always has BatchNorm"));
  CHECK_THROWS_WITH(models::resolve_spec({.name = "mobilenet", .image_size = 8}), Catch::Contains("at least 16"));
  CHECK_THROWS_WITH(models::resolve_spec({.name = "lenet"}), Catch::Contains("unknown model 'lenet'") && Catch::Contains("mobilenet"));
  const auto mb = models::resolve_spec({.name = "mobilenet", .resolution = 0.5f});
  CHECK(mb.image_size == 112);
  CHECK(mb.in_channels == 3);
  CHECK(mb.num_classes == 1000);
}

TEST_CASE("checkpoint metadata is checked key by key, naming the file", "[registry][checkpoint]") {
  Metadata good = models::spec_metadata(models::resolve_spec({.name = "dwsep"}));
  CHECK(models::spec_from_metadata("f", good).name == "dwsep");
  // The MNIST nets' first format carried only these two keys.
  CHECK(models::spec_from_metadata("f", {{"model", "cnn"}, {"batch_norm", "false"}}).image_size == 28);
  auto with = [&](const std::string& key, const std::string& value) {
    Metadata m = good;
    m[key] = value;
    return m;
  };
  CHECK_THROWS_WITH(models::spec_from_metadata("run/model.safetensors", {{"model", "cnn"}}),
                    Catch::Contains("run/model.safetensors") && Catch::Contains("'batch_norm'"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", {{"batch_norm", "true"}}), Catch::Contains("no 'model' key"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("model", "resnet")), Catch::Contains("'resnet', which is not registered"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("batch_norm", "yes")), Catch::Contains("'batch_norm' = 'yes'"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("image_size", "-3")), Catch::Contains("'image_size' = '-3'"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("image_size", "2147483648")), Catch::Contains("'image_size'"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("width", "nan")), Catch::Contains("'width' = 'nan'"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("width", "1e999")), Catch::Contains("'width'"));
  CHECK_THROWS_WITH(models::spec_from_metadata("f", with("image_size", "32")), Catch::Contains("f: model 'dwsep' takes"));
}

TEST_CASE("a user's model registers once, trains, resumes and reloads through the registry", "[registry][train]") {
  if (!models::has_model("probe"))
    models::register_model({"probe", "a linear probe (test)", [](models::ModelSpec s) { return s; },
                            [](const models::ModelSpec& s, Rng& rng) -> std::unique_ptr<nn::Module> {
                              return std::make_unique<Probe>(s, rng);
                            }});
  CHECK_THROWS_WITH(models::register_model({"probe", "", [](models::ModelSpec s) { return s; },
                                            [](const models::ModelSpec& s, Rng& rng) -> std::unique_ptr<nn::Module> {
                                              return std::make_unique<Probe>(s, rng);
                                            }}),
                    Catch::Contains("already registered"));
  CHECK_THROWS(models::register_model({"incomplete", "", nullptr, nullptr}));

  TempDir dir;
  const auto data = quadrants(160, 3);
  train::RunConfig c = train::config_from_recipe(*train::find_recipe("standard"));
  c.model.name = "probe";
  c.epochs = 2;
  c.batch = 16;
  c.out_dir = (dir.path / "full").string();
  const auto full = train::run_training(c, data, data);
  CHECK(full.config.model.in_channels == 1);  // filled in from the data
  CHECK(full.config.model.image_size == 28);
  CHECK(full.final_test_accuracy() > 90.0);

  c.epochs = 1;
  c.out_dir = (dir.path / "part").string();
  train::run_training(c, data, data);
  c.epochs = 2;
  c.resume = (dir.path / "part" / "model.safetensors").string();
  const auto resumed = train::run_training(c, data, data);
  REQUIRE(resumed.epochs.size() == 1);
  CHECK(resumed.epochs[0].test_accuracy == full.epochs[1].test_accuracy);

  const std::string ckpt = (dir.path / "full" / "model.safetensors").string();
  auto net = train::model_from_metadata(ckpt, read_metadata(ckpt));
  load_model(ckpt, *net);
  CHECK(net->describe() == "Probe");
  CHECK(train::evaluate(*net, data).accuracy == full.final_test_accuracy());
}

TEST_CASE("MobileNet trains on 28×28 grayscale data and resumes exactly", "[registry][train][mobilenet]") {
  TempDir dir;
  const auto data = quadrants(64, 4);
  train::RunConfig c = train::config_from_recipe(*train::find_recipe("standard"));
  c.model = {.name = "mobilenet", .width = 0.25f};
  c.epochs = 2;
  c.batch = 16;
  c.out_dir = (dir.path / "full").string();
  const auto full = train::run_training(c, data, data);
  CHECK(full.config.model.image_size == 28);
  CHECK(full.config.model.in_channels == 1);
  CHECK(full.config.model.num_classes == 10);
  c.epochs = 1;
  c.out_dir = (dir.path / "part").string();
  train::run_training(c, data, data);
  c.epochs = 2;
  c.resume = (dir.path / "part" / "model.safetensors").string();
  const auto resumed = train::run_training(c, data, data);
  REQUIRE(resumed.epochs.size() == 1);
  CHECK(resumed.epochs[0].train.train_loss == full.epochs[1].train.train_loss);
  CHECK(resumed.epochs[0].test_accuracy == full.epochs[1].test_accuracy);
  // A different width is a different network: refused, naming both.
  c.epochs = 3;
  c.model.width = 0.5f;
  CHECK_THROWS_WITH(train::run_training(c, data, data), Catch::Contains("checkpoint is for model 'mobilenet+BN α=0.25"));
}

TEST_CASE("data that does not fit the model is refused before training, naming the data", "[registry][train]") {
  const auto data = quadrants(16, 5);
  train::RunConfig c = train::config_from_recipe(*train::find_recipe("standard"));
  c.model.name = "cnn";
  c.model.image_size = 32;
  CHECK_THROWS_WITH(train::run_training(c, data, data), Catch::Contains("training data") && Catch::Contains("1×28×28"));
  c.model = {.name = "cnn", .num_classes = 3};
  CHECK_THROWS_WITH(train::run_training(c, data, data), Catch::Contains("training data"));
}
