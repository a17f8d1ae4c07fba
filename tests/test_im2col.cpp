// im2col / col2im_accumulate against their references and against a direct convolution.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/im2col.h"

using namespace sepnet::kernels;

namespace {

struct ThreadCount {
  int previous = omp_get_max_threads();
  explicit ThreadCount(int n) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(previous); }
};

std::vector<ConvGeometry> geometries() {
  // channels, in_h, in_w, kernel_h, kernel_w, stride, pad
  std::vector<ConvGeometry> out = {
      {1, 28, 28, 5, 5, 1, 0},  {6, 14, 14, 5, 5, 1, 0}, {3, 7, 9, 3, 3, 1, 1},
      {2, 8, 8, 3, 3, 2, 1},    {5, 11, 13, 3, 5, 2, 2}, {4, 6, 5, 1, 1, 1, 0},
      {3, 9, 7, 2, 3, 3, 0},    {2, 5, 5, 5, 5, 1, 2},   {1, 1, 1, 1, 1, 1, 0},
      {2, 4, 6, 3, 3, 1, 3},    {3, 10, 10, 4, 4, 4, 1}, {64, 20, 20, 3, 3, 1, 1},
      {7, 17, 15, 7, 7, 2, 3},  {3, 3, 3, 5, 5, 1, 2},
  };
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> ch(1, 5), sz(1, 19), ks(1, 5), st(1, 3), pd(0, 3);
  while (out.size() < 40) {
    ConvGeometry g{ch(rng), sz(rng), sz(rng), ks(rng), ks(rng), st(rng), pd(rng)};
    if (g.in_h + 2 * g.pad < g.kernel_h || g.in_w + 2 * g.pad < g.kernel_w) continue;
    out.push_back(g);
  }
  return out;
}

std::string describe(const ConvGeometry& g) {
  return "C=" + std::to_string(g.channels) + " H=" + std::to_string(g.in_h) +
         " W=" + std::to_string(g.in_w) + " K=" + std::to_string(g.kernel_h) + "x" +
         std::to_string(g.kernel_w) + " s=" + std::to_string(g.stride) + " p=" + std::to_string(g.pad);
}

}  // namespace

TEST_CASE("im2col equals the reference exactly", "[im2col]") {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const ConvGeometry& g : geometries()) {
    INFO(describe(g));
    std::vector<float> image(static_cast<size_t>(g.channels) * g.in_h * g.in_w);
    for (auto& x : image) x = dist(rng);
    const size_t size = static_cast<size_t>(g.column_rows() * g.column_cols());
    std::vector<float> ref(size + 16, 7.0f);
    im2col_reference(g, image.data(), ref.data());
    for (int threads : {1, 2}) {
      ThreadCount tc(threads);
      std::vector<float> got(size + 16, 7.0f);  // prefilled garbage + guard after the end
      im2col(g, image.data(), got.data());
      CHECK(got == ref);
    }
  }
}

TEST_CASE("col2im_accumulate matches the reference and accumulates", "[im2col]") {
  std::mt19937 rng(2);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const ConvGeometry& g : geometries()) {
    INFO(describe(g));
    const size_t size = static_cast<size_t>(g.column_rows() * g.column_cols());
    std::vector<float> columns(size);
    for (auto& x : columns) x = dist(rng);
    const size_t image_size = static_cast<size_t>(g.channels) * g.in_h * g.in_w;
    std::vector<float> start(image_size + 16, 0.0f);
    for (size_t i = 0; i < image_size; ++i) start[i] = dist(rng);
    for (size_t i = image_size; i < start.size(); ++i) start[i] = 99.0f;  // guard
    std::vector<float> ref = start;
    col2im_accumulate_reference(g, columns.data(), ref.data());
    for (int threads : {1, 2}) {
      ThreadCount tc(threads);
      std::vector<float> got = start;
      col2im_accumulate(g, columns.data(), got.data());
      // Same additions in the same order per pixel (window rows in (ki, kj, oy, ox) order).
      CHECK(got == ref);
    }
  }
}

TEST_CASE("im2col + sgemm equals a direct convolution; col2im is its adjoint", "[im2col]") {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const ConvGeometry& g : geometries()) {
    INFO(describe(g));
    const int out_c = 3, oh = g.out_h(), ow = g.out_w();
    const long rows = g.column_rows(), cols = g.column_cols();
    std::vector<float> image(static_cast<size_t>(g.channels) * g.in_h * g.in_w);
    std::vector<float> weight(static_cast<size_t>(out_c * rows));
    for (auto& x : image) x = dist(rng);
    for (auto& x : weight) x = dist(rng);
    std::vector<float> columns(static_cast<size_t>(rows * cols)), out(static_cast<size_t>(out_c * cols));
    im2col(g, image.data(), columns.data());
    sgemm(false, false, out_c, static_cast<int>(cols), static_cast<int>(rows), 1.0f, weight.data(),
          static_cast<int>(rows), columns.data(), static_cast<int>(cols), 0.0f, out.data(),
          static_cast<int>(cols));
    for (int o = 0; o < out_c; ++o)
      for (int oy = 0; oy < oh; ++oy)
        for (int ox = 0; ox < ow; ++ox) {
          double sum = 0, mag = 0;
          for (int c = 0; c < g.channels; ++c)
            for (int ki = 0; ki < g.kernel_h; ++ki)
              for (int kj = 0; kj < g.kernel_w; ++kj) {
                const int y = oy * g.stride + ki - g.pad, x = ox * g.stride + kj - g.pad;
                if (y < 0 || y >= g.in_h || x < 0 || x >= g.in_w) continue;
                const double term =
                    static_cast<double>(weight[((static_cast<size_t>(o) * g.channels + c) * g.kernel_h + ki) * g.kernel_w + kj]) *
                    image[(static_cast<size_t>(c) * g.in_h + y) * g.in_w + x];
                sum += term;
                mag += std::fabs(term);
              }
          const float got = out[static_cast<size_t>(o) * cols + static_cast<size_t>(oy) * ow + ox];
          REQUIRE(std::fabs(got - sum) <= 1e-6 * (rows + 2) * mag + 1e-30);
        }
    // Adjoint: <im2col(x), y> == <x, col2im(y)>.
    std::vector<float> probe(static_cast<size_t>(rows * cols));
    for (auto& x : probe) x = dist(rng);
    std::vector<float> back(image.size(), 0.0f);
    col2im_accumulate(g, probe.data(), back.data());
    double lhs = 0, rhs = 0, mag = 0;
    for (size_t i = 0; i < probe.size(); ++i) {
      lhs += static_cast<double>(columns[i]) * probe[i];
      mag += std::fabs(static_cast<double>(columns[i]) * probe[i]);
    }
    for (size_t i = 0; i < image.size(); ++i) rhs += static_cast<double>(image[i]) * back[i];
    CHECK(std::fabs(lhs - rhs) <= 1e-5 * mag + 1e-30);
  }
}
