#include "sepnet/train/scatter_plot.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include <fmt/format.h>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet {
namespace {

constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
constexpr double kWidth = 900, kHeight = 540, kLeft = 70, kRight = 220, kTop = 40, kBottom = 60;

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else if (static_cast<unsigned char>(c) < 0x20) o += ' ';
    else o += c;
  }
  return o;
}

std::string tick_text(double v) {
  if (v >= 1e9) return fmt::format("{:g}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:g}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:g}k", v / 1e3);
  return fmt::format("{:g}", v);
}

// Label width in pixels at font-size 11 (sans-serif averages about 0.6 em per character; the
// UTF-8 continuation bytes of α, ×, · do not count).
double label_width(const std::string& text) {
  int chars = 0;
  for (unsigned char c : text) chars += (c & 0xC0) != 0x80;
  return 6.6 * chars;
}

bool overlap(const PointLabelBox& a, const PointLabelBox& b) {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}

}  // namespace

std::vector<std::pair<double, double>> place_point_labels(const std::vector<std::pair<double, double>>& anchors,
                                                          const std::vector<double>& widths,
                                                          std::vector<PointLabelBox>* boxes_out) {
  constexpr double kHeight = 11, kGap = 6;
  std::vector<PointLabelBox> boxes;
  std::vector<std::pair<double, double>> origins;
  for (size_t i = 0; i < anchors.size(); ++i) {
    const auto [px, py] = anchors[i];
    const double w = widths[i];
    // Candidate baselines: right-above, right-below, left-above, left-below, then further down.
    std::vector<std::pair<double, double>> candidates = {
        {px + kGap, py - kGap}, {px + kGap, py + kGap + kHeight}, {px - kGap - w, py - kGap}, {px - kGap - w, py + kGap + kHeight}};
    for (int k = 1; k <= 20; ++k) candidates.push_back({px + kGap, py + kGap + kHeight * (1 + 1.2 * k)});
    std::pair<double, double> chosen = candidates.back();
    PointLabelBox chosen_box{};
    for (const auto& [x, y] : candidates) {
      const PointLabelBox box{x, y - kHeight, x + w, y + 2};
      bool free = true;
      for (const PointLabelBox& b : boxes) free = free && !overlap(box, b);
      if (free) {
        chosen = {x, y};
        chosen_box = box;
        break;
      }
      chosen_box = box;
    }
    boxes.push_back(chosen_box);
    origins.push_back(chosen);
  }
  if (boxes_out) *boxes_out = boxes;
  return origins;
}

