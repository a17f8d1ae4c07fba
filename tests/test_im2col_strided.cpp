// im2col / col2im with a row stride (several images side by side) equal the contiguous
// reference, column block by column block, and never write outside their block.
#include <catch2/catch.hpp>
#include <vector>

#include "sepnet/core/random.h"
#include "sepnet/kernels/im2col.h"

using namespace sepnet;
using namespace sepnet::kernels;

TEST_CASE("strided im2col/col2im equal the reference per image block", "[kernels][im2col]") {
  Rng rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    ConvGeometry g{1 + static_cast<int>(rng.below(4)), 3 + static_cast<int>(rng.below(12)), 3 + static_cast<int>(rng.below(12)),
                   1 + static_cast<int>(rng.below(3)), 1 + static_cast<int>(rng.below(3)), 1 + static_cast<int>(rng.below(2)),
                   static_cast<int>(rng.below(2))};
    if (g.out_h() < 1 || g.out_w() < 1) continue;
    const long rows = g.column_rows(), cols = g.column_cols();
    const int images = 3;
    const long ld = images * cols + 5;  // extra padding columns must stay untouched
    std::vector<float> x(static_cast<size_t>(g.channels) * g.in_h * g.in_w);
    for (float& v : x) v = rng.uniform(-1, 1);
    std::vector<float> strided(static_cast<size_t>(rows * ld), 42.0f), ref(static_cast<size_t>(rows * cols));
    im2col(g, x.data(), strided.data() + cols, ld);  // block 1 of 3
    im2col_reference(g, x.data(), ref.data());
    for (long r = 0; r < rows; ++r)
      for (long c = 0; c < ld; ++c) {
        const float got = strided[static_cast<size_t>(r * ld + c)];
        if (c >= cols && c < 2 * cols)
          REQUIRE(got == ref[static_cast<size_t>(r * cols + c - cols)]);
        else
          REQUIRE(got == 42.0f);
      }
    std::vector<float> grad(x.size(), 0.5f), grad_ref(x.size(), 0.5f);
    for (float& v : strided) v = rng.uniform(-1, 1);
    for (long r = 0; r < rows; ++r)
      for (long c = 0; c < cols; ++c) ref[static_cast<size_t>(r * cols + c)] = strided[static_cast<size_t>(r * ld + 2 * cols + c)];
    col2im_accumulate(g, strided.data() + 2 * cols, ld, grad.data());
    col2im_accumulate_reference(g, ref.data(), grad_ref.data());
    for (size_t i = 0; i < grad.size(); ++i) REQUIRE(grad[i] == Approx(grad_ref[i]).margin(1e-6));
  }
}
