// .npy writer (header layout per NumPy format 1.0) and the SVG line-chart writer.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include <unistd.h>

#include "sepnet/core/io/npy.h"
#include "sepnet/train/svg_plot.h"

#include "temp_dir.h"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

using sepnet::testing::TempDir;

std::string slurp(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

size_t count_of(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

// Minimal XML well-formedness check: every start tag is closed in order, attributes are quoted,
// no stray '<' or '&' in text. Returns "" when fine, else what is wrong.
std::string xml_problem(const std::string& s) {
  std::vector<std::string> stack;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      const size_t semi = s.find(';', i);
      if (semi == std::string::npos || semi - i > 8) return "bare & at " + std::to_string(i);
      continue;
    }
    if (s[i] != '<') continue;
    const size_t close = s.find('>', i);
    if (close == std::string::npos) return "unterminated tag at " + std::to_string(i);
    std::string tag = s.substr(i + 1, close - i - 1);
    if (count_of(tag, "\"") % 2 != 0) return "unbalanced quotes in <" + tag + ">";
    if (tag.find('<') != std::string::npos) return "'<' inside tag at " + std::to_string(i);
    if (!tag.empty() && tag[0] == '/') {
      if (stack.empty() || stack.back() != tag.substr(1)) return "mismatched </" + tag.substr(1) + ">";
      stack.pop_back();
    } else if (!tag.empty() && tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n\t")));
    }
    i = close;
  }
  return stack.empty() ? "" : "unclosed <" + stack.back() + ">";
}

struct NpyParts {
  std::string magic;
  int major = -1, minor = -1;
  std::string header;
  std::string data;
};

NpyParts split_npy(const std::string& bytes) {
  NpyParts p;
  REQUIRE(bytes.size() >= 10);
  p.magic = bytes.substr(0, 6);
  p.major = static_cast<unsigned char>(bytes[6]);
  p.minor = static_cast<unsigned char>(bytes[7]);
  const size_t len = static_cast<unsigned char>(bytes[8]) | (static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8);
  REQUIRE(bytes.size() >= 10 + len);
  p.header = bytes.substr(10, len);
  p.data = bytes.substr(10 + len);
  return p;
}

}  // namespace

TEST_CASE("npy: header follows format 1.0 and data is raw little-endian f32", "[npy]") {
  TempDir dir;
  struct Case {
    std::vector<int64_t> shape;
    std::string shape_text;
  };
  const std::vector<Case> cases = {
      {{2, 3}, "(2, 3)"}, {{5}, "(5,)"}, {{}, "()"}, {{0, 4}, "(0, 4)"}, {{1, 2, 3, 1, 2, 1, 3}, "(1, 2, 3, 1, 2, 1, 3)"},
      {{100000}, "(100000,)"},
  };
  for (const auto& c : cases) {
    INFO(c.shape_text);
    size_t n = 1;
    for (auto d : c.shape) n *= static_cast<size_t>(d);
    std::vector<float> values(n);
    for (size_t i = 0; i < n; ++i) values[i] = static_cast<float>(i) * 0.37f - 5.f;
    if (n > 1) values[1] = std::numeric_limits<float>::quiet_NaN();
    const std::string p = dir.file("a.npy");
    sepnet::save_npy_f32(p, c.shape, values.data());
    const std::string bytes = slurp(p);
    const NpyParts parts = split_npy(bytes);
    CHECK(parts.magic == "\x93NUMPY");
    CHECK(parts.major == 1);
    CHECK(parts.minor == 0);
    CHECK((10 + parts.header.size()) % 64 == 0);
    CHECK(parts.header.back() == '\n');
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': " + c.shape_text + ", }";
    CHECK_THAT(parts.header, StartsWith(dict));
    CHECK(parts.header.find_first_not_of(' ', dict.size()) == parts.header.size() - 1);  // only spaces then '\n'
    REQUIRE(parts.data.size() == n * 4);
    CHECK((n == 0 || std::memcmp(parts.data.data(), values.data(), n * 4) == 0));
  }
}

TEST_CASE("npy: bad input throws naming the path", "[npy]") {
  TempDir dir;
  const std::string p = dir.file("bad.npy");
  const float x = 1.f;
  REQUIRE_THROWS_WITH(sepnet::save_npy_f32(p, {2, -1}, &x), Contains(p) && Contains("negative dimension"));
  REQUIRE_THROWS_WITH(sepnet::save_npy_f32(p, {3}, nullptr), Contains(p) && Contains("null data"));
  REQUIRE_THROWS_WITH(sepnet::save_npy_f32(dir.file("no/dir/x.npy"), {1}, &x), Contains("no/dir/x.npy"));
  CHECK_FALSE(fs::exists(p));
}

namespace {

sepnet::LineChart demo_chart(int series_count) {
  sepnet::LineChart c;
  c.title = "MNIST test accuracy";
  c.x_label = "epoch";
  c.y_label = "accuracy (%)";
  for (int s = 0; s < series_count; ++s) {
    sepnet::Series se;
    se.label = "run " + std::to_string(s);
    se.dashed = s % 2 == 1;
    for (int e = 1; e <= 15; ++e) {
      se.x.push_back(e);
      se.y.push_back(99.0 - 5.0 / e - 0.1 * s);
    }
    c.series.push_back(se);
  }
  c.reference_lines = {{"write-up cnn+BN 97.98", 97.98}};
  return c;
}

}  // namespace

