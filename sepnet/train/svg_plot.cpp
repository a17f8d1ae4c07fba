#include "sepnet/train/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "sepnet/core/io/atomic_file.h"
#include "sepnet/train/label_layout.h"

namespace sepnet {
namespace {

// Tableau-10 plus two darker hues: 12 colours that stay distinguishable on white.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"};
constexpr int kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);

constexpr double kPanelWidth = 640, kPanelHeight = 420;    // one panel in a grid
constexpr double kSingleWidth = 900, kSingleHeight = 520;  // a standalone chart
constexpr double kCharWidth = 6.6;                          // rough width of a 12px sans-serif glyph
constexpr size_t kMaxLegendChars = 34;

std::string escape_xml(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') out += ' ';
        else out += c;
    }
  }
  return out;
}

// Cuts long labels on a UTF-8 boundary so the legend keeps a bounded width.
std::string shorten(const std::string& s, size_t max_chars) {
  size_t chars = 0, i = 0;
  while (i < s.size()) {
    if (chars == max_chars) return s.substr(0, i) + "…";
    const unsigned char c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++chars;
  }
  return s;
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

struct Ticks {
  double lo, hi, step;
  int decimals;
};

// "Nice" axis: bounds and step from {1, 2, 5} × 10^k covering [lo, hi] with about `target` ticks
// (whole-number data such as epochs keeps whole-number ticks).
Ticks nice_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag * 10;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  Ticks t;
  t.step = step;
  t.lo = std::floor(lo / step + 1e-9) * step;
  t.hi = std::ceil(hi / step - 1e-9) * step;
  t.decimals = std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
  return t;
}

