// The pictures of `sepnet compare`: every seed's run (not a mean over seeds, which would hide
// runs that end in two clusters), and the per-digit recall of one run stuck on a plateau.
#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sepnet/core/data/dataset.h"
#include "sepnet/train/compare.h"
#include "sepnet/train/svg_plot.h"

namespace sepnet::train {

// Test accuracy per epoch, one thin line per seed in its model's colour (dashed without BN);
// the legend lists each model variant once.
LineChart accuracy_chart(const std::string& recipe, const std::vector<CompareRow>& rows);

// Final test accuracy of every seed as a point per model variant (hollow without BN), with the
// write-up's numbers (final accuracies) as reference lines.
LineChart final_accuracy_chart(const std::string& recipe, const std::vector<CompareRow>& rows);

// A run that ended far below the best seed of its own model variant.
struct PlateauRun {
  std::string recipe, model, run_dir;
  bool batch_norm = true;
  uint64_t seed = 0;
  double accuracy = 0, best_seed_accuracy = 0;
  std::string name() const;  // "seed/dw no BN, seed 2"
};

// The run of `recipe` that falls furthest below its variant's best seed, when that shortfall is
// at least `min_shortfall` points; nullopt otherwise (no run is stuck).
std::optional<PlateauRun> find_plateau_run(const std::vector<CompareRow>& rows, const std::string& recipe,
                                           double min_shortfall = 3.0);

// Recall per class in percent, from a confusion matrix [true][predicted]; NaN for a class with
// no test images.
std::array<double, 10> recall_per_class(const std::array<std::array<int64_t, 10>, 10>& confusion);

// The confusion matrix of the model saved in `run_dir` (its model.safetensors, built through the
// models registry) on `test_data`. Errors name the checkpoint.
std::array<std::array<int64_t, 10>, 10> confusion_of_run(const std::string& run_dir, const data::ImageDataset& test_data);

// Bars of recall per digit for `run`; the least-recalled digit is drawn in its own colour and
// named in the legend.
LineChart recall_chart(const PlateauRun& run, const std::array<double, 10>& recall);

}  // namespace sepnet::train
