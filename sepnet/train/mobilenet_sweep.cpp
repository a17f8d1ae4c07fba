#include "sepnet/train/mobilenet_sweep.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>
#include <stdexcept>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sepnet/train/run_statistics.h"

namespace sepnet::train {

std::string SweepCell::name() const { return fmt::format("a{}-s{}-{}", width, image_size, conv); }

std::vector<SweepCell> sweep_cells(const SweepConfig& c) {
  std::vector<SweepCell> cells;
  auto add = [&cells](SweepCell cell) {
    if (std::find(cells.begin(), cells.end(), cell) == cells.end()) cells.push_back(cell);
  };
  add({1.0f, c.base_image_size, "separable"});
  add({1.0f, c.base_image_size, "full"});
  for (float w : c.widths) add({w, c.base_image_size, "separable"});
  for (int s : c.image_sizes) add({c.size_width, s, "separable"});
  return cells;
}

SweepRow summarize_cell(const SweepCell& cell, const std::vector<RunResult>& runs) {
  SweepRow row;
  row.cell = cell;
  std::vector<double> speeds;
  for (const RunResult& r : runs) {
    row.parameters = r.parameters;
    row.macs_per_image = r.macs_per_image;
    row.final_accuracies.push_back(r.final_test_accuracy());
    for (const EpochRecord& e : r.epochs) {
      speeds.push_back(e.train.images_per_second);
      row.train_seconds_total += e.train.train_seconds;
    }
  }
  const MeanStd accuracy = mean_and_sample_std(row.final_accuracies);
  row.mean_accuracy = accuracy.mean;
  row.std_accuracy = accuracy.std;
  row.median_images_per_second = median(std::move(speeds));
  return row;
}

namespace {

const SweepRow& row_of(const std::vector<SweepRow>& rows, const SweepCell& cell) {
  for (const SweepRow& r : rows)
    if (r.cell == cell) return r;
  throw std::invalid_argument("sweep: no results for cell " + cell.name());
}

std::string table_row(const std::string& label, const SweepRow& r) {
  return fmt::format("| {} | {:.2f} ± {:.2f} | {:.1f} | {:.3f} | {:.0f} |\n", label, r.mean_accuracy, r.std_accuracy,
                     static_cast<double>(r.macs_per_image) / 1e6, static_cast<double>(r.parameters) / 1e6,
                     r.median_images_per_second);
}

constexpr const char* kHeader =
    "| network | test accuracy % (mean ± std) | million MACs | million parameters | training images/s |\n"
    "|---|---:|---:|---:|---:|\n";

}  // namespace

std::string sweep_tables_markdown(const SweepConfig& c, const std::vector<SweepRow>& rows, const std::string& recipe) {
  std::string md = fmt::format("{} seed(s) per cell ({}); {}.\n\n", c.seeds.size(), fmt::join(c.seeds, ", "), recipe);
  md += fmt::format("**Depthwise-separable vs full convolution** (paper's Table 4), α 1, {} px:\n\n{}", c.base_image_size,
                    kHeader);
  md += table_row("Conv MobileNet (full 3×3)", row_of(rows, {1.0f, c.base_image_size, "full"}));
  md += table_row("MobileNet (separable)", row_of(rows, {1.0f, c.base_image_size, "separable"}));
  md += fmt::format("\n**Width multiplier α** (Table 6), {} px:\n\n{}", c.base_image_size, kHeader);
  for (float w : c.widths)
    md += table_row(fmt::format("{} MobileNet-{}", w, c.base_image_size), row_of(rows, {w, c.base_image_size, "separable"}));
  md += fmt::format("\n**Input size** (Table 7; ρ = side/224), α {}:\n\n{}", c.size_width, kHeader);
  for (int s : c.image_sizes)
    md += table_row(fmt::format("{} MobileNet-{} (ρ {:.3f})", c.size_width, s, s / 224.0),
                    row_of(rows, {c.size_width, s, "separable"}));
  return md;
}

ScatterChart sweep_chart(const SweepConfig& c, const std::vector<SweepRow>& rows, const std::string& data_name) {
  ScatterChart chart;
  chart.title = "MobileNet v1 on " + data_name + ": accuracy vs multiply-adds";
  chart.x_label = "multiply-adds per image (log scale)";
  chart.y_label = "test accuracy % (dot: mean ± std; rings: each seed)";
  auto point = [](const SweepRow& r, const std::string& label) {
    return ScatterPoint{static_cast<double>(r.macs_per_image), r.mean_accuracy, r.std_accuracy, label, r.final_accuracies};
  };
  ScatterGroup widths{fmt::format("width α ({} px)", c.base_image_size), {}, true};
  for (float w : c.widths) widths.points.push_back(point(row_of(rows, {w, c.base_image_size, "separable"}), fmt::format("α {}", w)));
  ScatterGroup sizes{fmt::format("input size (α {})", c.size_width), {}, true};
  for (int s : c.image_sizes) sizes.points.push_back(point(row_of(rows, {c.size_width, s, "separable"}), fmt::format("{} px", s)));
  ScatterGroup full{fmt::format("full 3×3 conv (α 1, {} px)", c.base_image_size), {}, false};
  full.points.push_back(point(row_of(rows, {1.0f, c.base_image_size, "full"}), "full conv"));
  chart.groups = {widths, sizes, full};
  return chart;
}

}  // namespace sepnet::train
