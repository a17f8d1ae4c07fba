// One complete training run: build the model, train for the configured epochs with a test
// evaluation after each, write metrics.jsonl and checkpoints into the run directory, resume
// from a checkpoint. `sepnet train` is one run; `sepnet compare` is many.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sepnet/core/checkpoint.h"
#include "sepnet/core/data/dataset.h"
#include "sepnet/train/communicator.h"
#include "sepnet/train/recipe.h"
#include "sepnet/train/run_directory.h"
#include "sepnet/train/trainer.h"
#include "sepnet/models/registry.h"

namespace sepnet::train {

struct RunConfig {
  models::ModelSpec model;  // any registered model; channels, image size and classes come from the data
  std::string recipe = "seed";
  std::string optimizer = "sgd";
  float lr = 0.01f, momentum = 0.9f, weight_decay = 0.0f;
  int batch = 64, epochs = 5;
  // "constant", or "cosine": epoch e (1-based) of E trains at lr·(1 + cos(π·(e−1)/E))/2, so the
  // last epochs take small steps and the final accuracy settles. A function of the epoch and the
  // epoch count only, so a run resumed with the same --epochs continues the same schedule.
  std::string lr_schedule = "constant";
  std::string loss = "softmax-ce";
  uint64_t seed = 1;
  int threads = 0;       // 0: OpenMP's default
  std::string out_dir;   // run directory (run_directory.h); empty: write nothing
  std::string resume;    // checkpoint to continue from: a run directory or a model.safetensors
  bool overwrite = false;  // replace another run found in out_dir
  // Data parallel over the communicator's ranks (null: one process). `batch` is the global
  // batch, shared among the ranks; only rank 0 writes out_dir.
  Communicator* communicator = nullptr;
};

// Checks the numbers of a configuration (finite, in range) before any data is read; throws
// std::invalid_argument naming the option.
void validate_config(const RunConfig& config);

// The checkpoint a run resumes from, checked to be complete and to leave epochs to train
// (config.epochs above its epoch); nullopt when config.resume is empty.
std::optional<SavedCheckpoint> checkpoint_to_resume(const RunConfig& config);

// The learning rate of epoch `epoch` (1-based) under config.lr_schedule.
float learning_rate_for_epoch(const RunConfig& config, int epoch);

// Fills optimizer/lr/momentum/batch/epochs/loss from the recipe's values.
RunConfig config_from_recipe(const Recipe& recipe);

struct EpochRecord {
  int epoch;
  EpochResult train;
  double test_accuracy, test_loss;
};

struct RunResult {
  RunConfig config;
  int64_t parameters = 0, macs_per_image = 0;
  std::vector<EpochRecord> epochs;
  double final_test_accuracy() const { return epochs.empty() ? 0.0 : epochs.back().test_accuracy; }
};

using EpochFn = std::function<void(const EpochRecord&)>;

RunResult run_training(const RunConfig& config, const data::ImageDataset& train_data,
                       const data::ImageDataset& test_data, const ProgressFn& progress = nullptr,
                       const EpochFn& on_epoch = nullptr);

// A run that already finished with this exact configuration (its out_dir holds metrics.jsonl
// with config.epochs lines for the same model, BN, recipe, seed, optimizer, lr, batch, loss and
// number of training images, and a model checkpoint), read back instead of trained again.
std::optional<RunResult> load_finished_run(const RunConfig& config, int64_t train_images);

// The model spec of a run on `data`: the data set's channels, image side and classes fill the
// fields the config leaves at 0, then the registry resolves and checks it. Errors name the
// data set (`what`) when its images do not fit the model.
models::ModelSpec spec_for_data(const models::ModelSpec& spec, const data::ImageDataset& data, const std::string& what);

// Readies a training and a test set for a model: the test set takes the training set's mean and
// standard deviation, and when the model asks for an image side (spec.image_size > 0, e.g.
// --image-size or a checkpoint's) both are resized to it as batches are gathered.
void fit_data_to_model(const models::ModelSpec& spec, data::ImageDataset& train_data, data::ImageDataset& test_data);

// The input normalization a checkpoint records ("input_mean", "input_std"); checkpoints without
// them were trained on MNIST's constants.
std::pair<float, float> normalization_from_metadata(const std::string& path, const Metadata& metadata);

// How errors name a data set: where it was read from, or `fallback` for one built in memory.
std::string data_name(const data::ImageDataset& data, const std::string& fallback);

// The checkpoint metadata every run writes (the model spec, the training data's normalization,
// recipe, epoch, run id, training set size, ...).
Metadata checkpoint_metadata(const RunConfig& config, const models::ModelSpec& resolved,
                             const data::ImageDataset& train_data, int epoch, const std::string& run_id = "");
// Builds the (randomly initialized) model a checkpoint's metadata describes, for eval and resume.
std::unique_ptr<nn::Module> model_from_metadata(const std::string& path, const Metadata& metadata);

}  // namespace sepnet::train
