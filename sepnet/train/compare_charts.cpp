#include "sepnet/train/compare_charts.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "sepnet/core/checkpoint.h"
#include "sepnet/train/experiment.h"
#include "sepnet/train/trainer.h"

namespace sepnet::train {
namespace {

std::string model_color(const std::string& model) {
  if (model == "cnn") return "#1f77b4";
  if (model == "dw") return "#d62728";
  if (model == "dwsep") return "#2ca02c";
  return "#7f7f7f";
}

std::string variant(const CompareRow& r) { return r.model + (r.batch_norm ? "+BN" : " no BN"); }

// The write-up's numbers (final accuracies, so drawn on the final-accuracy chart only); its "87"
// only when some run comes near it, so a chart of good runs keeps its y range tight.
std::vector<std::pair<std::string, double>> write_up_lines(double lowest) {
  std::vector<std::pair<std::string, double>> lines = {{"write-up cnn+BN 97.98", 97.98},
                                                       {"write-up dw+BN, cnn 97.16", 97.16}};
  if (lowest <= 90.0) lines.push_back({"write-up dw 87", 87.0});
  return lines;
}

}  // namespace

LineChart accuracy_chart(const std::string& recipe, const std::vector<CompareRow>& rows) {
  LineChart chart;
  chart.title = "Recipe '" + recipe + "': test accuracy per epoch, a line per seed";
  chart.x_label = "epoch";
  chart.y_label = "test accuracy (%)";
  for (const CompareRow& r : rows) {
    if (r.recipe != recipe) continue;
    for (size_t k = 0; k < r.curves.size(); ++k) {
      Series s;
      s.label = fmt::format("{} ({} seeds)", variant(r), r.curves.size());
      s.color = model_color(r.model);
      s.dashed = !r.batch_norm;
      s.stroke_width = 1.1;
      s.in_legend = k == 0;
      for (size_t e = 0; e < r.curves[k].size(); ++e) {
        s.x.push_back(static_cast<double>(e + 1));
        s.y.push_back(r.curves[k][e]);
      }
      chart.series.push_back(std::move(s));
    }
  }
  // Whole epochs on the x axis (a numeric axis would tick at 1.5); at most about 10 labels.
  size_t epochs = 0;
  for (const Series& s : chart.series) epochs = std::max(epochs, s.x.size());
  const size_t every = std::max<size_t>(1, (epochs + 9) / 10);
  for (size_t e = 1; e <= epochs; e += every) chart.x_categories.push_back({static_cast<double>(e), std::to_string(e)});
  chart.y_max = 100.0;
  return chart;
}

LineChart final_accuracy_chart(const std::string& recipe, const std::vector<CompareRow>& rows) {
  LineChart chart;
  chart.title = "Recipe '" + recipe + "': final test accuracy, a point per seed";
  chart.x_label = "model (filled: with BN, hollow: without)";
  chart.y_label = "test accuracy (%)";
  double lowest = 100.0;
  for (const CompareRow& r : rows) {
    if (r.recipe != recipe) continue;
    const double x = static_cast<double>(chart.x_categories.size());
    chart.x_categories.push_back({x, r.model + (r.batch_norm ? "\n+BN" : "\nno BN")});
    Series s;
    s.label = variant(r);
    s.color = model_color(r.model);
    s.dashed = !r.batch_norm;
    s.mark = Mark::Points;
    s.in_legend = false;  // the axis names the variants
    const size_t n = r.final_accuracies.size();
    for (size_t k = 0; k < n; ++k) {
      // Seeds side by side within the variant's slot, so equal results stay distinguishable.
      s.x.push_back(x + (n > 1 ? (static_cast<double>(k) / static_cast<double>(n - 1) - 0.5) * 0.3 : 0.0));
      s.y.push_back(r.final_accuracies[k]);
      lowest = std::min(lowest, r.final_accuracies[k]);
    }
    chart.series.push_back(std::move(s));
  }
  chart.reference_lines = write_up_lines(lowest);
  // Room below the lowest point, so its marker is not cut by the frame.
  const double bottom = chart.reference_lines.size() > 2 ? std::min(lowest, 87.0) : lowest;
  chart.y_min = std::floor((bottom - 1.0) / 5.0) * 5.0;
  chart.y_max = 100.0;
  return chart;
}

std::string PlateauRun::name() const {
  return fmt::format("{}/{}{}, seed {}", recipe, model, batch_norm ? "+BN" : " no BN", seed);
}

std::optional<PlateauRun> find_plateau_run(const std::vector<CompareRow>& rows, const std::string& recipe,
                                           double min_shortfall) {
  std::optional<PlateauRun> worst;
  for (const CompareRow& r : rows) {
    if (r.recipe != recipe || r.final_accuracies.empty()) continue;
    const double best = *std::max_element(r.final_accuracies.begin(), r.final_accuracies.end());
    for (size_t k = 0; k < r.final_accuracies.size(); ++k) {
      const double shortfall = best - r.final_accuracies[k];
      if (shortfall < min_shortfall) continue;
      if (worst && shortfall <= worst->best_seed_accuracy - worst->accuracy) continue;
      worst = PlateauRun{r.recipe,
                         r.model,
                         k < r.run_dirs.size() ? r.run_dirs[k] : "",
                         r.batch_norm,
                         k < r.seeds.size() ? r.seeds[k] : 0,
                         r.final_accuracies[k],
                         best};
    }
  }
  return worst;
}

std::array<double, 10> recall_per_class(const std::array<std::array<int64_t, 10>, 10>& confusion) {
  std::array<double, 10> recall{};
  for (size_t t = 0; t < 10; ++t) {
    int64_t total = 0;
    for (int64_t n : confusion[t]) total += n;
    recall[t] = total > 0 ? 100.0 * static_cast<double>(confusion[t][t]) / static_cast<double>(total)
                          : std::numeric_limits<double>::quiet_NaN();
  }
  return recall;
}

std::array<std::array<int64_t, 10>, 10> confusion_of_run(const std::string& run_dir, const data::ImageDataset& test_data) {
  const std::string path = (std::filesystem::path(run_dir) / "model.safetensors").string();
  const Metadata meta = read_metadata(path);
  auto model = model_from_metadata(path, meta);
  load_model(path, *model);
  spec_for_data(models::spec_from_metadata(path, meta), test_data, data_name(test_data, "the test set"));
  return evaluate(*model, test_data).confusion;
}

LineChart recall_chart(const PlateauRun& run, const std::array<double, 10>& recall) {
  LineChart chart;
  chart.title = fmt::format("Recall per digit of {} ({:.2f} %)", run.name(), run.accuracy);
  chart.x_label = fmt::format("digit (this run ended {:.1f} points below its best seed)", run.best_seed_accuracy - run.accuracy);
  chart.y_label = "test recall (%)";
  // The digits the run did not learn (recall under 10 %), or else its least-recalled digit.
  size_t least = 0;
  for (size_t d = 1; d < recall.size(); ++d)
    if (std::isnan(recall[least]) || (!std::isnan(recall[d]) && recall[d] < recall[least])) least = d;
  std::vector<size_t> marked;
  for (size_t d = 0; d < recall.size(); ++d)
    if (recall[d] < 10.0) marked.push_back(d);
  std::string low_label;
  if (marked.empty()) {
    marked.push_back(least);
    low_label = fmt::format("least recalled: digit {}, {:.1f} %", least, recall[least]);
  } else if (marked.size() == 1) {
    low_label = fmt::format("digit {}: {:.1f} % recalled", least, recall[least]);
  } else {
    low_label = fmt::format("digits {}: recall < 10 %", fmt::join(marked, ", "));
  }
  Series rest{"other digits", {}, {}, "#9aa5b1", false, Mark::Bars};
  Series low{low_label, {}, {}, "#d62728", false, Mark::Bars};
  for (size_t d = 0; d < recall.size(); ++d) {
    chart.x_categories.push_back({static_cast<double>(d), std::to_string(d)});
    Series& s = std::find(marked.begin(), marked.end(), d) != marked.end() ? low : rest;
    s.x.push_back(static_cast<double>(d));
    s.y.push_back(recall[d]);
  }
  chart.series = {rest, low};
  chart.y_min = 0.0;
  chart.y_max = 100.0;
  return chart;
}

}  // namespace sepnet::train