TEST_CASE("svg: chart has labels, legend, ticks and is well formed", "[svg]") {
  auto chart = demo_chart(12);
  chart.series[3].label = "sep & <dw> \"quoted\"";
  chart.series[5].y[4] = std::numeric_limits<double>::quiet_NaN();  // gap in the line
  const std::string svg = sepnet::render_svg(chart);
  CHECK_THAT(svg, StartsWith("<svg"));
  CHECK_THAT(svg, EndsWith("</svg>\n"));
  INFO(xml_problem(svg));
  CHECK(xml_problem(svg).empty());
  CHECK_THAT(svg, Contains("MNIST test accuracy"));
  CHECK_THAT(svg, Contains(">epoch<"));
  CHECK_THAT(svg, Contains(">accuracy (%)<"));
  CHECK_THAT(svg, Contains("write-up cnn+BN 97.98"));
  for (int s = 0; s < 12; ++s)
    if (s != 3) CHECK_THAT(svg, Contains(">run " + std::to_string(s) + "<"));
  CHECK_THAT(svg, Contains("sep &amp; &lt;dw&gt; &quot;quoted&quot;"));
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
  // The NaN splits series 5 into two polylines: 12 series + 1 extra segment.
  CHECK(count_of(svg, "<polyline") == 13);
  // Default palette: 12 distinct colours for 12 uncoloured series.
  std::set<std::string> colours;
  for (size_t at = svg.find("<polyline stroke=\""); at != std::string::npos; at = svg.find("<polyline stroke=\"", at + 1))
    colours.insert(svg.substr(at + 18, 7));
  CHECK(colours.size() == 12);
  CHECK_THAT(svg, Contains("stroke-dasharray"));
  // Tick labels for epochs 0..15 in steps of 5 or finer.
  CHECK_THAT(svg, Contains(">10<"));
}

TEST_CASE("svg: fixed y range, explicit colours, empty chart, errors", "[svg]") {
  auto chart = demo_chart(2);
  chart.y_min = 90;
  chart.y_max = 100;
  chart.series[0].color = "#123456";
  const std::string svg = sepnet::render_svg(chart);
  CHECK(xml_problem(svg).empty());
  CHECK_THAT(svg, Contains(">90<"));
  CHECK_THAT(svg, Contains(">100<"));
  CHECK_THAT(svg, Contains("#123456"));

  const std::string empty = sepnet::render_svg(sepnet::LineChart{});
  CHECK(xml_problem(empty).empty());
  CHECK_THAT(empty, Contains("no data"));

  sepnet::LineChart flat;
  flat.series.push_back({"flat", {0, 1, 2}, {5, 5, 5}, "", false});
  CHECK(xml_problem(sepnet::render_svg(flat)).empty());
  CHECK(sepnet::render_svg(flat).find("nan") == std::string::npos);

  sepnet::LineChart bad;
  bad.title = "bad chart";
  bad.series.push_back({"broken", {0, 1, 2}, {1, 2}, "", false});
  REQUIRE_THROWS_WITH(sepnet::render_svg(bad), Contains("series 'broken' has 3 x values but 2 y values"));
  TempDir dir;
  REQUIRE_THROWS_WITH(sepnet::write_svg(dir.file("bad.svg"), bad), Contains(dir.file("bad.svg")) && Contains("broken"));
  CHECK_FALSE(fs::exists(dir.file("bad.svg")));
}

TEST_CASE("svg: panels side by side and file output", "[svg]") {
  auto a = demo_chart(3);
  a.title = "panel A";
  auto b = demo_chart(4);
  b.title = "panel B";
  auto c = demo_chart(1);
  c.title = "panel C";
  const std::string svg = sepnet::render_svg_panels({a, b, c}, 2);
  CHECK_THAT(svg, StartsWith("<svg"));
  CHECK_THAT(svg, EndsWith("</svg>\n"));
  CHECK(xml_problem(svg).empty());
  for (const char* t : {"panel A", "panel B", "panel C"}) CHECK_THAT(svg, Contains(t));
  // Each panel has its own clip path id.
  CHECK(count_of(svg, "<clipPath id=") == 3);
  CHECK(count_of(svg, "sepnet-plot-2-clip") == 2);
  CHECK_THAT(svg, Contains("width=\"1280.00\" height=\"840.00\""));  // 2 columns × 2 rows

  TempDir dir;
  sepnet::write_svg(dir.file("one.svg"), a);
  CHECK(slurp(dir.file("one.svg")) == sepnet::render_svg(a));
  sepnet::write_svg_panels(dir.file("grid.svg"), {a, b, c}, 5);  // columns clamp to 3
  CHECK_THAT(slurp(dir.file("grid.svg")), Contains("width=\"1920.00\" height=\"420.00\""));
}
