#include "sepnet/train/experiment.h"

#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/directory_ops.h"
#include "sepnet/core/storage.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::train {

namespace fs = std::filesystem;

std::string data_name(const data::ImageDataset& data, const std::string& fallback) {
  return data.source.empty() ? fallback : data.source;
}

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

void fit_data_to_model(const models::ModelSpec& spec, data::ImageDataset& train_data, data::ImageDataset& test_data) {
  test_data.mean = train_data.mean;
  test_data.stddev = train_data.stddev;
  if (spec.image_size > 0) {
    train_data.resize_to(spec.image_size);
    test_data.resize_to(spec.image_size);
  }
}

std::pair<float, float> normalization_from_metadata(const std::string& path, const Metadata& m) {
  auto value = [&](const char* key, float fallback) {
    const auto it = m.find(key);
    if (it == m.end()) return fallback;
    float v = 0;
    const std::string& s = it->second;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v) || std::fabs(v) > 1e3f)
      throw std::runtime_error(path + ": checkpoint metadata '" + key + "' = '" + s + "' is not a number in [-1000, 1000]");
    return v;
  };
  const float mean = value("input_mean", data::kMnistMean), stddev = value("input_std", data::kMnistStd);
  if (!(stddev > 0.0f)) throw std::runtime_error(path + ": checkpoint metadata 'input_std' must be positive");
  return {mean, stddev};
}