std::string render_scatter_svg(const ScatterChart& chart) {
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  for (const ScatterGroup& g : chart.groups)
    for (const ScatterPoint& p : g.points) {
      bool finite = p.x > 0 && std::isfinite(p.x) && std::isfinite(p.y) && std::isfinite(p.y_error);
      for (double v : p.samples) finite = finite && std::isfinite(v);
      if (!finite)
        throw std::invalid_argument(fmt::format("scatter chart '{}': point '{}' has x {} y {} (x must be positive, "
                                                "y, its error and its samples finite)", chart.title, p.label, p.x, p.y));
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y - p.y_error), y_hi = std::max(y_hi, p.y + p.y_error);
      for (double v : p.samples) y_lo = std::min(y_lo, v), y_hi = std::max(y_hi, v);
    }
  if (x_lo > x_hi) x_lo = 1, x_hi = 10, y_lo = 0, y_hi = 1;
  // Log range padded by a fifth of a decade; y padded by 5 %, at least ±0.5.
  const double lx0 = std::log10(x_lo) - 0.2, lx1 = std::log10(x_hi) + 0.2;
  const double pad = std::max(0.5, 0.05 * (y_hi - y_lo));
  y_lo -= pad, y_hi += pad;
  const double pw = kWidth - kLeft - kRight, ph = kHeight - kTop - kBottom;
  auto sx = [&](double x) { return kLeft + (std::log10(x) - lx0) / (lx1 - lx0) * pw; };
  auto sy = [&](double y) { return kTop + (y_hi - y) / (y_hi - y_lo) * ph; };

  std::string o = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<text x=\"{2}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{3}</text>\n",
      kWidth, kHeight, kLeft + pw / 2, escape(chart.title));
  // x ticks at 1, 2, 5 × 10^k inside the range; y ticks at a "nice" step.
  for (int k = static_cast<int>(std::floor(lx0)); k <= static_cast<int>(std::ceil(lx1)); ++k)
    for (double m : {1.0, 2.0, 5.0}) {
      const double v = m * std::pow(10.0, k);
      if (std::log10(v) < lx0 || std::log10(v) > lx1) continue;
      o += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"#{3}\"/>\n"
                       "<text x=\"{0:.1f}\" y=\"{4}\" text-anchor=\"middle\">{5}</text>\n",
                       sx(v), kTop, kTop + ph, m == 1.0 ? "ccc" : "eee", kTop + ph + 16, tick_text(v));
    }
  const double raw_step = (y_hi - y_lo) / 6, mag = std::pow(10.0, std::floor(std::log10(raw_step)));
  const double step = raw_step / mag < 2 ? 2 * mag : raw_step / mag < 5 ? 5 * mag : 10 * mag;
  for (double v = std::ceil(y_lo / step) * step; v <= y_hi; v += step)
    o += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#eee\"/>\n"
                     "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">{5:g}</text>\n",
                     kLeft, sy(v), kLeft + pw, kLeft - 6, sy(v) + 4, std::round(v / step) * step);
  o += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333\"/>\n", kLeft, kTop,
                   pw, ph);
  o += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", kLeft + pw / 2, kHeight - 14,
                   escape(chart.x_label));
  o += fmt::format("<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n", kTop + ph / 2,
                   escape(chart.y_label));
  // Labels: points of several groups at one place share one label; then each is placed where it
  // covers no other.
  std::vector<std::pair<double, double>> anchors;
  std::vector<std::string> texts;
  for (const ScatterGroup& g : chart.groups)
    for (const ScatterPoint& p : g.points) {
      if (p.label.empty()) continue;
      const std::pair<double, double> at{sx(p.x), sy(p.y)};
      size_t same = 0;
      while (same < anchors.size() && std::hypot(anchors[same].first - at.first, anchors[same].second - at.second) > 1.0)
        ++same;
      if (same < anchors.size())
        texts[same] += " · " + p.label;
      else
        anchors.push_back(at), texts.push_back(p.label);
    }
  std::vector<double> widths;
  for (const std::string& t : texts) widths.push_back(label_width(t));
  const auto origins = place_point_labels(anchors, widths);
  for (size_t gi = 0; gi < chart.groups.size(); ++gi) {
    const ScatterGroup& g = chart.groups[gi];
    const char* color = kColors[gi % (sizeof(kColors) / sizeof(kColors[0]))];
    if (g.connect && g.points.size() > 1) {
      std::string pts;
      for (const ScatterPoint& p : g.points) pts += fmt::format("{:.1f},{:.1f} ", sx(p.x), sy(p.y));
      o += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-opacity=\"0.5\"/>\n", pts, color);
    }
    for (const ScatterPoint& p : g.points) {
      if (p.y_error > 0)
        o += fmt::format("<line x1=\"{0:.1f}\" y1=\"{1:.1f}\" x2=\"{0:.1f}\" y2=\"{2:.1f}\" stroke=\"{3}\"/>\n", sx(p.x),
                         sy(p.y + p.y_error), sy(p.y - p.y_error), color);
      for (double v : p.samples)
        o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.5\" fill=\"none\" stroke=\"{}\"/>\n", sx(p.x),
                         sy(v), color);
      o += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"4\" fill=\"{}\"/>\n", sx(p.x), sy(p.y), color);
    }
    const double ly = kTop + 10 + 20 * static_cast<double>(gi);
    o += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                     kLeft + pw + 16, ly, color, kLeft + pw + 26, ly + 4, escape(g.label));
  }
  for (size_t i = 0; i < texts.size(); ++i)
    o += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" font-size=\"11\">{}</text>\n", origins[i].first,
                     origins[i].second, escape(texts[i]));
  return o + "</svg>\n";
}

void write_scatter_svg(const std::string& path, const ScatterChart& chart) {
  write_file_atomically(path, render_scatter_svg(chart));
}

}  // namespace sepnet
