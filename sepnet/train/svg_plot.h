#pragma once
// A small, dependency-free SVG chart writer: training curves (accuracy/loss vs. epoch), strip
// plots of per-run results and bar charts.

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sepnet {

// How a series is drawn: a polyline (with point markers when short), markers alone, or bars
// from the x axis (bars are 0.7 x-units wide, for categories at integer x).
enum class Mark { Line, Points, Bars };

struct Series {
  std::string label;
  std::vector<double> x, y;  // same length; a NaN y breaks the line (missing point)
  std::string color;         // any SVG colour; empty = next colour of the default palette
  bool dashed = false;       // Line: dashed; Points: hollow markers
  Mark mark = Mark::Line;
  double stroke_width = 1.8;  // Line: the line's width (markers scale with it)
  bool in_legend = true;      // false: drawn but not listed (e.g. the 2nd..nth seed of a model)
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  std::optional<double> y_min, y_max;  // fixed y range; unset = fit the data and reference lines
  // Horizontal dashed lines with a text label, e.g. {"write-up cnn+BN 97.98", 97.98}. The
  // labels sit in a column right of the plot, stacked so they never overlap (spread_labels),
  // each joined to its line by a leader line.
  std::vector<std::pair<std::string, double>> reference_lines;
  // A categorical x axis: ticks only at these x values, labelled with these names (a '\n' makes
  // two lines), and the x range padded by half a unit each side. Empty: numeric ticks.
  std::vector<std::pair<double, std::string>> x_categories;
};

// The reference-line labels' text boxes of a chart drawn at the given size, in its pixel
// coordinates (for tests and for callers that place other things around them).
struct LabelBox {
  std::string text;
  double x0, y0, x1, y1;
};
std::vector<LabelBox> reference_label_boxes(const LineChart& chart, double width, double height);

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
