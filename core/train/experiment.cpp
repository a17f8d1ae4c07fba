#include "core/train/experiment.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/checkpoint.h"
#include "kernels/isa.h"
#include "kernels/parallel.h"

namespace sepnet::train {

namespace fs = std::filesystem;

RunConfig config_from_recipe(const Recipe& recipe) {
  RunConfig c;
  c.recipe = recipe.name;
  c.optimizer = recipe.optimizer;
  c.lr = recipe.lr;
  c.momentum = recipe.momentum;
  c.batch = recipe.batch;
  c.epochs = recipe.epochs;
  c.loss = recipe.loss;
  return c;
}

Metadata checkpoint_metadata(const RunConfig& c, int epoch) {
  return {{"format", "sepnet-checkpoint-1"},
          {"model", c.model},
          {"batch_norm", c.batch_norm ? "true" : "false"},
          {"input_mean", fmt::format("{}", data::kMnistMean)},
          {"input_std", fmt::format("{}", data::kMnistStd)},
          {"recipe", c.recipe},
          {"optimizer", c.optimizer},
          {"lr", fmt::format("{}", c.lr)},
          {"loss", c.loss},
          {"batch", std::to_string(c.batch)},
          {"seed", std::to_string(c.seed)},
          {"epoch", std::to_string(epoch)}};
}

std::unique_ptr<models::SeedNet> model_from_metadata(const std::string& path, const Metadata& m) {
  auto model = m.find("model");
  auto bn = m.find("batch_norm");
  if (model == m.end() || bn == m.end() || !models::is_seed_architecture(model->second))
    throw std::runtime_error(path + ": metadata does not name a known model (needs 'model' = cnn|dw|dwsep and 'batch_norm')");
  Rng rng(0);
  return std::make_unique<models::SeedNet>(model->second, bn->second == "true", rng);
}

RunResult run_training(const RunConfig& config, const data::ImageDataset& train_data,
                       const data::ImageDataset& test_data, const ProgressFn& progress, const EpochFn& on_epoch) {
  if (config.threads > 0) kernels::set_num_threads(config.threads);
  if (!is_known_loss(config.loss)) throw std::invalid_argument("unknown loss '" + config.loss + "' (known: ce, softmax-ce)");
  if (config.epochs < 1 || config.batch < 1 || !(config.lr > 0.0f))
    throw std::invalid_argument("epochs, batch and lr must be positive");

  Rng rng(config.seed);
  models::SeedNet model(config.model, config.batch_norm, rng);
  auto optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.momentum, config.weight_decay);

  RunResult result;
  result.config = config;
  result.parameters = model.parameter_count();
  result.macs_per_image = model.macs({1, 1, 28, 28});

  int first_epoch = 1;
  const fs::path out = config.out_dir;
  if (!config.resume.empty()) {
    const Metadata m = read_metadata(config.resume);
    if (m.count("model") && (m.at("model") != config.model || m.at("batch_norm") != (config.batch_norm ? "true" : "false")))
      throw std::runtime_error(config.resume + ": checkpoint is for model '" + m.at("model") + "' (batch_norm " +
                               m.at("batch_norm") + "), not the requested one");
    load_model(config.resume, model);
    const fs::path opt_path = fs::path(config.resume).parent_path() / "optimizer.safetensors";
    if (!fs::exists(opt_path))
      throw std::runtime_error(opt_path.string() + ": missing (needed to resume with optimizer state)");
    load_optimizer(opt_path.string(), *optimizer);
    try {
      first_epoch = std::stoi(m.at("epoch")) + 1;
    } catch (const std::exception&) {
      throw std::runtime_error(config.resume + ": metadata 'epoch' missing or not a number");
    }
  }
  if (!config.out_dir.empty()) fs::create_directories(out);

  data::BatchSampler sampler(train_data.size(), config.batch, config.seed, /*shuffle=*/true);
  for (int epoch = first_epoch; epoch <= config.epochs; ++epoch) {
    sampler.start_epoch(epoch);
    EpochRecord rec{epoch, train_epoch(model, *optimizer, train_data, sampler, config.loss, epoch, config.epochs, progress), 0, 0};
    const Evaluation ev = evaluate(model, test_data);
    rec.test_accuracy = ev.accuracy;
    rec.test_loss = ev.loss;
    result.epochs.push_back(rec);
    if (!config.out_dir.empty()) {
      nlohmann::json line{{"epoch", epoch},
                          {"model", config.model},
                          {"batch_norm", config.batch_norm},
                          {"recipe", config.recipe},
                          {"seed", config.seed},
                          {"threads", kernels::available_threads()},
                          {"isa", kernels::isa_name(kernels::active_isa())},
                          {"train_loss", rec.train.train_loss},
                          {"train_accuracy", rec.train.train_accuracy},
                          {"test_loss", rec.test_loss},
                          {"test_accuracy", rec.test_accuracy},
                          {"train_seconds", rec.train.train_seconds},
                          {"images_per_second", rec.train.images_per_second}};
      std::ofstream metrics(out / "metrics.jsonl", epoch == 1 ? std::ios::trunc : std::ios::app);
      metrics << line.dump() << "\n";
      if (!metrics) throw std::runtime_error((out / "metrics.jsonl").string() + ": write failed");
      if (config.save_checkpoint) {
        const Metadata meta = checkpoint_metadata(config, epoch);
        save_model((out / "model.safetensors").string(), model, meta);
        save_optimizer((out / "optimizer.safetensors").string(), *optimizer, meta);
      }
    }
    if (on_epoch) on_epoch(rec);
  }
  return result;
}

}  // namespace sepnet::train
