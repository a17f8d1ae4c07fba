// The pictures of `sepnet compare` show every seed (two clusters stay two clusters), pick the
// run stuck on a plateau, and measure its recall per digit from its saved checkpoint.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include "quadrant_data.h"
#include "temp_dir.h"
#include "sepnet/train/compare_charts.h"
#include "sepnet/train/experiment.h"
#include "sepnet/train/recipe.h"

using namespace sepnet;
using sepnet::testing::TempDir;

namespace {

size_t count_of(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// A variant whose seeds end at `finals`, each climbing linearly over 3 epochs.
train::CompareRow row(const std::string& model, bool bn, std::vector<double> finals) {
  train::CompareRow r{};
  r.recipe = "seed";
  r.model = model;
  r.batch_norm = bn;
  r.final_accuracies = finals;
  for (size_t k = 0; k < finals.size(); ++k) {
    r.curves.push_back({finals[k] - 20, finals[k] - 5, finals[k]});
    r.seeds.push_back(k + 1);
    r.run_dirs.push_back("runs/seed/" + model + (bn ? "-bn" : "-nobn") + "-seed" + std::to_string(k + 1));
  }
  return r;
}

// cnn+BN converges every time; dw no BN is bimodal (two seeds near 98, one stuck near 88).
std::vector<train::CompareRow> bimodal_rows() {
  return {row("cnn", true, {98.6, 98.4, 98.7}), row("dw", false, {97.9, 88.1, 98.0})};
}

}  // namespace

TEST_CASE("the accuracy chart draws one line per seed, not their mean", "[compare][svg]") {
  const auto chart = train::accuracy_chart("seed", bimodal_rows());
  REQUIRE(chart.series.size() == 6);
  // The stuck seed's own curve is there, ending at 88.1; a mean would end at 94.67.
  const bool stuck_drawn = std::any_of(chart.series.begin(), chart.series.end(),
                                       [](const Series& s) { return s.y.back() == 88.1; });
  CHECK(stuck_drawn);
  // Each variant is listed once in the legend, in its model's colour.
  CHECK(std::count_if(chart.series.begin(), chart.series.end(), [](const Series& s) { return s.in_legend; }) == 2);
  CHECK(chart.series[0].color == chart.series[2].color);
  CHECK(chart.series[0].color != chart.series[3].color);
  CHECK(chart.series[3].dashed);
  // Whole epochs on the x axis.
  REQUIRE(chart.x_categories.size() == 3);
  CHECK(chart.x_categories[1].second == "2");
  const std::string svg = render_svg(chart);
  CHECK(count_of(svg, "<polyline stroke=") == 6);
  CHECK(svg.find("dw no BN (3 seeds)") != std::string::npos);
}

TEST_CASE("the final-accuracy chart puts every seed's result on its variant's slot", "[compare][svg]") {
  const auto chart = train::final_accuracy_chart("seed", bimodal_rows());
  REQUIRE(chart.x_categories.size() == 2);
  CHECK(chart.x_categories[1].second == "dw\nno BN");
  REQUIRE(chart.series.size() == 2);
  CHECK(chart.series[1].mark == Mark::Points);
  CHECK(chart.series[1].y == std::vector<double>{97.9, 88.1, 98.0});
  for (double x : chart.series[1].x) CHECK(std::abs(x - 1.0) < 0.5);  // within the slot of category 1
  // The write-up's final accuracies; a run near 88 brings in its 87.
  auto has_line = [&](double v) {
    return std::any_of(chart.reference_lines.begin(), chart.reference_lines.end(), [v](const auto& l) { return l.second == v; });
  };
  CHECK(has_line(97.98));
  CHECK(has_line(87.0));
  CHECK(*chart.y_min <= 88.1 - 1.0);  // the lowest point clear of the frame
  // Without a run near it, the 87 stays out and the y range stays tight.
  const auto good = train::final_accuracy_chart("seed", {row("cnn", true, {98.6, 98.4})});
  CHECK(good.reference_lines.size() == 2);
  CHECK(*good.y_min == 95.0);
  const std::string svg = render_svg(chart);
  CHECK(count_of(svg, "<circle") == 6);
  CHECK(svg.find(">dw<tspan") != std::string::npos);
  // Another recipe's rows are not drawn.
  CHECK(train::final_accuracy_chart("standard", bimodal_rows()).series.empty());
}

TEST_CASE("the plateau run is the one furthest below its variant's best seed", "[compare]") {
  auto rows = bimodal_rows();
  rows.push_back(row("dwsep", true, {80.0, 81.0, 82.0}));  // uniformly low: not a plateau
  const auto stuck = train::find_plateau_run(rows, "seed");
  REQUIRE(stuck);
  CHECK(stuck->model == "dw");
  CHECK_FALSE(stuck->batch_norm);
  CHECK(stuck->seed == 2);
  CHECK(stuck->accuracy == 88.1);
  CHECK(stuck->best_seed_accuracy == 98.0);
  CHECK(stuck->run_dir == "runs/seed/dw-nobn-seed2");
  CHECK(stuck->name() == "seed/dw no BN, seed 2");
  CHECK_FALSE(train::find_plateau_run({row("cnn", true, {98.6, 98.4, 98.7})}, "seed"));
  CHECK_FALSE(train::find_plateau_run(rows, "standard"));
}

TEST_CASE("recall per class comes from the confusion matrix's rows", "[compare]") {
  std::array<std::array<int64_t, 10>, 10> confusion{};
  for (size_t d = 0; d < 9; ++d) confusion[d][d] = 100;
  confusion[3][5] = 100;  // half the 3s read as 5
  confusion[9][4] = 50;   // 9 never recognized
  const auto recall = train::recall_per_class(confusion);
  CHECK(recall[0] == 100.0);
  CHECK(recall[3] == 50.0);
  CHECK(recall[9] == 0.0);

  train::PlateauRun run{"seed", "dw", "runs/seed/dw-nobn-seed2", false, 2, 88.1, 98.0};
  const auto chart = train::recall_chart(run, recall);
  CHECK(chart.title.find("seed/dw no BN, seed 2") != std::string::npos);
  CHECK(chart.title.find("88.10") != std::string::npos);
  REQUIRE(chart.series.size() == 2);
  CHECK(chart.series[1].label == "digit 9: 0.0 % recalled");
  CHECK(chart.series[1].x == std::vector<double>{9});
  CHECK(chart.series[0].x.size() == 9);
  CHECK(count_of(render_svg(chart), "<rect x=") >= 10);

  // Several digits never learned: all of them marked and named.
  confusion[4][4] = 0;
  confusion[4][1] = 100;
  const auto two = train::recall_chart(run, train::recall_per_class(confusion));
  CHECK(two.series[1].label == "digits 4, 9: recall < 10 %");
  CHECK(two.series[1].x == std::vector<double>{4, 9});
  // None under 10 %: the least-recalled digit is marked.
  const auto none = train::recall_chart(run, train::recall_per_class(std::array<std::array<int64_t, 10>, 10>{{
      {{90, 10}}, {{0, 100}}, {{0, 0, 100}}, {{0, 0, 0, 100}}, {{0, 0, 0, 0, 100}}, {{0, 0, 0, 0, 0, 100}},
      {{0, 0, 0, 0, 0, 0, 100}}, {{0, 0, 0, 0, 0, 0, 0, 100}}, {{0, 0, 0, 0, 0, 0, 0, 0, 100}},
      {{0, 0, 0, 0, 0, 0, 0, 0, 0, 100}}}}));
  CHECK(none.series[1].label == "least recalled: digit 0, 90.0 %");
}

TEST_CASE("confusion_of_run evaluates the checkpoint saved in a run directory", "[compare]") {
  TempDir dir;
  const auto data = sepnet::testing::quadrants(64, 1);
  train::RunConfig c = train::config_from_recipe(*train::find_recipe("standard"));
  c.model.name = "cnn";
  c.epochs = 1;
  c.batch = 32;
  c.threads = 1;
  c.out_dir = (dir.path / "run").string();
  const auto result = train::run_training(c, data, data);

  const auto confusion = train::confusion_of_run(c.out_dir, data);
  int64_t total = 0, correct = 0;
  for (size_t t = 0; t < 10; ++t)
    for (size_t p = 0; p < 10; ++p) {
      total += confusion[t][p];
      if (t == p) correct += confusion[t][p];
    }
  CHECK(total == 64);
  CHECK(100.0 * static_cast<double>(correct) / 64.0 == Approx(result.final_test_accuracy()));
  const auto recall = train::recall_per_class(confusion);
  CHECK(std::isnan(recall[4]));  // the quadrant set has 4 classes

  const std::string missing = (dir.path / "nothing-here").string();
  CHECK_THROWS_WITH(train::confusion_of_run(missing, data), Catch::Contains(missing));
}
