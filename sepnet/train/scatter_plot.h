// A scatter chart with a logarithmic x axis, as SVG: accuracy against multiply-adds, the
// MobileNet paper's Figure 4. Each point carries its own label and optional error bar.
#pragma once
#include <string>
#include <vector>

namespace sepnet {

struct ScatterPoint {
  double x, y;
  double y_error = 0;  // half-length of a vertical error bar (e.g. the std over seeds); 0: none
  std::string label;   // written beside the point
};

struct ScatterGroup {
  std::string label;  // legend entry
  std::vector<ScatterPoint> points;
  bool connect = false;  // join the points in order (a family such as α = 1 … 0.25)
};

struct ScatterChart {
  std::string title, x_label, y_label;
  std::vector<ScatterGroup> groups;
};

// A standalone SVG document. The x axis is log10 with a tick at every power of ten and its 2×
// and 5× multiples inside the data's range. Throws std::invalid_argument on a non-positive or
// non-finite x, or a non-finite y.
std::string render_scatter_svg(const ScatterChart& chart);
// Written atomically to `path`; errors name `path`.
void write_scatter_svg(const std::string& path, const ScatterChart& chart);

}  // namespace sepnet
