// PNG copies of the SVG charts: written beside the SVG at its pixel size, a real picture (not
// blank, the series' colours in it), and errors that name the file. Built without librsvg, the
// function says so and writes nothing.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "temp_dir.h"
#include "sepnet/train/png_export.h"
#include "sepnet/train/svg_plot.h"

#ifdef SEPNET_HAVE_RSVG
#include <cairo.h>
#endif

using sepnet::testing::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t big_endian(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint32_t(uint8_t(s[at + 3]));
}

sepnet::LineChart red_line_chart() {
  sepnet::LineChart c;
  c.title = "PNG export";
  c.x_label = "epoch";
  c.y_label = "accuracy (%)";
  sepnet::Series s;
  s.label = "red run";
  s.color = "#ff0000";
  s.stroke_width = 4;
  for (int e = 1; e <= 5; ++e) {
    s.x.push_back(e);
    s.y.push_back(90 + e);
  }
  c.series.push_back(s);
  c.reference_lines = {{"write-up 97.98", 97.98}};
  return c;
}

}  // namespace

TEST_CASE("write_png_beside writes a PNG of the SVG's pixel size that shows the chart", "[png]") {
  if (std::string why; !sepnet::png_supported(&why)) {
    WARN(why);  // the second test case checks what such a build does
    return;
  }
  TempDir dir;
  const std::string svg = dir.file("chart.svg");
  sepnet::write_svg_panels(svg, {red_line_chart(), red_line_chart(), red_line_chart()}, 2);  // 1280 × 840
  const auto png_path = sepnet::write_png_beside(svg);
  REQUIRE(png_path);
  CHECK(*png_path == dir.file("chart.png"));
  const std::string png = slurp(*png_path);
  REQUIRE(png.size() > 33);
  CHECK(png.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  CHECK(png.substr(12, 4) == "IHDR");
  CHECK(big_endian(png, 16) == 1280);
  CHECK(big_endian(png, 20) == 840);

#ifdef SEPNET_HAVE_RSVG
  // Decoded by cairo: mostly white, with dark text and the series' red.
  std::unique_ptr<cairo_surface_t, void (*)(cairo_surface_t*)> image(cairo_image_surface_create_from_png(png_path->c_str()),
                                                                    cairo_surface_destroy);
  REQUIRE(cairo_surface_status(image.get()) == CAIRO_STATUS_SUCCESS);
  const int w = cairo_image_surface_get_width(image.get()), h = cairo_image_surface_get_height(image.get());
  const int stride = cairo_image_surface_get_stride(image.get());
  const unsigned char* data = cairo_image_surface_get_data(image.get());
  int64_t white = 0, dark = 0, red = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      uint32_t px;
      std::memcpy(&px, data + static_cast<size_t>(y) * stride + static_cast<size_t>(x) * 4, 4);
      const int r = (px >> 16) & 0xff, g = (px >> 8) & 0xff, b = px & 0xff;
      if (r > 245 && g > 245 && b > 245) ++white;
      if (r < 80 && g < 80 && b < 80) ++dark;
      if (r > 200 && g < 60 && b < 60) ++red;
    }
  const double all = static_cast<double>(w) * h;
  CHECK(white / all > 0.5);
  CHECK(dark > 2000);  // axes, ticks and text
  CHECK(red > 3 * 400);  // three panels' 4-px red lines, a few hundred pixels long each
#endif
}

TEST_CASE("write_png_beside names the file it cannot render", "[png]") {
  TempDir dir;
  const std::string missing = dir.file("missing.svg");
  CHECK_THROWS_WITH(sepnet::write_png_beside(missing), Catch::Contains(missing));
  if (std::string why; !sepnet::png_supported(&why)) {
    CHECK(why.find("librsvg") != std::string::npos);
    const std::string svg = dir.file("chart.svg");
    sepnet::write_svg(svg, red_line_chart());
    CHECK_FALSE(sepnet::write_png_beside(svg));
    CHECK_FALSE(fs::exists(dir.file("chart.png")));
    return;
  }
  const std::string garbage = dir.file("garbage.svg");
  std::ofstream(garbage) << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\"";
  CHECK_THROWS_WITH(sepnet::write_png_beside(garbage), Catch::Contains(garbage) && Catch::Contains("not a valid SVG"));
  const std::string no_size = dir.file("no-size.svg");
  std::ofstream(no_size) << "<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"5\" height=\"5\"/></svg>";
  CHECK_THROWS_WITH(sepnet::write_png_beside(no_size), Catch::Contains(no_size) && Catch::Contains("pixel size"));
  CHECK_FALSE(fs::exists(dir.file("garbage.png")));
  CHECK_FALSE(fs::exists(dir.file("no-size.png")));
}
