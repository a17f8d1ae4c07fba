// A scatter chart with a logarithmic x axis, as SVG: accuracy against multiply-adds, the
// MobileNet paper's Figure 4. Each point carries its own label and optional error bar.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace sepnet {

struct ScatterPoint {
  double x, y;
  double y_error = 0;  // half-length of a vertical error bar (e.g. the std over seeds); 0: none
  std::string label;   // written beside the point
  std::vector<double> samples;  // the values y summarizes (one per seed), drawn as small rings
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
// and 5× multiples inside the data's range. Points of different groups at the same place share
// one label ("α 0.5 · 32 px"), and every label goes to the first spot beside its point where it
// covers no other label (place_point_labels). Throws std::invalid_argument on a non-positive or
// non-finite x, or a non-finite y or sample.
std::string render_scatter_svg(const ScatterChart& chart);
// Where each label of width widths[i] (pixels, text height 11) goes beside the point anchors[i]
// so that no two label boxes overlap: the first of right-above, right-below, left-above,
// left-below that is free, else further below. Returns each label's text origin (left, baseline).
struct PointLabelBox {
  double x0, y0, x1, y1;
};
std::vector<std::pair<double, double>> place_point_labels(const std::vector<std::pair<double, double>>& anchors,
                                                          const std::vector<double>& widths,
                                                          std::vector<PointLabelBox>* boxes = nullptr);
// Written atomically to `path`; errors name `path`.
void write_scatter_svg(const std::string& path, const ScatterChart& chart);

}  // namespace sepnet
