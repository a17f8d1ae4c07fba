// Reference-line labels of the SVG charts never overlap: spread_labels stacks labels that want
// the same place, and the drawn labels (parsed back from the SVG) keep their distance.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

#include "sepnet/train/label_layout.h"
#include "sepnet/train/svg_plot.h"

using sepnet::spread_labels;

namespace {

bool boxes_overlap(const sepnet::LabelBox& a, const sepnet::LabelBox& b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

// The write-up's numbers as on the compare charts, three of them within a point of each other.
sepnet::LineChart chart_with_close_references() {
  sepnet::LineChart c;
  c.title = "close reference lines";
  sepnet::Series s;
  s.label = "run";
  for (int e = 1; e <= 5; ++e) {
    s.x.push_back(e);
    s.y.push_back(80 + 3.0 * e);
  }
  c.series.push_back(s);
  c.reference_lines = {{"write-up cnn+BN 97.98", 97.98},
                       {"write-up dw+BN, cnn no BN 97.16", 97.16},
                       {"another 97.5", 97.5},
                       {"write-up dw no BN 87", 87.0}};
  c.y_min = 0;
  c.y_max = 100;
  return c;
}

}  // namespace

TEST_CASE("spread_labels leaves apart labels where they want to be", "[svg][layout]") {
  const auto at = spread_labels({100, 40, 200}, 14, 0, 300);
  CHECK(at == std::vector<double>{100, 40, 200});
  CHECK(spread_labels({}, 14, 0, 300).empty());
}

TEST_CASE("spread_labels stacks close labels at the minimum gap, in order, around their mean", "[svg][layout]") {
  const auto at = spread_labels({100, 103, 101}, 14, 0, 300);
  std::vector<double> sorted = at;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 1; i < sorted.size(); ++i) CHECK(sorted[i] - sorted[i - 1] >= 14 - 1e-9);
  // Wanted order 100 < 101 < 103 is kept: label 0 above label 2 above label 1.
  CHECK(at[0] < at[2]);
  CHECK(at[2] < at[1]);
  // The stack is centred on the mean wanted position, not pushed one way.
  CHECK((at[0] + at[1] + at[2]) / 3 == Approx((100 + 103 + 101) / 3.0));
}

TEST_CASE("spread_labels keeps the stack inside its range where the range allows", "[svg][layout]") {
  const auto top = spread_labels({2, 3, 4}, 10, 0, 100);
  CHECK(*std::min_element(top.begin(), top.end()) >= 0);
  const auto bottom = spread_labels({99, 98, 97}, 10, 0, 100);
  CHECK(*std::max_element(bottom.begin(), bottom.end()) <= 100);
  for (const auto& at : {top, bottom}) {
    std::vector<double> s = at;
    std::sort(s.begin(), s.end());
    CHECK(s[1] - s[0] >= 10 - 1e-9);
    CHECK(s[2] - s[1] >= 10 - 1e-9);
  }
  // Too little room: the gap wins, starting at lo.
  const auto cramped = spread_labels({5, 5, 5}, 10, 0, 12);
  std::vector<double> s = cramped;
  std::sort(s.begin(), s.end());
  CHECK(s[0] == 0);
  CHECK(s[2] == 20);
}

TEST_CASE("reference labels 0.3 points apart on a 0-100 axis get boxes that do not overlap", "[svg][layout]") {
  const auto chart = chart_with_close_references();
  for (const auto& [w, h] : {std::pair{640.0, 420.0}, std::pair{900.0, 520.0}}) {
    const auto boxes = sepnet::reference_label_boxes(chart, w, h);
    REQUIRE(boxes.size() == 4);
    for (size_t i = 0; i < boxes.size(); ++i)
      for (size_t j = i + 1; j < boxes.size(); ++j) {
        INFO(boxes[i].text << " vs " << boxes[j].text);
        CHECK_FALSE(boxes_overlap(boxes[i], boxes[j]));
      }
  }
}

TEST_CASE("the drawn reference labels sit at the laid-out places, a font height apart", "[svg][layout]") {
  const auto chart = chart_with_close_references();
  const std::string svg = sepnet::render_svg(chart);
  const std::regex label(R"re(<text class="reference-label" x="([0-9.]+)" y="([0-9.]+)" font-size="([0-9.]+)"[^>]*>([^<]*)</text>)re");
  std::vector<double> baselines;
  double font = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), label); it != std::sregex_iterator(); ++it) {
    baselines.push_back(std::stod((*it)[2]));
    font = std::stod((*it)[3]);
  }
  REQUIRE(baselines.size() == 4);
  REQUIRE(font > 0);
  std::sort(baselines.begin(), baselines.end());
  for (size_t i = 1; i < baselines.size(); ++i) CHECK(baselines[i] - baselines[i - 1] >= font);
  // The boxes the layout reports are the ones drawn (a box's top is a font height above its baseline).
  std::vector<double> laid_out;
  for (const auto& b : sepnet::reference_label_boxes(chart, 900, 520)) laid_out.push_back(b.y0 + font);
  std::sort(laid_out.begin(), laid_out.end());
  REQUIRE(laid_out.size() == baselines.size());
  for (size_t i = 0; i < laid_out.size(); ++i) CHECK(laid_out[i] == Approx(baselines[i]).margin(0.01));
  // Each label is joined to its line by a leader line that starts on the line.
  const std::regex leader(R"re(<line class="reference-leader" x1="[0-9.]+" y1="([0-9.]+)")re");
  size_t leaders = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), leader); it != std::sregex_iterator(); ++it) {
    const double y = std::stod((*it)[1]);
    // A reference line is drawn across the plot from x = 68 at this y.
    const bool on_a_line = svg.find("x1=\"68.00\" y1=\"" + (*it)[1].str() + "\"") != std::string::npos;
    INFO("leader from y " << y);
    CHECK(on_a_line);
    ++leaders;
  }
  CHECK(leaders == 4);
}