std::string tick_label(double v, int decimals) {
  if (std::abs(v) < 1e-12) v = 0;  // no "-0.0"
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

struct Range {
  double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
  void add(double v) {
    if (std::isfinite(v)) {
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  bool empty() const { return lo > hi; }
};

void check_series(const LineChart& chart) {
  for (const Series& s : chart.series)
    if (s.x.size() != s.y.size())
      throw std::runtime_error("svg plot '" + chart.title + "': series '" + s.label + "' has " +
                               std::to_string(s.x.size()) + " x values but " + std::to_string(s.y.size()) +
                               " y values");
}

// Where a chart's parts go when drawn in a width × height box.
struct Frame {
  double left, top, pw, ph, labels_w, legend_w;
  bool two_line_categories;
  double x_lo, x_hi, y_lo, y_hi;
  Ticks xt, yt;
  bool no_data;
  double px(double x) const { return left + (x - x_lo) / (x_hi > x_lo ? x_hi - x_lo : 1.0) * pw; }
  double py(double y) const { return top + ph - (y - y_lo) / (y_hi > y_lo ? y_hi - y_lo : 1.0) * ph; }
};

constexpr double kRefFont = 11, kRefGap = 14;  // reference labels: font size, least baseline distance

bool any_in_legend(const LineChart& chart) {
  return std::any_of(chart.series.begin(), chart.series.end(), [](const Series& s) { return s.in_legend; });
}

// Reference labels sit in a column right of the plot, joined to their lines by leader lines, so
// they never cover data; the legend comes after them.
constexpr double kLeader = 18;

double label_width(const std::string& text) {
  return kCharWidth * static_cast<double>(utf8_length(text)) * kRefFont / 12;
}

Frame frame_of(const LineChart& chart, double width, double height) {
  Frame f{};
  // Legend sits right of the plot; its width follows the longest (shortened) label.
  size_t longest = 0;
  for (const Series& s : chart.series)
    if (s.in_legend) longest = std::max(longest, utf8_length(shorten(s.label, kMaxLegendChars)));
  f.legend_w = any_in_legend(chart) ? 40 + kCharWidth * static_cast<double>(longest) : 0;
  double widest_label = 0;
  for (const auto& [label, y] : chart.reference_lines) widest_label = std::max(widest_label, label_width(label));
  f.labels_w = widest_label > 0 ? kLeader + widest_label + 6 : 0;
  f.two_line_categories = std::any_of(chart.x_categories.begin(), chart.x_categories.end(),
                                      [](const auto& c) { return c.second.find('\n') != std::string::npos; });
  f.left = 68;
  f.top = chart.title.empty() ? 16 : 38;
  const double bottom = f.two_line_categories ? 63 : 50, right = 16 + f.labels_w + f.legend_w;
  f.pw = std::max(40.0, width - f.left - right);
  f.ph = std::max(40.0, height - f.top - bottom);

  Range xr, yr;
  bool bars = false;
  for (const Series& s : chart.series) {
    bars = bars || s.mark == Mark::Bars;
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) {
        xr.add(s.x[i]);
        yr.add(s.y[i]);
      }
  }
  if (bars) yr.add(0);  // bars grow from zero
  for (const auto& [label, y] : chart.reference_lines) yr.add(y);
  for (const auto& [x, name] : chart.x_categories) xr.add(x);
  f.no_data = xr.empty();
  if (xr.empty()) xr.lo = 0, xr.hi = 1;
  if (yr.empty()) yr.lo = 0, yr.hi = 1;

  f.xt = nice_ticks(xr.lo, xr.hi, std::max(2, static_cast<int>(f.pw / 80)));
  f.yt = nice_ticks(chart.y_min.value_or(yr.lo), chart.y_max.value_or(yr.hi), std::max(2, static_cast<int>(f.ph / 50)));
  // A fixed bound is kept exactly; otherwise the niced bound is used.
  f.y_lo = chart.y_min ? *chart.y_min : f.yt.lo;
  f.y_hi = chart.y_max ? *chart.y_max : f.yt.hi;
  const bool categorical = !chart.x_categories.empty() || bars;
  f.x_lo = categorical ? xr.lo - 0.5 : f.xt.lo;
  f.x_hi = categorical ? xr.hi + 0.5 : f.xt.hi;
  return f;
}

struct PlacedLabel {
  std::string text;
  double line_y, baseline;  // the reference line's y and the label's baseline, in pixels
};

// Reference labels in the column right of the plot, each wanted level with its line, stacked by
// spread_labels so no two overlap.
std::vector<PlacedLabel> place_reference_labels(const LineChart& chart, const Frame& f) {
  std::vector<PlacedLabel> placed;
  std::vector<double> wanted;
  for (const auto& [label, y] : chart.reference_lines) {
    if (!std::isfinite(y) || y < f.y_lo || y > f.y_hi) continue;
    placed.push_back({label, f.py(y), 0});
    wanted.push_back(f.py(y) + 4);
  }
  const std::vector<double> at = spread_labels(wanted, kRefGap, f.top + kRefFont, f.top + f.ph + 4);
  for (size_t i = 0; i < placed.size(); ++i) placed[i].baseline = at[i];
  return placed;
}

LabelBox box_of(const PlacedLabel& l, const Frame& f) {
  const double x0 = f.left + f.pw + kLeader;
  return {l.text, x0, l.baseline - kRefFont, x0 + label_width(l.text), l.baseline + 3};
}

std::string marker(const std::string& color, double cx, double cy, double r, bool hollow) {
  return "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\" fill=\"" +
         (hollow ? std::string("white") : color) + "\" stroke=\"" + color + "\" stroke-width=\"1.3\"/>\n";
}

// Draws one chart into the box (0,0)-(width,height) of the current coordinate system.
void draw_chart(std::string& o, const LineChart& chart, double width, double height, int panel_id) {
  const std::string id = "sepnet-plot-" + std::to_string(panel_id);
  const Frame f = frame_of(chart, width, height);
  const double left = f.left, top = f.top, pw = f.pw, ph = f.ph;
  auto px = [&](double x) { return f.px(x); };
  auto py = [&](double y) { return f.py(y); };

  o += "<rect x=\"0\" y=\"0\" width=\"" + num(width) + "\" height=\"" + num(height) + "\" fill=\"white\"/>\n";
  o += "<clipPath id=\"" + id + "-clip\"><rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) +
       "\" height=\"" + num(ph) + "\"/></clipPath>\n";
  if (!chart.title.empty())
    o += "<text x=\"" + num(width / 2) + "\" y=\"24\" text-anchor=\"middle\" font-size=\"16\" font-weight=\"bold\">" +
         escape_xml(chart.title) + "</text>\n";

  // Gridlines and tick labels.
  o += "<g font-size=\"11\" fill=\"#333\">\n";
  const Ticks& yt = f.yt;
  for (int i = 0;; ++i) {
    const double v = yt.lo + i * yt.step;
    if (v > f.y_hi + yt.step * 1e-6) break;
    if (v < f.y_lo - yt.step * 1e-6) continue;
    const double y = py(v);
    o += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left + pw) + "\" y2=\"" + num(y) +
         "\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>\n";
    o += "<line x1=\"" + num(left - 5) + "\" y1=\"" + num(y) + "\" x2=\"" + num(left) + "\" y2=\"" + num(y) +
         "\" stroke=\"#333\"/>\n";
    o += "<text x=\"" + num(left - 8) + "\" y=\"" + num(y + 4) + "\" text-anchor=\"end\">" + tick_label(v, yt.decimals) +
         "</text>\n";
  }
  auto x_tick = [&](double v, const std::string& label) {
    const double x = px(v);
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x) + "\" y2=\"" + num(top + ph) +
         "\" stroke=\"#e3e3e3\" stroke-width=\"1\"/>\n";
    o += "<line x1=\"" + num(x) + "\" y1=\"" + num(top + ph) + "\" x2=\"" + num(x) + "\" y2=\"" + num(top + ph + 5) +
         "\" stroke=\"#333\"/>\n";
    // A category name may have two lines ("dwsep\nno BN").
    const size_t nl = label.find('\n');
    if (nl == std::string::npos) {
      o += "<text x=\"" + num(x) + "\" y=\"" + num(top + ph + 18) + "\" text-anchor=\"middle\">" + escape_xml(label) +
           "</text>\n";
    } else {
      o += "<text x=\"" + num(x) + "\" y=\"" + num(top + ph + 18) + "\" text-anchor=\"middle\">" +
           escape_xml(label.substr(0, nl)) + "<tspan x=\"" + num(x) + "\" dy=\"13\">" +
           escape_xml(label.substr(nl + 1)) + "</tspan></text>\n";
    }
  };
  if (!chart.x_categories.empty()) {
    for (const auto& [x, name] : chart.x_categories) x_tick(x, name);
  } else {
    const Ticks& xt = f.xt;
    for (int i = 0;; ++i) {
      const double v = xt.lo + i * xt.step;
      if (v > f.x_hi + xt.step * 1e-6) break;
      if (v < f.x_lo - xt.step * 1e-6) continue;
      x_tick(v, tick_label(v, xt.decimals));
    }
  }
  o += "</g>\n";
  // Axes frame.
  o += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" + num(pw) + "\" height=\"" + num(ph) +
       "\" fill=\"none\" stroke=\"#333\" stroke-width=\"1\"/>\n";
  if (!chart.x_label.empty())
    o += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(top + ph + (f.two_line_categories ? 53 : 40)) +
         "\" text-anchor=\"middle\" font-size=\"13\">" + escape_xml(chart.x_label) + "</text>\n";
  if (!chart.y_label.empty())
    o += "<text transform=\"translate(18," + num(top + ph / 2) + ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" +
         escape_xml(chart.y_label) + "</text>\n";

  // Reference lines under the data; their labels are drawn last so no curve hides them.
  const std::vector<PlacedLabel> labels = place_reference_labels(chart, f);
  for (const PlacedLabel& l : labels)
    o += "<line x1=\"" + num(left) + "\" y1=\"" + num(l.line_y) + "\" x2=\"" + num(left + pw) + "\" y2=\"" +
         num(l.line_y) + "\" stroke=\"#555\" stroke-width=\"1.2\" stroke-dasharray=\"3 3\"/>\n";

  // Series: a NaN/inf y breaks a line; short lines get point markers.
  o += "<g clip-path=\"url(#" + id + "-clip)\" fill=\"none\" stroke-linejoin=\"round\">\n";
  const double unit = std::abs(px(1) - px(0));
  for (size_t si = 0; si < chart.series.size(); ++si) {
    const Series& s = chart.series[si];
    const std::string color = s.color.empty() ? kPalette[si % kPaletteSize] : escape_xml(s.color);
    auto finite = [&](size_t i) { return std::isfinite(s.x[i]) && std::isfinite(s.y[i]); };
    if (s.mark == Mark::Bars) {
      const double y0 = py(std::clamp(0.0, f.y_lo, f.y_hi));
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!finite(i)) continue;
        // At least 2 px tall, so a bar of zero is still seen (and its colour with it).
        const double y = py(s.y[i]), h = std::max(2.0, std::abs(y0 - y));
        o += "<rect x=\"" + num(px(s.x[i]) - 0.35 * unit) + "\" y=\"" + num(y <= y0 ? y0 - h : y0) + "\" width=\"" +
             num(0.7 * unit) + "\" height=\"" + num(h) + "\" fill=\"" + color + "\"/>\n";
      }
      continue;
    }
    if (s.mark == Mark::Points) {
      for (size_t i = 0; i < s.x.size(); ++i)
        if (finite(i)) o += marker(color, px(s.x[i]), py(s.y[i]), 4.5, s.dashed);
      continue;
    }
    const std::string dash = s.dashed ? " stroke-dasharray=\"7 4\"" : "";
    std::string points;
    size_t count = 0;
    auto flush = [&] {
      if (count >= 2)
        o += "<polyline stroke=\"" + color + "\" stroke-width=\"" + num(s.stroke_width) + "\"" + dash + " points=\"" +
             points + "\"/>\n";
      points.clear();
      count = 0;
    };
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!finite(i)) {
        flush();
        continue;
      }
      if (count) points += ' ';
      points += num(px(s.x[i]));
      points += ',';
      points += num(py(s.y[i]));
      ++count;
    }
    flush();
    if (s.x.size() <= 30)
      for (size_t i = 0; i < s.x.size(); ++i)
        if (finite(i))
          o += "<circle cx=\"" + num(px(s.x[i])) + "\" cy=\"" + num(py(s.y[i])) + "\" r=\"" +
               num(1.3 * s.stroke_width) + "\" fill=\"" + color + "\" stroke=\"none\"/>\n";
  }
  o += "</g>\n";

  for (const PlacedLabel& l : labels) {
    const LabelBox b = box_of(l, f);
    o += "<line class=\"reference-leader\" x1=\"" + num(left + pw + 1) + "\" y1=\"" + num(l.line_y) + "\" x2=\"" +
         num(b.x0 - 3) + "\" y2=\"" + num(l.baseline - 4) + "\" stroke=\"#555\" stroke-width=\"0.9\"/>\n";
    o += "<text class=\"reference-label\" x=\"" + num(b.x0) + "\" y=\"" + num(l.baseline) + "\" font-size=\"" +
         num(kRefFont) + "\" fill=\"#333\">" + escape_xml(l.text) + "</text>\n";
  }

  // Legend.
  if (any_in_legend(chart)) {
    const double lx = left + pw + f.labels_w + 14;
    o += "<g font-size=\"12\">\n";
    size_t row = 0;
    for (size_t si = 0; si < chart.series.size(); ++si) {
      const Series& s = chart.series[si];
      if (!s.in_legend) continue;
      const std::string color = s.color.empty() ? kPalette[si % kPaletteSize] : escape_xml(s.color);
      const double ly = top + 10 + 18 * static_cast<double>(row++);
      if (s.mark == Mark::Line)
        o += "<line x1=\"" + num(lx) + "\" y1=\"" + num(ly) + "\" x2=\"" + num(lx + 22) + "\" y2=\"" + num(ly) +
             "\" stroke=\"" + color + "\" stroke-width=\"2.2\"" + (s.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>\n";
      else if (s.mark == Mark::Points)
        o += marker(color, lx + 11, ly, 4.5, s.dashed);
      else
        o += "<rect x=\"" + num(lx + 4) + "\" y=\"" + num(ly - 6) + "\" width=\"14\" height=\"12\" fill=\"" + color +
             "\"/>\n";
      o += "<text x=\"" + num(lx + 28) + "\" y=\"" + num(ly + 4) + "\"><title>" + escape_xml(s.label) + "</title>" +
           escape_xml(shorten(s.label, kMaxLegendChars)) + "</text>\n";
    }
    o += "</g>\n";
  }
  if (f.no_data)
    o += "<text x=\"" + num(left + pw / 2) + "\" y=\"" + num(top + ph / 2) +
         "\" text-anchor=\"middle\" font-size=\"13\" fill=\"#888\">no data</text>\n";
}

