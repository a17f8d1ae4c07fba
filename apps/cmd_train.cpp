// sepnet train: one training run with per-epoch test evaluation, metrics.jsonl and checkpoints.
#include <fmt/format.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <tuple>
#include <stdexcept>

#include "apps/commands.h"
#include "apps/distributed.h"
#include "apps/model_options.h"
#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/atomic_file.h"
#include "sepnet/core/profiler.h"
#include "sepnet/train/experiment.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::app {

namespace {
struct TrainOptions {
  models::ModelSpec model;
  std::string recipe = "seed", optimizer, loss, lr_schedule = "constant", data = "data/mnist", out = "runs/train", resume, isa;
  bool profile = false, overwrite = false;
  int epochs = 0, batch = 0, threads = 0;
  float lr = 0, momentum = 0, weight_decay = 0;
  uint64_t seed = 1;
  long max_train = -1;
};

void run(TrainOptions o, const CLI::App& cmd) {
  apply_machine_options(o.threads, o.isa);
  // Under mpirun: data parallel, rank 0 prints and writes.
  train::Communicator* job = join_mpi_job_if_launched();
  const bool leader = job == nullptr || job->rank() == 0;
  if (o.out.empty()) throw std::invalid_argument("--out: empty path; name the run directory");
  std::optional<train::SavedCheckpoint> resumed;
  if (!o.resume.empty()) {
    // The checkpoint says which network it holds; flags given explicitly must agree with it
    // (run_training checks), the others take its values.
    resumed = train::find_checkpoint(o.resume);
    const models::ModelSpec saved = models::spec_from_metadata(resumed->model_path, resumed->model_metadata);
    if (!cmd.count("--model")) o.model.name = saved.name;
    if (!cmd.count("--no-bn")) o.model.batch_norm = saved.batch_norm;
    if (!cmd.count("--width")) o.model.width = saved.width;
    if (!cmd.count("--resolution")) o.model.resolution = saved.resolution;
    if (!cmd.count("--image-size")) o.model.image_size = saved.image_size;
    if (!cmd.count("--conv")) o.model.conv = saved.conv;
  } else if (cmd.count("--resolution") && !cmd.count("--image-size")) {
    // ρ keeps its meaning relative to 224 when the images come from a data set of another size.
    o.model.image_size = static_cast<int>(224.0f * o.model.resolution + 0.5f);
  }
  auto recipe = train::find_recipe(o.recipe);
  train::RunConfig c = train::config_from_recipe(*recipe);
  // Explicit flags override the recipe's values.
  if (cmd.count("--optimizer")) c.optimizer = o.optimizer;
  if (cmd.count("--loss")) c.loss = o.loss;
  if (cmd.count("--epochs")) c.epochs = o.epochs;
  if (cmd.count("--batch")) c.batch = o.batch;
  if (cmd.count("--lr")) c.lr = o.lr;
  if (cmd.count("--momentum")) c.momentum = o.momentum;
  c.weight_decay = o.weight_decay;
  c.lr_schedule = o.lr_schedule;
  c.model = o.model;
  c.seed = o.seed;
  c.threads = o.threads;
  c.out_dir = o.out;
  c.resume = o.resume;
  c.overwrite = o.overwrite;
  c.communicator = job;
  // Everything that can be refused without the data is refused before it is read.
  train::validate_config(c);
  if (resumed && resumed->epoch >= c.epochs) train::checkpoint_to_resume(c);  // throws "nothing left to train"
  if (leader) train::check_run_directory_free(o.out, o.overwrite, resumed ? &*resumed : nullptr);

  if (leader)
    fmt::print("sepnet train: model {}{}{}{} | recipe {} | {} lr {}{} momentum {} | batch {} | {} epochs | loss {} | seed {} | "
               "{} threads{} | kernels {}\n",
               c.model.name, c.model.batch_norm ? "+BN" : " (no BN)",
               c.model.width != 1.0f ? fmt::format(" α={}", c.model.width) : "",
               c.model.conv == "full" ? " full-conv" : "", c.recipe, c.optimizer, c.lr,
               c.lr_schedule == "cosine" ? " (cosine)" : "", c.momentum,
               c.batch, c.epochs, c.loss, c.seed, kernels::available_threads(),
               job ? fmt::format(" × {} ranks", job->size()) : "", kernels::isa_name(kernels::active_isa()));
  auto train_data = data::load_dataset(o.data, true, o.max_train);
  auto test_data = data::load_dataset(o.data, false);
  if (resumed)  // the normalization the checkpoint was trained with
    std::tie(train_data.mean, train_data.stddev) =
        train::normalization_from_metadata(resumed->model_path, resumed->model_metadata);
  train::fit_data_to_model(c.model, train_data, test_data);
  if (leader)
    fmt::print("data: {} ({} training, {} test images of {}×{}×{}{}; normalized with mean {} std {})\n", o.data,
               train_data.size(), test_data.size(), train_data.channels, train_data.rows, train_data.cols,
               train_data.sample_rows() != train_data.rows
                   ? fmt::format(", resized bilinearly to {}×{}", train_data.sample_rows(), train_data.sample_cols())
                   : "",
               train_data.mean, train_data.stddev);

  train::ProgressFn progress = [](const train::Progress& p) {
    print_progress_line("", p.epoch, p.epochs, p.batch, p.batches, p.loss, p.images_per_second, p.eta_seconds);
  };
  if (!leader) progress = nullptr;
  auto on_epoch = [leader](const train::EpochRecord& r) {
    if (!leader) return;
    fmt::print("\nepoch {}: train loss {:.4f}  train acc {:.2f}%  test acc {:.2f}%  test loss {:.4f}  {:.1f}s  {:.0f} img/s\n",
               r.epoch, r.train.train_loss, r.train.train_accuracy, r.test_accuracy, r.test_loss,
               r.train.train_seconds, r.train.images_per_second);
  };
  profiler::set_enabled(o.profile);
  const auto result = train::run_training(c, train_data, test_data, progress, on_epoch);
  if (!leader) return;
  if (o.profile) {
    const int64_t steps = (train_data.size() + c.batch - 1) / c.batch * static_cast<int64_t>(result.epochs.size());
    const std::string table = profiler::report_markdown(profiler::snapshot(), steps,
                                                          kernels::measure_roofline_machine(kernels::available_threads()));
    fmt::print("\nper-layer profile ({} training steps of batch {}; forward and backward wall time per step):\n{}", steps,
               c.batch, table);
    write_file_atomically((std::filesystem::path(o.out) / "profile.md").string(), table);
  }
  fmt::print("final test accuracy {:.2f}% | params {} | MACs/image {} | {} epoch(s) saved in {} (model.safetensors, "
             "optimizer.safetensors, metrics.jsonl)\n",
             result.final_test_accuracy(), result.parameters, result.macs_per_image, result.epochs.back().epoch, o.out);
}
}  // namespace

