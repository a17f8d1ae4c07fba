// The run directory and what training refuses: files from different saves are not resumed
// together, another run is not overwritten unless asked, symlinks placed by others are never
// written through, divergence stops training with the last good epoch kept, checkpoint numbers
// are range-checked, and a training step's memory stays within a fixed bound.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "quadrant_data.h"
#include "temp_dir.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/safetensors.h"
#include "sepnet/core/storage.h"
#include "sepnet/models/registry.h"
#include "sepnet/train/experiment.h"
#include "sepnet/train/recipe.h"
#include "sepnet/train/run_directory.h"

using namespace sepnet;
using sepnet::testing::quadrants;
using sepnet::testing::TempDir;
namespace fs = std::filesystem;

namespace {

train::RunConfig small_run(const fs::path& out, int epochs) {
  train::RunConfig c = train::config_from_recipe(*train::find_recipe("standard"));
  c.model.name = "cnn";
  c.epochs = epochs;
  c.batch = 32;
  c.threads = 1;
  c.out_dir = out.string();
  return c;
}

// A freshly initialized cnn and the metadata a checkpoint of it at epoch 1 carries.
std::unique_ptr<nn::Module> cnn_at_epoch_1(Metadata& meta) {
  Rng rng(1);
  const models::ModelSpec spec = models::resolve_spec({.name = "cnn"});
  meta = models::spec_metadata(spec);
  meta["epoch"] = "1";
  return models::build_model(spec, rng);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("a run directory publishes each epoch through 'latest' and resumes from it", "[run_directory]") {
  TempDir dir;
  const auto data = quadrants(64, 1);
  auto c = small_run(dir.path / "run", 2);
  train::run_training(c, data, data);
  CHECK(fs::is_symlink(dir.path / "run" / "latest"));
  CHECK(fs::read_symlink(dir.path / "run" / "model.safetensors") == fs::path("latest/model.safetensors"));
  const auto saved = train::find_checkpoint((dir.path / "run").string());
  CHECK(saved.epoch == 2);
  CHECK(saved.metrics_lines.size() == 2);
  CHECK_FALSE(saved.run_id.empty());
  // The same checkpoint through the published name.
  CHECK(train::find_checkpoint((dir.path / "run" / "model.safetensors").string()).dir == saved.dir);

  // Nothing left to do is said plainly, before anything is trained.
  c.resume = (dir.path / "run").string();
  CHECK_THROWS_WITH(train::run_training(c, data, data), Catch::Contains("nothing left to train") &&
                                                            Catch::Contains("epoch 2"));
  c.epochs = 3;
  const auto more = train::run_training(c, data, data);
  REQUIRE(more.epochs.size() == 1);
  CHECK(train::find_checkpoint((dir.path / "run").string()).metrics_lines.size() == 3);
  size_t checkpoints = 0;
  for (const auto& e : fs::directory_iterator(dir.path / "run")) checkpoints += e.path().filename().string().rfind("ckpt-", 0) == 0;
  CHECK(checkpoints == 1);  // superseded epochs are removed
}

TEST_CASE("model and optimizer files from different saves are not resumed together", "[run_directory]") {
  TempDir dir;
  const auto data = quadrants(64, 1);
  train::run_training(small_run(dir.path / "a", 1), data, data);
  train::run_training(small_run(dir.path / "b", 2), data, data);
  const auto a = train::find_checkpoint((dir.path / "a").string());
  const auto b = train::find_checkpoint((dir.path / "b").string());
  fs::copy_file(b.optimizer_path, a.optimizer_path, fs::copy_options::overwrite_existing);
  CHECK_THROWS_WITH(train::find_checkpoint((dir.path / "a").string()),
                    Catch::Contains("not saved together") && Catch::Contains("epoch 1") && Catch::Contains("epoch 2") &&
                        Catch::Contains(a.model_path));

  // Metrics that do not match the checkpoint beside them.
  fs::copy_file(b.optimizer_path, fs::path(b.dir) / "keep.safetensors");
  std::ofstream(fs::path(b.dir) / "metrics.jsonl") << "{\"epoch\":1}\n";
  CHECK_THROWS_WITH(train::find_checkpoint((dir.path / "b").string()),
                    Catch::Contains("metrics.jsonl") && Catch::Contains("epoch 2"));
}

TEST_CASE("another run is replaced only with overwrite; foreign symlinks are not written through", "[run_directory]") {
  TempDir dir;
  const auto data = quadrants(64, 1);
  const fs::path run = dir.path / "run";
  train::run_training(small_run(run, 1), data, data);
  CHECK(train::holds_run(run.string()));
  CHECK_THROWS_WITH(train::run_training(small_run(run, 1), data, data), Catch::Contains("holds another run") &&
                                                                            Catch::Contains("--overwrite"));

  // Someone else's files under the published names: a symlink to a file of theirs.
  const fs::path other = dir.path / "theirs";
  fs::create_directories(other);
  std::ofstream(dir.path / "precious.txt") << "keep me";
  fs::create_symlink(dir.path / "precious.txt", other / "metrics.jsonl");
  CHECK(train::holds_run(other.string()));
  CHECK_THROWS(train::run_training(small_run(other, 1), data, data));
  auto c = small_run(other, 1);
  c.overwrite = true;
  train::run_training(c, data, data);
  CHECK(slurp(dir.path / "precious.txt") == "keep me");
  CHECK(fs::read_symlink(other / "metrics.jsonl") == fs::path("latest/metrics.jsonl"));
  CHECK(train::find_checkpoint(other.string()).epoch == 1);

  // A second process writing into the same directory is refused while the first holds it.
  train::RunDirectory holder(run.string(), /*overwrite=*/true, nullptr);
  CHECK_THROWS_WITH(train::RunDirectory(run.string(), true, nullptr), Catch::Contains("another sepnet process"));
}

TEST_CASE("divergence stops training and keeps the last good epoch", "[run_directory][train]") {
  TempDir dir;
  const auto data = quadrants(64, 1);
  auto c = small_run(dir.path / "run", 1);
  c.optimizer = "sgd";
  c.loss = "ce";
  c.lr = 0.01f;
  train::run_training(c, data, data);
  const auto good = train::find_checkpoint(c.out_dir);
  const std::string before = slurp(good.model_path);

  c.resume = c.out_dir;
  c.epochs = 4;
  c.lr = 1e6f;
  std::string message;
  try {
    train::run_training(c, data, data);
  } catch (const train::DivergenceError& e) {
    message = e.what();
  }
  CHECK_THAT(message, Catch::Contains("training diverged at epoch") && Catch::Contains("batch"));
  // What the directory shows is the last epoch whose values were all finite: it loads.
  const auto after = train::find_checkpoint(c.out_dir);
  CHECK(after.epoch < 4);
  Rng rng(1);
  auto model = models::build_model(models::resolve_spec({.name = "cnn"}), rng);
  CHECK_NOTHROW(load_model(after.model_path, *model));
  if (after.epoch == 1) CHECK(slurp(after.model_path) == before);

  // Options are checked before anything else.
  c.lr = std::numeric_limits<float>::infinity();
  CHECK_THROWS_WITH(train::validate_config(c), Catch::Contains("--lr"));
  c.lr = 0.01f;
  c.momentum = std::nanf("");
  CHECK_THROWS_WITH(train::validate_config(c), Catch::Contains("--momentum"));
  c.momentum = 0.9f;
  c.weight_decay = -1.0f;
  CHECK_THROWS_WITH(train::validate_config(c), Catch::Contains("--weight-decay"));
}

TEST_CASE("checkpoints with non-finite values or out-of-range numbers are refused by name", "[run_directory][checkpoint]") {
  TempDir dir;
  Metadata meta;
  auto model = cnn_at_epoch_1(meta);

  auto [name, weight] = model->state_dict()[2];
  weight.data()[3] = std::nanf("");
  save_model(dir.file("nan.safetensors"), *model, meta);
  CHECK_THROWS_WITH(load_model(dir.file("nan.safetensors"), *model),
                    Catch::Contains("nan.safetensors") && Catch::Contains("'" + name + "'") &&
                        Catch::Contains("non-finite"));

  for (const char* bad : {"2147483647", "-3", "1e3", "", "7x"}) {
    Metadata m = meta;
    m["epoch"] = bad;
    CHECK_THROWS_WITH(metadata_int("run/model.safetensors", m, "epoch", 0, 1'000'000),
                      Catch::Contains("run/model.safetensors") && Catch::Contains("'epoch'"));
  }
  Metadata missing = meta;
  missing.erase("epoch");
  CHECK_THROWS_WITH(metadata_int("m.safetensors", missing, "epoch", 0, 10), Catch::Contains("'epoch' is missing"));
  CHECK(metadata_int("m.safetensors", meta, "epoch", 0, 10) == 1);
}

TEST_CASE("a checkpoint's metadata cannot make sepnet allocate more than the file can hold", "[run_directory][checkpoint]") {
  TempDir dir;
  Metadata meta;
  auto model = cnn_at_epoch_1(meta);
  save_model(dir.file("cnn.safetensors"), *model, meta);
  // The same 180 KB file claiming a MobileNet with 2^20 classes (a 4 GiB classifier).
  meta = models::spec_metadata(models::resolve_spec({.name = "mobilenet", .num_classes = 1 << 20}));
  save_model(dir.file("claims.safetensors"), *model, meta);
  const int64_t live_before = allocator_stats().live_bytes;
  CHECK_THROWS_WITH(train::model_from_metadata(dir.file("claims.safetensors"), read_metadata(dir.file("claims.safetensors"))),
                    Catch::Contains("claims.safetensors") && Catch::Contains("more than"));
  CHECK(allocator_stats().live_bytes == live_before);
  // The honest file builds.
  CHECK(train::model_from_metadata(dir.file("cnn.safetensors"), read_metadata(dir.file("cnn.safetensors"))) != nullptr);
}

TEST_CASE("a resumed optimizer's step count must match the epochs it claims", "[run_directory][checkpoint]") {
  TempDir dir;
  const auto data = quadrants(64, 1);
  auto c = small_run(dir.path / "run", 1);
  train::run_training(c, data, data);
  const auto saved = train::find_checkpoint(c.out_dir);
  // The optimizer file with a step count of -100, then 7 (one epoch of 64 images in 32s is 2).
  const SafetensorsFile original = load_safetensors(saved.optimizer_path);
  for (const char* steps : {"-100", "7"}) {
    SafetensorsFile f = original;
    f.metadata["optimizer_steps"] = steps;
    save_safetensors(saved.optimizer_path, f);
    auto r = c;
    r.resume = c.out_dir;
    r.epochs = 2;
    CHECK_THROWS_WITH(train::run_training(r, data, data), Catch::Contains("optimizer_steps"));
  }
}

TEST_CASE("a training step's memory stays bounded and flat", "[run_directory][memory]") {
  const auto data = quadrants(256, 1);
  // The data set is kept as bytes: one byte per pixel.
  CHECK(data.pixels.size() == 256u * 784u);
  Rng rng(1);
  auto model = models::build_model(models::resolve_spec({.name = "cnn"}), rng);
  auto opt = train::make_optimizer("sgd", model->parameters(), 0.01f, 0.9f, 0.0f);
  data::BatchSampler sampler(data.size(), 64, 1, true);
  sampler.start_epoch(1);
  auto step = [&](int64_t b) {
    Tensor x;
    std::vector<int32_t> labels;
    sampler.gather(b, data, x, labels);
    opt->zero_grad();
    Tensor loss = train::classification_loss("ce", model->forward(x), labels);
    loss.backward();
    opt->step();
  };
  step(0);  // first step allocates gradients and momentum buffers
  reset_allocator_peaks();
  step(1);
  const int64_t peak = allocator_stats().peak_live_bytes;
  step(2);
  step(3);
  // A cnn step at batch 64 holds about 8.8 MB of tensors (activations, gradients, weights,
  // momentum); the bound leaves room for the allocator's rounding, not for a leak or a copy of
  // the data set.
  CHECK(peak < int64_t{12} << 20);
  CHECK(allocator_stats().peak_live_bytes == peak);  // later steps need nothing more
}
