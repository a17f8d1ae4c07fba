#pragma once
// A small, dependency-free SVG line-chart writer for training curves (accuracy/loss vs. epoch).

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sepnet {

struct Series {
  std::string label;
  std::vector<double> x, y;  // same length; a NaN y breaks the line (missing point)
  std::string color;         // any SVG colour; empty = next colour of the default palette
  bool dashed = false;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::optional<double> y_min, y_max;  // fixed y range; unset = fit the data and reference lines
  // Horizontal dashed lines with a text label, e.g. {"write-up cnn+BN 97.98", 97.98}.
  std::vector<std::pair<std::string, double>> reference_lines;
};

// One chart as a standalone SVG document: title, axes with ticks, tick labels and gridlines,
// axis labels, a legend to the right of the plot, and the reference lines. Throws
// std::runtime_error if a series has x and y of different lengths.
std::string render_svg(const LineChart& chart);

// Several charts in a grid, `columns` per row (clamped to 1..charts.size()).
std::string render_svg_panels(const std::vector<LineChart>& charts, int columns);

// render_svg written atomically to `path`; errors name `path`.
void write_svg(const std::string& path, const LineChart& chart);
void write_svg_panels(const std::string& path, const std::vector<LineChart>& charts, int columns);

}  // namespace sepnet