void register_train(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = app.add_subcommand("train", "train one model on MNIST (or any IDX set) with per-epoch test accuracy");
  add_model_options(*cmd, o->model, "cnn");
  cmd->add_option("--recipe", o->recipe, "seed (write-up's SGD + softmax-CE) | standard (Adam + CE)")
      ->check(CLI::IsMember({"seed", "standard"}));
  cmd->add_option("--epochs", o->epochs, "epochs (overrides the recipe)")->check(CLI::PositiveNumber);
  cmd->add_option("--batch", o->batch, "batch size (overrides the recipe)")->check(CLI::PositiveNumber);
  cmd->add_option("--lr", o->lr, "learning rate (overrides the recipe)")->check(CLI::PositiveNumber);
  cmd->add_option("--lr-schedule", o->lr_schedule,
                  "constant (default) | cosine: epoch e of E at lr·(1 + cos(π(e−1)/E))/2")
      ->check(CLI::IsMember({"constant", "cosine"}));
  cmd->add_option("--momentum", o->momentum, "SGD momentum (overrides the recipe)")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--weight-decay", o->weight_decay, "L2 weight decay")->check(CLI::NonNegativeNumber);
  cmd->add_option("--optimizer", o->optimizer, "sgd | adam (overrides the recipe)")->check(CLI::IsMember({"sgd", "adam"}));
  cmd->add_option("--loss", o->loss, "ce | softmax-ce (overrides the recipe)")->check(CLI::IsMember({"ce", "softmax-ce"}));
  cmd->add_option("--seed", o->seed, "random seed (weights and batch order)");
  cmd->add_option("--data", o->data, "directory with the IDX files (raw or .gz)");
  cmd->add_option("--out", o->out, "run directory for metrics.jsonl and checkpoints");
  cmd->add_option("--resume", o->resume,
                  "continue from a run directory's latest epoch, or from a model.safetensors (optimizer.safetensors "
                  "and metrics.jsonl beside it); the model options default to the checkpoint's")
      ->check(CLI::ExistingPath);
  cmd->add_flag("--overwrite", o->overwrite,
                "replace another run found in --out (it stays until this run saves its first epoch)");
  cmd->add_option("--max-train", o->max_train, "use only the first N training images")->check(CLI::PositiveNumber);
  cmd->add_flag("--profile", o->profile, "print per-layer forward/backward time, share and GFLOP/s (also profile.md)");
  add_machine_options(*cmd, o->threads, o->isa);
  cmd->callback([o, cmd] { run(*o, *cmd); });
}

}  // namespace sepnet::app