models::ModelSpec spec_for_data(const models::ModelSpec& spec, const data::ImageDataset& data, const std::string& what) {
  const Shape shape{data.size(), data.channels, data.sample_rows(), data.sample_cols()};
  if (shape[2] != shape[3])
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

Metadata checkpoint_metadata(const RunConfig& c, const models::ModelSpec& resolved, const data::ImageDataset& train_data,
                             int epoch, const std::string& run_id) {
  const int64_t train_images = train_data.size();
  Metadata m = models::spec_metadata(resolved);
  m.insert({{"format", "sepnet-checkpoint-1"},
            {"input_mean", fmt::format("{}", train_data.mean)},
            {"input_std", fmt::format("{}", train_data.stddev)},
            {"recipe", c.recipe},
            {"optimizer", c.optimizer},
            {"lr", fmt::format("{}", c.lr)},
            {"lr_schedule", c.lr_schedule},
            {"loss", c.loss},
            {"batch", std::to_string(c.batch)},
            {"seed", std::to_string(c.seed)},
            {"epoch", std::to_string(epoch)}});
  if (!run_id.empty()) m["run_id"] = run_id;
  if (train_images > 0) m["train_images"] = std::to_string(train_images);
  return m;
}

std::unique_ptr<nn::Module> model_from_metadata(const std::string& path, const Metadata& m) {
  Rng rng(0);
  return models::build_model_for_checkpoint(models::spec_from_metadata(path, m), rng, path);
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
      // The MobileNet shape: lines without these keys come from runs of the MNIST nets at their defaults.
      if (j.value("lr_schedule", std::string("constant")) != c.lr_schedule || j.value("width", 1.0f) != c.model.width || j.value("conv", std::string("separable")) != c.model.conv ||
          (c.model.image_size > 0 && j.value("image_size", 0) != c.model.image_size))
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

float learning_rate_for_epoch(const RunConfig& c, int epoch) {
  if (c.lr_schedule != "cosine") return c.lr;
  const double pi = std::acos(-1.0);
  return static_cast<float>(c.lr * 0.5 * (1.0 + std::cos(pi * (epoch - 1) / c.epochs)));
}

void validate_config(const RunConfig& c) {
  auto finite_in = [](const char* option, double v, double lo, double hi, bool open_lo) {
    if (!std::isfinite(v) || v < lo || v > hi || (open_lo && v == lo))
      throw std::invalid_argument(fmt::format("{} is {}; it must be a finite number in {}{}, {}]", option, v,
                                              open_lo ? "(" : "[", lo, hi));
  };
  if (!is_known_loss(c.loss)) throw std::invalid_argument("unknown loss '" + c.loss + "' (known: ce, softmax-ce)");
  if (c.lr_schedule != "constant" && c.lr_schedule != "cosine")
    throw std::invalid_argument("unknown --lr-schedule '" + c.lr_schedule + "' (known: constant, cosine)");
  if (c.epochs < 1 || c.epochs > 1'000'000) throw std::invalid_argument("--epochs must be in [1, 1000000]");
  if (c.batch < 1 || c.batch > 1'000'000) throw std::invalid_argument("--batch must be in [1, 1000000]");
  finite_in("--lr", c.lr, 0.0, 1e6, /*open_lo=*/true);
  finite_in("--momentum", c.momentum, 0.0, 1.0, false);
  finite_in("--weight-decay", c.weight_decay, 0.0, 1e6, false);
}

std::optional<SavedCheckpoint> checkpoint_to_resume(const RunConfig& c) {
  if (c.resume.empty()) return std::nullopt;
  SavedCheckpoint saved = find_checkpoint(c.resume);
  if (saved.epoch >= c.epochs)
    throw std::runtime_error(fmt::format("{}: the checkpoint is already at epoch {} and the run has {} epoch(s): "
                                         "nothing left to train (pass --epochs N with N > {} to train further)",
                                         saved.model_path, saved.epoch, c.epochs, saved.epoch));
  return saved;
}

namespace {

// Checks that a resumed optimizer's step count is what `epoch` epochs over the checkpoint's
// training set and batch size give (when the checkpoint records both).
void check_optimizer_steps(const SavedCheckpoint& saved, const optim::Optimizer& optimizer) {
  const Metadata& m = saved.model_metadata;
  if (!m.count("train_images") || !m.count("batch")) return;
  const int64_t images = metadata_int(saved.model_path, m, "train_images", 1, int64_t{1} << 40);
  const int64_t batch = metadata_int(saved.model_path, m, "batch", 1, 1'000'000);
  const int64_t expected = static_cast<int64_t>(saved.epoch) * ((images + batch - 1) / batch);
  if (optimizer.step_count() != expected)
    throw std::runtime_error(fmt::format("{}: optimizer_steps is {}, but {} epoch(s) of {} images in batches of {} "
                                         "take {} steps",
                                         saved.optimizer_path, optimizer.step_count(), saved.epoch, images, batch,
                                         expected));
}

void broadcast_tensors(const nn::NamedTensors& tensors, Communicator& comm) {
  for (const auto& [name, t] : tensors) comm.broadcast(const_cast<Tensor&>(t).data(), t.numel(), 0);
}

void broadcast_state(const nn::Module& model, const optim::Optimizer& optimizer, Communicator& comm) {
  broadcast_tensors(model.state_dict(), comm);
  broadcast_tensors(optimizer.state(), comm);  // the step count comes from the same checkpoint on every rank
}

nlohmann::json metrics_record(const RunConfig& config, const models::ModelSpec& spec, const EpochRecord& rec,
                              int64_t train_images, const std::string& run_id) {
  return nlohmann::json{{"epoch", rec.epoch},
                        {"run_id", run_id},
                        {"model", spec.name},
                        {"batch_norm", spec.batch_norm},
                        {"width", spec.width},
                        {"image_size", spec.image_size},
                        {"conv", spec.conv},
                        {"recipe", config.recipe},
                        {"seed", config.seed},
                        {"optimizer", config.optimizer},
                        {"lr", config.lr},
                        {"lr_schedule", config.lr_schedule},
                        {"batch", config.batch},
                        {"loss", config.loss},
                        {"train_images", train_images},
                        {"threads", kernels::available_threads()},
                        {"isa", kernels::isa_name(kernels::active_isa())},
                        {"train_loss", rec.train.train_loss},
                        {"train_accuracy", rec.train.train_accuracy},
                        {"test_loss", rec.test_loss},
                        {"test_accuracy", rec.test_accuracy},
                        {"train_seconds", rec.train.train_seconds},
                        {"images_per_second", rec.train.images_per_second}};
}

}  // namespace

RunResult run_training(const RunConfig& config, const data::ImageDataset& train_data,
                       const data::ImageDataset& test_data, const ProgressFn& progress, const EpochFn& on_epoch) {
  validate_config(config);
  SingleProcess single;
  Communicator& comm = config.communicator != nullptr ? *config.communicator : single;
  if (config.batch < comm.size())
    throw std::invalid_argument(fmt::format("--batch {} is the global batch and must give each of the {} ranks at "
                                            "least one image", config.batch, comm.size()));
  if (config.threads > 0) kernels::set_num_threads(config.threads);
  const std::optional<SavedCheckpoint> resumed = checkpoint_to_resume(config);

  const models::ModelSpec spec = spec_for_data(config.model, train_data, data_name(train_data, "training data"));
  spec_for_data(spec, test_data, data_name(test_data, "test data"));
  if (test_data.mean != train_data.mean || test_data.stddev != train_data.stddev)
    throw std::invalid_argument(fmt::format("{}: normalized with mean {} and std {}, not the training set's {} and {} "
                                            "(train::fit_data_to_model copies them)",
                                            data_name(test_data, "test data"), test_data.mean, test_data.stddev,
                                            train_data.mean, train_data.stddev));
  if (resumed) {
    const models::ModelSpec saved = models::spec_from_metadata(resumed->model_path, resumed->model_metadata);
    if (models::spec_metadata(saved) != models::spec_metadata(spec))
      throw std::runtime_error(resumed->model_path + ": checkpoint is for model '" + models::spec_label(saved) +
                               "', not the requested '" + models::spec_label(spec) + "'");
    const auto [mean, stddev] = normalization_from_metadata(resumed->model_path, resumed->model_metadata);
    if (fmt::format("{} {}", mean, stddev) != fmt::format("{} {}", train_data.mean, train_data.stddev))
      throw std::runtime_error(fmt::format("{}: the checkpoint was trained on inputs normalized with mean {} and std {}, "
                                           "but the data set here gives {} and {} (a different data set?)",
                                           resumed->model_path, mean, stddev, train_data.mean, train_data.stddev));
  }
  Rng rng(config.seed);
  // A resumed run's network is described by the checkpoint: bounded by what the file can hold.
  const std::unique_ptr<nn::Module> net = resumed ? models::build_model_for_checkpoint(spec, rng, resumed->model_path)
                                                  : models::build_model(spec, rng);
  nn::Module& model = *net;
  auto optimizer = make_optimizer(config.optimizer, model.parameters(), config.lr, config.momentum, config.weight_decay);

  RunResult result;
  result.config = config;
  result.config.model = spec;
  result.parameters = model.parameter_count();
  result.macs_per_image = model.macs(models::input_shape(spec));

  int first_epoch = 1;
  std::string run_id = random_hex(16);
  if (resumed) {
    load_model(resumed->model_path, model);
    load_optimizer(resumed->optimizer_path, *optimizer);
    check_optimizer_steps(*resumed, *optimizer);
    first_epoch = resumed->epoch + 1;
    if (!resumed->run_id.empty()) run_id = resumed->run_id;
  }
  if (comm.size() > 1) broadcast_state(model, *optimizer, comm);  // every replica starts from rank 0's
  std::optional<RunDirectory> run_dir;
  if (!config.out_dir.empty() && comm.rank() == 0)
    run_dir.emplace(config.out_dir, config.overwrite, resumed ? &*resumed : nullptr);

  data::BatchSampler sampler(train_data.size(), config.batch, config.seed, /*shuffle=*/true);
  for (int epoch = first_epoch; epoch <= config.epochs; ++epoch) {
    sampler.start_epoch(epoch);
    optimizer->set_learning_rate(learning_rate_for_epoch(config, epoch));
    EpochRecord rec{epoch,
                    train_epoch(model, *optimizer, train_data, sampler, config.loss, epoch, config.epochs, progress,
                                &comm),
                    0, 0};
    // Batch-norm running statistics are per rank (as in PyTorch DDP); rank 0's are kept.
    if (comm.size() > 1) broadcast_tensors(model.named_buffers(), comm);
    const Evaluation ev = evaluate(model, test_data, 256, false, &comm);
    release_cached_memory();  // evaluation's large-batch buffers are not needed until the next epoch
    rec.test_accuracy = ev.accuracy;
    rec.test_loss = ev.loss;
    result.epochs.push_back(rec);
    if (run_dir) {
      // A diverged model is never published: the last good epoch stays the run's latest.
      check_finite_state(model, fmt::format("after epoch {}", epoch));
      const std::string line = metrics_record(config, spec, rec, train_data.size(), run_id).dump();
      run_dir->publish(epoch, model, *optimizer, checkpoint_metadata(config, spec, train_data, epoch, run_id),
                       line);
    }
    if (on_epoch) on_epoch(rec);
  }
  return result;
}

}  // namespace sepnet::train
