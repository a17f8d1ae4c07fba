// A training run's directory, crash-consistent. Each epoch's model, optimizer state and metrics
// go into a new checkpoint directory (ckpt-<epoch>-<nonce>/), which is published by atomically
// replacing one symlink, `latest`. The names users know are fixed symlinks through it:
//
//   run/latest                -> ckpt-000003-5c1e09a2        (replaced atomically per epoch)
//   run/model.safetensors     -> latest/model.safetensors
//   run/optimizer.safetensors -> latest/optimizer.safetensors
//   run/metrics.jsonl         -> latest/metrics.jsonl        (every epoch so far, one line each)
//
// so all three switch to the new epoch at one instant, or not at all: a process killed at any
// point leaves the previous complete epoch visible. Leftovers of an interrupted save (a staging
// directory, an unpublished checkpoint) are removed when the directory is next opened.
#pragma once
#include <string>
#include <vector>

#include "sepnet/core/checkpoint.h"
#include "sepnet/core/io/directory_ops.h"

namespace sepnet::train {

// One saved epoch, as found on disk and checked to be complete and from one save.
struct SavedCheckpoint {
  std::string run_dir;      // the run directory it belongs to
  std::string dir;          // the directory holding its three files
  std::string model_path, optimizer_path;
  Metadata model_metadata;  // the model file's metadata
  int epoch = 0;
  std::string run_id;       // empty for checkpoints written before runs had an id
  std::vector<std::string> metrics_lines;  // epochs 1..epoch, one JSON object each
};

// Finds the checkpoint that `path` names — a run directory, its model.safetensors, or a model
// file inside a checkpoint directory — and checks that the model file, the optimizer file and
// the metrics beside it were saved together (same run id and epoch, metrics for exactly epochs
// 1..epoch). Throws, naming the files and what each holds, when they were not.
SavedCheckpoint find_checkpoint(const std::string& path);

// Whether `dir` holds a run's files (checkpoints, metrics, or the published names).
bool holds_run(const std::string& dir);

// Throws unless a run may be written into `dir`: it holds no other run, or `overwrite`, or the
// run continues `resumed`, a checkpoint of this same directory.
void check_run_directory_free(const std::string& dir, bool overwrite, const SavedCheckpoint* resumed);

class RunDirectory {
 public:
  // Opens `dir` for writing a run, creating it if needed. A directory that holds another run is
  // refused unless `overwrite` (its files are replaced at the first published epoch, so a run
  // killed before then leaves the old one intact) or the run continues `resumed`, a checkpoint
  // of this same directory. Takes the directory's lock for the object's lifetime.
  RunDirectory(const std::string& dir, bool overwrite, const SavedCheckpoint* resumed);

  // Writes epoch `epoch` (model, optimizer, metrics lines so far plus `metrics_line`) and
  // publishes it. Every write and fsync is checked; on failure nothing is published.
  void publish(int epoch, const nn::Module& model, const optim::Optimizer& optimizer, const Metadata& metadata,
               const std::string& metrics_line);

  const std::string& path() const { return dir_; }
  const std::vector<std::string>& metrics_lines() const { return metrics_lines_; }

 private:
  void remove_leftovers(const std::string& keep);
  void ensure_published_names();

  std::string dir_;
  DirectoryLock lock_;
  bool replace_foreign_ = false;  // --overwrite: replace another run's files when publishing
  std::vector<std::string> metrics_lines_;
};

}  // namespace sepnet::train
