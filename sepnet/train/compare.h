// The write-up's experiment: {cnn, dw, dwsep} × {BN, no BN} over several seeds, per recipe.
// Runs the grid and summarizes it (mean ± std over seeds) as a table; compare_charts.h draws it.
#pragma once
#include <string>
#include <vector>

#include "sepnet/train/experiment.h"

namespace sepnet::train {

struct CompareConfig {
  std::vector<std::string> recipes{"seed", "standard"};
  std::vector<std::string> models{"cnn", "dw", "dwsep"};
  std::vector<uint64_t> seeds{1, 2, 3};
  int epochs = 0;  // 0: the recipe's
  int threads = 0;
  std::string out_dir = "runs/compare";
};

struct CompareRow {
  std::string recipe, model;
  bool batch_norm;
  int64_t parameters, macs_per_image;
  std::vector<double> final_accuracies;  // one per seed
  double mean_accuracy, std_accuracy;    // sample std over seeds
  double median_images_per_second;
  double train_seconds_total;
  std::string reported;  // the write-up's number, or "-"
  std::vector<std::vector<double>> curves;  // per seed, test accuracy per epoch
  std::vector<uint64_t> seeds;              // per seed: the seed and its run directory
  std::vector<std::string> run_dirs;
};

// The write-up's reported test accuracies (cnn/dw with and without BN), "-" otherwise.
std::string reported_accuracy(const std::string& model, bool batch_norm);

CompareRow summarize(const std::string& recipe, const std::string& model, bool batch_norm,
                     const std::vector<RunResult>& runs);

std::string markdown_table(const std::vector<CompareRow>& rows, const std::vector<uint64_t>& seeds, int epochs);

}  // namespace sepnet::train
