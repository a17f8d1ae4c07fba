// Checkpoints: round trip gives identical logits; corrupt, truncated and mismatched files are
// rejected with an error naming the file and the problem; resume restores optimizer state.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "quadrant_data.h"
#include "temp_dir.h"
#include "sepnet/core/autograd.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/atomic_file.h"
#include "sepnet/train/experiment.h"
#include "sepnet/models/seed_models.h"

using namespace sepnet;
namespace fs = std::filesystem;

namespace {
using sepnet::testing::TempDir;

Tensor input_batch(Rng& rng) {
  Tensor x = Tensor::empty({4, 1, 28, 28});
  for (int64_t i = 0; i < x.numel(); ++i) x.data()[i] = rng.uniform(-1, 1);
  return x;
}
}  // namespace

TEST_CASE("save then load reproduces the logits exactly", "[checkpoint]") {
  TempDir dir;
  Rng rng(1);
  models::SeedNet a("dw", true, rng), b("dw", true, rng);  // different random weights
  // Move BN running statistics away from their defaults so buffers are checked too.
  for (int i = 0; i < 3; ++i) a.forward(input_batch(rng));
  a.eval();
  b.eval();
  Tensor x = input_batch(rng);
  NoGradGuard no_grad;
  const auto expected = a.forward(x).to_vector();
  REQUIRE(b.forward(x).to_vector() != expected);
  const std::string path = (dir.path / "model.safetensors").string();
  save_model(path, a, {{"model", "dw"}, {"batch_norm", "true"}});
  const Metadata m = load_model(path, b);
  CHECK(m.at("model") == "dw");
  CHECK(b.forward(x).to_vector() == expected);
}

TEST_CASE("mismatched and corrupt checkpoints are rejected clearly", "[checkpoint]") {
  TempDir dir;
  Rng rng(2);
  models::SeedNet cnn("cnn", true, rng), dw("dw", true, rng), cnn_nobn("cnn", false, rng);
  const std::string path = (dir.path / "cnn.safetensors").string();
  save_model(path, cnn, {{"model", "cnn"}});
  // Wrong architecture: names and shapes listed.
  CHECK_THROWS_WITH(load_model(path, dw), Catch::Contains(path) && Catch::Contains("missing tensor 'conv_module.1.weight'"));
  CHECK_THROWS_WITH(load_model(path, cnn_nobn), Catch::Contains("unexpected tensor 'conv_module.2.running_mean'"));
  CHECK_THROWS_WITH(load_model(path, dw), Catch::Contains("has shape [6, 1, 5, 5]"));

  // Truncated file and flipped header bytes.
  const std::string bytes = read_file_bytes(path);
  const std::string truncated = (dir.path / "truncated.safetensors").string();
  write_file_atomically(truncated, bytes.substr(0, bytes.size() / 2));
  CHECK_THROWS_WITH(load_model(truncated, cnn), Catch::Contains(truncated));
  std::string corrupt_bytes = bytes;
  corrupt_bytes[10] = '#';
  const std::string corrupt = (dir.path / "corrupt.safetensors").string();
  write_file_atomically(corrupt, corrupt_bytes);
  CHECK_THROWS_WITH(load_model(corrupt, cnn), Catch::Contains(corrupt));
  CHECK_THROWS_WITH(load_model((dir.path / "absent.safetensors").string(), cnn), Catch::Contains("absent.safetensors"));
  // A failed load leaves the model untouched.
  Tensor before = cnn.named_parameters().front().second.clone();
  CHECK_THROWS(load_model(truncated, cnn));
  CHECK(cnn.named_parameters().front().second.to_vector() == before.to_vector());
}

TEST_CASE("resuming continues exactly where an uninterrupted run would be", "[checkpoint][train]") {
  TempDir dir;
  const auto data = sepnet::testing::quadrants(240, 3);  // the class is the brightest quadrant

  train::RunConfig c = train::config_from_recipe(*train::find_recipe("standard"));
  c.model.name = "dwsep";
  c.epochs = 2;
  c.batch = 16;
  c.lr = 0.005f;
  c.out_dir = (dir.path / "full").string();
  const auto full = train::run_training(c, data, data);

  c.epochs = 1;
  c.out_dir = (dir.path / "part").string();
  train::run_training(c, data, data);
  c.epochs = 2;
  c.resume = (dir.path / "part" / "model.safetensors").string();
  const auto resumed = train::run_training(c, data, data);
  REQUIRE(resumed.epochs.size() == 1);
  CHECK(resumed.epochs[0].epoch == 2);
  CHECK(resumed.epochs[0].test_accuracy == full.epochs[1].test_accuracy);
  CHECK(resumed.epochs[0].train.train_loss == full.epochs[1].train.train_loss);
  CHECK(full.epochs[1].test_accuracy > 90.0);  // the short run learns the task

  // A finished run is found again (sepnet compare reuses it), a different one is not.
  c.resume.clear();
  c.out_dir = (dir.path / "full").string();
  c.epochs = 2;
  const auto again = train::load_finished_run(c, data.size());
  REQUIRE(again.has_value());
  CHECK(again->epochs.size() == 2);
  CHECK(again->final_test_accuracy() == full.final_test_accuracy());
  CHECK(again->parameters == full.parameters);
  CHECK_FALSE(train::load_finished_run(c, data.size() - 1).has_value());
  c.seed += 1;
  CHECK_FALSE(train::load_finished_run(c, data.size()).has_value());
  c.seed -= 1;
  c.epochs = 3;
  CHECK_FALSE(train::load_finished_run(c, data.size()).has_value());
  c.epochs = 2;
  c.resume = (dir.path / "part" / "model.safetensors").string();

  // Resuming with a different model is refused (the checkpoint in part/ is now at epoch 2).
  c.epochs = 3;
  c.model.name = "cnn";
  CHECK_THROWS_WITH(train::run_training(c, data, data), Catch::Contains("checkpoint is for model 'dwsep+BN"));
}
