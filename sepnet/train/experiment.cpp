#include "sepnet/train/experiment.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sepnet/core/checkpoint.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"

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

models::ModelSpec spec_for_data(const models::ModelSpec& spec, const data::ImageDataset& data, const std::string& what) {
  const Shape& shape = data.images.shape();
  if (shape.size() != 4 || shape[2] != shape[3])
    throw std::invalid_argument(what + ": images of shape " + shape_to_string(shape) + " are not square [N, C, H, W]");
  int32_t max_label = 0;
  for (int32_t l : data.labels) max_label = std::max(max_label, l);
  models::ModelSpec s = spec;
  if (s.in_channels == 0) s.in_channels = static_cast<int>(shape[1]);
  if (s.image_size == 0) s.image_size = static_cast<int>(shape[2]);
  if (s.num_classes == 0) s.num_classes = std::max(10, static_cast<int>(max_label) + 1);
  try {
    s = models::resolve_spec(s);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(what + ": " + e.what());
  }
  if (s.in_channels != shape[1] || s.image_size != shape[2])
    throw std::invalid_argument(fmt::format("{}: images are {}×{}×{} but model '{}' takes {}×{}×{}", what, shape[1], shape[2],
                                            shape[3], s.name, s.in_channels, s.image_size, s.image_size));
  if (max_label >= s.num_classes)
    throw std::invalid_argument(fmt::format("{}: label {} is out of range for a model with {} classes", what, max_label,
                                            s.num_classes));
  return s;
}

Metadata checkpoint_metadata(const RunConfig& c, const models::ModelSpec& resolved, int epoch) {
  Metadata m = models::spec_metadata(resolved);
  m.insert({{"format", "sepnet-checkpoint-1"},
            {"input_mean", fmt::format("{}", data::kMnistMean)},
            {"input_std", fmt::format("{}", data::kMnistStd)},
            {"recipe", c.recipe},
            {"optimizer", c.optimizer},
            {"lr", fmt::format("{}", c.lr)},
            {"loss", c.loss},
            {"batch", std::to_string(c.batch)},
            {"seed", std::to_string(c.seed)},
            {"epoch", std::to_string(epoch)}});
  return m;
}

std::unique_ptr<nn::Module> model_from_metadata(const std::string& path, const Metadata& m) {
  Rng rng(0);
  return models::build_model(models::spec_from_metadata(path, m), rng);
}

std::optional<RunResult> load_finished_run(const RunConfig& c, int64_t train_images) {
  if (c.out_dir.empty() || !c.resume.empty()) return std::nullopt;
  const auto recipe = find_recipe(c.recipe);
  const fs::path dir = c.out_dir;
  std::ifstream in(dir / "metrics.jsonl");
  if (!in || !fs::exists(dir / "model.safetensors")) return std::nullopt;
  RunResult r;
  r.config = c;
  std::string line;
  try {
    while (std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line);
      if (j.value("model", "") != c.model.name || j.value("batch_norm", !c.model.batch_norm) != c.model.batch_norm ||
          j.value("recipe", "") != c.recipe || j.value("seed", c.seed + 1) != c.seed ||
          j.value("epoch", 0) != static_cast<int>(r.epochs.size()) + 1)
        return std::nullopt;
      // Lines from sepnet 0.1.0's first compare runs lack these keys; those runs used the recipe's
      // values and all training images, so a missing key matches only such a configuration.
      const bool recipe_defaults = recipe && recipe->optimizer == c.optimizer && recipe->lr == c.lr &&
                                   recipe->batch == c.batch && recipe->loss == c.loss && recipe->momentum == c.momentum;
      auto differs = [&](const char* key, auto expected) {
        return j.contains(key) ? j.at(key).get<decltype(expected)>() != expected : !recipe_defaults;
      };
      if (differs("optimizer", c.optimizer) || differs("lr", c.lr) || differs("batch", c.batch) ||
          differs("loss", c.loss) || (j.contains("train_images") ? j.at("train_images").get<int64_t>() != train_images
                                                                 : train_images != 60000))
        return std::nullopt;
      EpochRecord e{j.at("epoch").get<int>(), {}, j.at("test_accuracy").get<double>(), j.at("test_loss").get<double>()};
      e.train.train_loss = j.at("train_loss").get<double>();
      e.train.train_accuracy = j.at("train_accuracy").get<double>();
      e.train.train_seconds = j.at("train_seconds").get<double>();
      e.train.images_per_second = j.at("images_per_second").get<double>();
      r.epochs.push_back(e);
    }
  } catch (const std::exception&) {
    return std::nullopt;  // unreadable: train again
  }
  if (static_cast<int>(r.epochs.size()) != c.epochs) return std::nullopt;
  const models::ModelSpec spec = models::resolve_spec(c.model);
  Rng rng(c.seed);
  const auto model = models::build_model(spec, rng);
  r.parameters = model->parameter_count();
  r.macs_per_image = model->macs(models::input_shape(spec));
  return r;
}

RunResult run_training(const RunConfig& config, const data::ImageDataset& train_data,
                       const data::ImageDataset& test_data, const ProgressFn& progress, const EpochFn& on_epoch) {
  if (config.threads > 0) kernels::set_num_threads(config.threads);
  if (!is_known_loss(config.loss)) throw std::invalid_argument("unknown loss '" + config.loss + "' (known: ce, softmax-ce)");
  if (config.epochs < 1 || config.batch < 1 || !(config.lr > 0.0f))
    throw std::invalid_argument("epochs, batch and lr must be positive");

  const models::ModelSpec spec = spec_for_data(config.model, train_data, "training data");
  spec_for_data(spec, test_data, "test data");
  Rng rng(config.seed);
  const std::unique_ptr<nn::Module> net = models::build_model(spec, rng);
  nn::Module& model = *net;
  auto optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.momentum, config.weight_decay);

  RunResult result;
  result.config = config;
  result.config.model = spec;
  result.parameters = model.parameter_count();
  result.macs_per_image = model.macs(models::input_shape(spec));

  int first_epoch = 1;
  const fs::path out = config.out_dir;
  if (!config.resume.empty()) {
    const Metadata m = read_metadata(config.resume);
    const models::ModelSpec saved = models::spec_from_metadata(config.resume, m);
    if (models::spec_metadata(saved) != models::spec_metadata(spec))
      throw std::runtime_error(config.resume + ": checkpoint is for model '" + models::spec_label(saved) +
                               "', not the requested '" + models::spec_label(spec) + "'");
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
                          {"model", spec.name},
                          {"batch_norm", spec.batch_norm},
                          {"width", spec.width},
                          {"image_size", spec.image_size},
                          {"recipe", config.recipe},
                          {"seed", config.seed},
                          {"optimizer", config.optimizer},
                          {"lr", config.lr},
                          {"batch", config.batch},
                          {"loss", config.loss},
                          {"train_images", train_data.size()},
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
        const Metadata meta = checkpoint_metadata(config, spec, epoch);
        save_model((out / "model.safetensors").string(), model, meta);
        save_optimizer((out / "optimizer.safetensors").string(), *optimizer, meta);
      }
    }
    if (on_epoch) on_epoch(rec);
  }
  return result;
}

}  // namespace sepnet::train
