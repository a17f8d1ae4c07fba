// Stem convolution kernels (NCHW image in, NHWC out) vs their plain-loop references: every ISA
// path this CPU runs, 1 and 2 threads, 1 and 3 input channels, stride 1 and 2, pad 0–2, odd
// image sizes (borders on every side, rows shorter than a pixel tile), output channel counts
// around the 8/16-lane widths, guard sentinels around every output, and accumulation onto
// existing weight gradients.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_check.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/layer_shapes.h"

using namespace sepnet::kernels;
using namespace sepnet::testing;

namespace {

std::string describe(const StemConvShape& s) {
  std::ostringstream o;
  o << "N" << s.batch << " C" << s.in_channels << "->" << s.out_channels << " " << s.in_h << "x" << s.in_w
    << " s" << s.stride << " p" << s.pad << " isa=" << isa_name(active_isa()) << " threads=" << omp_get_max_threads();
  return o.str();
}

void check_shape(const StemConvShape& s, std::mt19937& rng) {
  REQUIRE(stem_conv2d_suits(s));
  const long in_n = static_cast<long>(s.batch) * s.in_channels * s.in_h * s.in_w;
  const long out_n = static_cast<long>(s.batch) * s.out_channels * s.out_h() * s.out_w();
  const long w_n = static_cast<long>(s.out_channels) * s.in_channels * 9;
  const auto input = random_vector(rng, in_n), weight = random_vector(rng, w_n);
  const auto bias = random_vector(rng, s.out_channels), grad_out = random_vector(rng, out_n);
  const auto abs_in = absolute(input), abs_w = absolute(weight), abs_go = absolute(grad_out), abs_b = absolute(bias);
  const std::string name = describe(s);

  for (const bool use_bias : {false, true}) {
    std::vector<float> want(out_n), mag(out_n);
    stem_conv2d_forward_reference(s, input.data(), weight.data(), use_bias ? bias.data() : nullptr, want.data());
    stem_conv2d_forward_reference(s, abs_in.data(), abs_w.data(), use_bias ? abs_b.data() : nullptr, mag.data());
    Guarded out(out_n);
    std::fill(out.data(), out.data() + out_n, std::nanf(""));  // forward must overwrite
    stem_conv2d_forward(s, input.data(), weight.data(), use_bias ? bias.data() : nullptr, out.data());
    INFO(name << " forward bias=" << use_bias);
    CHECK(out.guards_intact());
    check_close(out.data(), want, mag, "forward");
  }

  for (const bool with_bias : {false, true}) {  // the weight gradient (and bias) accumulate
    const auto start_w = random_vector(rng, w_n), start_b = random_vector(rng, s.out_channels);
    std::vector<float> want_w = start_w, mag_w = absolute(start_w), want_b = start_b, mag_b = absolute(start_b);
    stem_conv2d_backward_weight_reference(s, input.data(), grad_out.data(), want_w.data(), want_b.data());
    stem_conv2d_backward_weight_reference(s, abs_in.data(), abs_go.data(), mag_w.data(), mag_b.data());
    Guarded got_w(w_n), got_b(s.out_channels);
    std::copy(start_w.begin(), start_w.end(), got_w.data());
    std::copy(start_b.begin(), start_b.end(), got_b.data());
    stem_conv2d_backward_weight(s, input.data(), grad_out.data(), got_w.data(), with_bias ? got_b.data() : nullptr);
    INFO(name << " backward_weight bias=" << with_bias);
    CHECK(got_w.guards_intact());
    CHECK(got_b.guards_intact());
    check_close(got_w.data(), want_w, mag_w, "backward_weight");
    if (with_bias) check_close(got_b.data(), want_b, mag_b, "backward_bias");
    else check_close(got_b.data(), start_b, absolute(start_b), "bias untouched");
  }
}

}  // namespace

TEST_CASE("stem conv2d kernels equal the reference, every variant and 1/2 threads", "[kernels][conv_stem]") {
  std::mt19937 rng(23);
  for_each_variant(stem_conv_variants(), [&] {
    // MobileNet stems (α = 1, 0.5, 0.25) on small images, grayscale, then random shapes.
    check_shape({1, 3, 32, 32, 32, 3, 3, 2, 1}, rng);
    check_shape({2, 3, 33, 29, 16, 3, 3, 2, 1}, rng);
    check_shape({3, 3, 24, 24, 8, 3, 3, 2, 1}, rng);
    check_shape({2, 1, 28, 28, 8, 3, 3, 2, 1}, rng);
    for (int trial = 0; trial < 30; ++trial) {
      auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
      const int pad = pick(0, 2), stride = pick(1, 2);
      const StemConvShape s{pick(1, 3), trial % 3 == 0 ? 1 : 3, pick(std::max(1, 3 - 2 * pad), 23),
                            pick(std::max(1, 3 - 2 * pad), 41), pick(1, 40), 3, 3, stride, pad};
      check_shape(s, rng);
    }
  });
  omp_set_num_threads(2);
}

TEST_CASE("stem conv2d covers 1 or 3 input channels, 3x3, stride 1 or 2 only", "[kernels][conv_stem]") {
  for (const auto& layer : layer_shapes::kMobileNetStem) {
    INFO(layer.name);
    CHECK(stem_conv2d_suits(layer.shape));
  }
  CHECK(stem_conv2d_suits({8, 1, 28, 28, 8, 3, 3, 1, 1}));
  CHECK_FALSE(stem_conv2d_suits({1, 2, 32, 32, 8, 3, 3, 2, 1}));  // 2 channels: no compiled kernel
  CHECK_FALSE(stem_conv2d_suits({1, 3, 32, 32, 8, 5, 5, 2, 1}));  // 5×5
  CHECK_FALSE(stem_conv2d_suits({1, 3, 32, 32, 8, 3, 3, 3, 1}));  // stride 3
  CHECK_FALSE(stem_conv2d_suits({1, 3, 32, 32, 8, 3, 3, 2, 3}));  // pad 3
  CHECK_FALSE(stem_conv2d_suits({1, 3, 1, 1, 8, 3, 3, 1, 0}));    // no output pixel
}

TEST_CASE("stem conv2d variants: one row per ISA, and the shape rule", "[kernels][conv_stem][dispatch]") {
  const auto table = stem_conv_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) CHECK(static_cast<size_t>(table[i].isa) == i);
  // 8 or fewer output channels run the AVX2 copy on AVX-512, both passes.
  for (StemConvOp op : {StemConvOp::forward, StemConvOp::backward_weight}) {
    CHECK(stem_conv_isa_for(Isa::avx512, op, layer_shapes::kMobileNetStem[2].shape) == Isa::avx2);    // α 0.25
    CHECK(stem_conv_isa_for(Isa::avx512, op, layer_shapes::kMobileNetStem[1].shape) == Isa::avx512);  // α 0.5
    for (Isa active : {Isa::scalar, Isa::avx2})
      CHECK(stem_conv_isa_for(active, op, layer_shapes::kMobileNetStem[2].shape) == active);
  }
}