std::string svg_open(double width, double height) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" viewBox=\"0 0 " + num(width) + " " + num(height) +
         "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n";
}

}  // namespace

std::vector<LabelBox> reference_label_boxes(const LineChart& chart, double width, double height) {
  const Frame f = frame_of(chart, width, height);
  std::vector<LabelBox> boxes;
  for (const PlacedLabel& l : place_reference_labels(chart, f)) boxes.push_back(box_of(l, f));
  return boxes;
}

std::string render_svg(const LineChart& chart) {
  check_series(chart);
  std::string o = svg_open(kSingleWidth, kSingleHeight);
  draw_chart(o, chart, kSingleWidth, kSingleHeight, 0);
  o += "</svg>\n";
  return o;
}

std::string render_svg_panels(const std::vector<LineChart>& charts, int columns) {
  for (const LineChart& c : charts) check_series(c);
  const int n = static_cast<int>(charts.size());
  const int cols = std::clamp(columns, 1, std::max(1, n));
  const int rows = std::max(1, (n + cols - 1) / cols);
  std::string o = svg_open(cols * kPanelWidth, rows * kPanelHeight);
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  for (int i = 0; i < n; ++i) {
    o += "<g transform=\"translate(" + num((i % cols) * kPanelWidth) + "," + num((i / cols) * kPanelHeight) + ")\">\n";
    draw_chart(o, charts[static_cast<size_t>(i)], kPanelWidth, kPanelHeight, i);
    o += "</g>\n";
  }
  o += "</svg>\n";
  return o;
}

void write_svg(const std::string& path, const LineChart& chart) {
  std::string svg;
  try {
    svg = render_svg(chart);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  write_file_atomically(path, svg);
}

void write_svg_panels(const std::string& path, const std::vector<LineChart>& charts, int columns) {
  std::string svg;
  try {
    svg = render_svg_panels(charts, columns);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  write_file_atomically(path, svg);
}

}  // namespace sepnet
