#include "sepnet/train/compare.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include "sepnet/train/run_statistics.h"

namespace sepnet::train {

std::string reported_accuracy(const std::string& model, bool batch_norm) {
  if (model == "cnn") return batch_norm ? "97.98" : "97.16";
  if (model == "dw") return batch_norm ? "97.16" : "87";
  return "-";
}

CompareRow summarize(const std::string& recipe, const std::string& model, bool batch_norm,
                     const std::vector<RunResult>& runs) {
  CompareRow row{recipe, model, batch_norm, 0, 0, {}, 0, 0, 0, 0, reported_accuracy(model, batch_norm), {}, {}, {}};
  std::vector<double> speeds;
  for (const RunResult& r : runs) {
    row.parameters = r.parameters;
    row.macs_per_image = r.macs_per_image;
    row.final_accuracies.push_back(r.final_test_accuracy());
    std::vector<double> curve;
    for (const EpochRecord& e : r.epochs) {
      curve.push_back(e.test_accuracy);
      speeds.push_back(e.train.images_per_second);
      row.train_seconds_total += e.train.train_seconds;
    }
    row.curves.push_back(curve);
    row.seeds.push_back(r.config.seed);
    row.run_dirs.push_back(r.config.out_dir);
  }
  const MeanStd accuracy = mean_and_sample_std(row.final_accuracies);
  row.mean_accuracy = accuracy.mean;
  row.std_accuracy = accuracy.std;
  row.median_images_per_second = median(std::move(speeds));
  return row;
}

std::string markdown_table(const std::vector<CompareRow>& rows, const std::vector<uint64_t>& seeds, int epochs) {
  std::string seed_list;
  for (size_t i = 0; i < seeds.size(); ++i) {
    if (i) seed_list += ',';
    seed_list += std::to_string(seeds[i]);
  }
  std::string s = fmt::format(
      "| recipe | model | BN | params | MACs/image | test acc % (mean ± std, n={}) | min–max | train img/s (median) | write-up |\n"
      "|---|---|---|---:|---:|---:|---:|---:|---:|\n",
      seeds.size());
  for (const CompareRow& r : rows) {
    const auto [lo, hi] = std::minmax_element(r.final_accuracies.begin(), r.final_accuracies.end());
    s += fmt::format("| {} | {} | {} | {} | {} | {:.2f} ± {:.2f} | {:.2f}–{:.2f} | {:.0f} | {} |\n", r.recipe, r.model,
                     r.batch_norm ? "yes" : "no", r.parameters, r.macs_per_image, r.mean_accuracy, r.std_accuracy,
                     r.final_accuracies.empty() ? 0.0 : *lo, r.final_accuracies.empty() ? 0.0 : *hi,
                     r.median_images_per_second, r.reported);
  }
  s += fmt::format("\nseeds {}; {} epochs; test accuracy after the last epoch on the 10,000 MNIST test images.\n",
                   seed_list, epochs);
  return s;
}

}  // namespace sepnet::train
