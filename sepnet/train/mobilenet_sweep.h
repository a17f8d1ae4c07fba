// The MobileNet paper's ablations at small scale (docs/results.md, "MobileNet on Fashion-MNIST"):
// separable vs full convolution (its Table 4), the width multiplier α (Table 6) and the input
// size (Table 7), each over several seeds, summarized as tables and accuracy against
// multiply-adds on a log axis (Figure 4). `sepnet sweep` runs it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sepnet/train/experiment.h"
#include "sepnet/train/scatter_plot.h"

namespace sepnet::train {

struct SweepConfig {
  std::vector<uint64_t> seeds{1, 2, 3};
  std::vector<float> widths{1.0f, 0.75f, 0.5f, 0.25f};  // at base_image_size
  std::vector<int> image_sizes{32, 48, 64};              // at size_width
  int base_image_size = 32;  // the separable-vs-full and width cells
  float size_width = 0.5f;   // α of the image-size cells
};

// One network of the sweep; a cell shared by two studies (α 0.5 at 32 px) is trained once.
struct SweepCell {
  float width;
  int image_size;
  std::string conv;  // separable | full
  std::string name() const;  // "a0.5-s32-separable": its run directories' prefix
  bool operator==(const SweepCell&) const = default;
};

// The distinct cells: separable and full at α 1 and base size, every width at base size, every
// image size at size_width.
std::vector<SweepCell> sweep_cells(const SweepConfig& config);

struct SweepRow {
  SweepCell cell;
  int64_t parameters = 0, macs_per_image = 0;
  std::vector<double> final_accuracies;  // one per seed
  double mean_accuracy = 0, std_accuracy = 0;  // sample std over seeds
  double median_images_per_second = 0;        // over every epoch of every seed
  double train_seconds_total = 0;
};

SweepRow summarize_cell(const SweepCell& cell, const std::vector<RunResult>& runs);

// The three tables as Markdown, in the paper's layout (network, accuracy, MACs, parameters,
// plus training images/s); `recipe` is one line describing how the runs were trained.
std::string sweep_tables_markdown(const SweepConfig& config, const std::vector<SweepRow>& rows,
                                  const std::string& recipe);
// Accuracy (mean ± std over seeds) against MACs per image, log x: one group per study.
ScatterChart sweep_chart(const SweepConfig& config, const std::vector<SweepRow>& rows, const std::string& data_name);

}  // namespace sepnet::train
