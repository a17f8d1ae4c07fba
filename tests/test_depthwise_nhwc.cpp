// Channels-last depthwise kernels vs their scalar references: every variant this CPU runs
// (forced exactly), 1 and 2 threads, random shapes (channel counts around the 8- and 16-lane widths for masked
// tails, odd sizes, kernel 1/3/5/7 and non-square, stride 1/2/3, pad 0/1/2), guard sentinels
// around every output; the NHWC reference itself against the NCHW one on transposed data.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "depthwise_check.h"
#include "kernel_check.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/layer_shapes.h"

using namespace sepnet::kernels;

namespace {

using namespace sepnet::testing;

const DepthwiseKernels kKernels{
    {depthwise_conv2d_nhwc_forward, depthwise_conv2d_nhwc_backward_input, depthwise_conv2d_nhwc_backward_weight},
    {depthwise_conv2d_nhwc_forward_reference, depthwise_conv2d_nhwc_backward_input_reference,
     depthwise_conv2d_nhwc_backward_weight_reference}};

void check_shape(const DepthwiseShape& s, std::mt19937& rng) { check_depthwise_shape(kKernels, s, rng); }

DepthwiseShape random_shape(std::mt19937& rng) {
  static const int sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 23, 31};
  static const int channels[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 65, 70};
  static const int kernels[] = {1, 3, 3, 3, 5, 5, 7};
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (;;) {
    DepthwiseShape s{};
    s.batch = 1 + pick(2);
    s.channels = channels[pick(std::size(channels))];
    s.in_h = sizes[pick(std::size(sizes))];
    s.in_w = sizes[pick(std::size(sizes))];
    s.kernel_h = kernels[pick(std::size(kernels))];
    s.kernel_w = pick(5) == 0 ? kernels[pick(std::size(kernels))] : s.kernel_h;
    s.stride = pick(6) == 0 ? 3 : 1 + pick(2);
    s.pad = pick(3);
    if (s.out_h() >= 1 && s.out_w() >= 1) return s;
  }
}

// [N][C][H][W] <-> [N][H][W][C]
std::vector<float> to_nhwc(const std::vector<float>& x, int n, int c, int hw) {
  std::vector<float> y(x.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < c; ++j)
      for (int p = 0; p < hw; ++p) y[(static_cast<long>(i) * hw + p) * c + j] = x[(static_cast<long>(i) * c + j) * hw + p];
  return y;
}

}  // namespace

TEST_CASE("depthwise nhwc: random shapes match the reference on every variant and thread count",
          "[depthwise][nhwc]") {
  for_each_variant(depthwise_nhwc_variants(), [] {
    std::mt19937 rng(4321);
    for (int i = 0; i < 60; ++i) check_shape(random_shape(rng), rng);
  });
}

TEST_CASE("depthwise nhwc: MobileNet-like shapes (tiles, half tiles, masked channel tails)",
          "[depthwise][nhwc]") {
  const DepthwiseShape shapes[] = {
      {1, 32, 20, 21, 3, 3, 1, 1}, {1, 40, 19, 18, 3, 3, 2, 1}, {2, 24, 7, 7, 3, 3, 1, 1},
      {1, 72, 14, 14, 3, 3, 1, 1}, {1, 16, 9, 30, 3, 3, 2, 0},  {1, 20, 13, 11, 3, 3, 2, 2},
      {2, 6, 12, 12, 5, 5, 1, 0},  {1, 33, 17, 22, 5, 5, 2, 2}, {1, 8, 6, 40, 5, 5, 1, 2},
  };
  for_each_variant(depthwise_nhwc_variants(), [&] {
    std::mt19937 rng(77);
    for (const auto& s : shapes) check_shape(s, rng);
  });
}

TEST_CASE("depthwise nhwc: the MobileNet v1 layer shapes (layer_shapes.h) match the reference",
          "[depthwise][nhwc]") {
  for_each_variant(depthwise_nhwc_variants(), [&] {
    std::mt19937 rng(76);
    for (const auto& s : layer_shapes::kMobileNetDepthwise) check_shape(s, rng);
  });
}

TEST_CASE("depthwise nhwc: the MNIST layer shapes (layer_shapes.h) match the reference", "[depthwise][nhwc]") {
  for_each_variant(depthwise_nhwc_variants(), [&] {
    std::mt19937 rng(75);
    for (const auto& s : layer_shapes::kMnistDepthwise) check_shape(s, rng);
  });
}

TEST_CASE("depthwise nhwc: the reference equals the NCHW reference on transposed data",
          "[depthwise][nhwc]") {
  std::mt19937 rng(5);
  const DepthwiseShape s{2, 5, 9, 11, 3, 3, 2, 1};
  const int hw = s.in_h * s.in_w, ohw = s.out_h() * s.out_w();
  const long in_n = 2L * 5 * hw, out_n = 2L * 5 * ohw;
  const auto input = random_vector(rng, in_n), weight = random_vector(rng, 45),
             bias = random_vector(rng, 5), grad_out = random_vector(rng, out_n);
  std::vector<float> out_nchw(out_n), out_nhwc(out_n), gi_nchw(in_n, 0.0f), gi_nhwc(in_n, 0.0f),
      gw_nchw(45, 0.0f), gw_nhwc(45, 0.0f), gb_nchw(5, 0.0f), gb_nhwc(5, 0.0f);
  depthwise_conv2d_forward_reference(s, input.data(), weight.data(), bias.data(), out_nchw.data(), true);
  std::vector<float> weight_hwc(45), back(45);
  depthwise_weight_to_hwc(5, 9, weight.data(), weight_hwc.data());
  depthwise_weight_from_hwc(5, 9, weight_hwc.data(), back.data());
  CHECK(back == weight);
  CHECK(weight_hwc[1] == weight[9]);  // tap 0 of channel 1
  depthwise_conv2d_nhwc_forward_reference(s, to_nhwc(input, 2, 5, hw).data(), weight_hwc.data(),
                                          bias.data(), out_nhwc.data(), true);
  depthwise_conv2d_backward_input_reference(s, grad_out.data(), weight.data(), gi_nchw.data());
  const auto go_nhwc = to_nhwc(grad_out, 2, 5, ohw);
  depthwise_conv2d_nhwc_backward_input_reference(s, go_nhwc.data(), weight_hwc.data(), gi_nhwc.data());
  depthwise_conv2d_backward_weight_reference(s, input.data(), grad_out.data(), gw_nchw.data(), gb_nchw.data());
  depthwise_conv2d_nhwc_backward_weight_reference(s, to_nhwc(input, 2, 5, hw).data(), go_nhwc.data(),
                                                  gw_nhwc.data(), gb_nhwc.data());
  const auto want_out = to_nhwc(out_nchw, 2, 5, ohw), want_gi = to_nhwc(gi_nchw, 2, 5, hw);
  for (long i = 0; i < out_n; ++i) CHECK(out_nhwc[i] == Approx(want_out[i]).margin(1e-6));
  for (long i = 0; i < in_n; ++i) CHECK(gi_nhwc[i] == Approx(want_gi[i]).margin(1e-6));
  std::vector<float> gw_back(45);
  depthwise_weight_from_hwc(5, 9, gw_nhwc.data(), gw_back.data());
  for (int i = 0; i < 45; ++i) CHECK(gw_back[i] == Approx(gw_nchw[i]).margin(1e-5));
  for (int i = 0; i < 5; ++i) CHECK(gb_nhwc[i] == Approx(gb_nchw[i]).margin(1e-5));
}

TEST_CASE("depthwise nhwc: results are bit-identical across repeated runs", "[depthwise][nhwc]") {
  const DepthwiseShape s{3, 21, 15, 17, 3, 3, 1, 1};
  std::mt19937 rng(8);
  const long in_n = 3L * 21 * 15 * 17, out_n = 3L * 21 * s.out_h() * s.out_w();
  const auto input = random_vector(rng, in_n), grad_out = random_vector(rng, out_n),
             weight = random_vector(rng, 21 * 9), bias = random_vector(rng, 21);
  for_each_variant(depthwise_nhwc_variants(), [&] {
    std::vector<float> first;
    for (int rep = 0; rep < 2; ++rep) {
      std::vector<float> out(out_n), gi(in_n, 0.5f), gw(189, 0.25f), gb(21, 0.125f);
      depthwise_conv2d_nhwc_forward(s, input.data(), weight.data(), bias.data(), out.data(), true);
      depthwise_conv2d_nhwc_backward_input(s, grad_out.data(), weight.data(), gi.data());
      depthwise_conv2d_nhwc_backward_weight(s, input.data(), grad_out.data(), gw.data(), gb.data());
      out.insert(out.end(), gi.begin(), gi.end());
      out.insert(out.end(), gw.begin(), gw.end());
      out.insert(out.end(), gb.begin(), gb.end());
      if (rep == 0) first = out;
      else CHECK(out == first);
    }
  });
}

TEST_CASE("depthwise nhwc: tensors above 4x L2 (software-prefetch path) match the reference",
          "[depthwise][nhwc]") {
  // Side chosen from this machine's L2 so that input + output exceed the prefetch threshold.
  const long l2 = cache_sizes().l2;
  const int channels = 24;
  int side = 16;
  while (4.0 * 2 * channels * 2.0 * side * side <= 4.0 * l2) side += 16;
  for (int stride : {1, 2}) {
    const DepthwiseShape s{1, channels, side, side + 3, 3, 3, stride, 1};
    for_each_variant(depthwise_nhwc_variants(), [&] {
      std::mt19937 rng(31);
      const long in_n = static_cast<long>(channels) * s.in_h * s.in_w, out_n = static_cast<long>(channels) * s.out_h() * s.out_w();
      const auto input = random_vector(rng, in_n), weight = random_vector(rng, 9L * channels), bias = random_vector(rng, channels);
      std::vector<float> want(out_n), mag(out_n);
      depthwise_conv2d_nhwc_forward_reference(s, input.data(), weight.data(), bias.data(), want.data(), true);
      depthwise_conv2d_nhwc_forward_reference(s, absolute(input).data(), absolute(weight).data(),
                                              absolute(bias).data(), mag.data(), false);
      Guarded out(out_n);
      depthwise_conv2d_nhwc_forward(s, input.data(), weight.data(), bias.data(), out.data(), true);
      INFO(describe(s));
      CHECK(out.guards_intact());
      check_close(out.data(), want, mag, "forward");
    });
  }
}

TEST_CASE("depthwise nhwc variants: one row per ISA, and the shape rule", "[depthwise][nhwc][dispatch]") {
  const auto table = depthwise_nhwc_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) CHECK(static_cast<size_t>(table[i].isa) == i);
  // Fewer than 16 channels run the AVX2 copy on AVX-512, every pass.
  const DepthwiseShape few{32, 8, 64, 64, 3, 3, 1, 1}, sixteen{1, 16, 14, 14, 3, 3, 1, 1};
  for (DepthwiseOp op : {DepthwiseOp::forward, DepthwiseOp::backward_input, DepthwiseOp::backward_weight}) {
    CHECK(depthwise_nhwc_isa_for(Isa::avx512, op, few) == Isa::avx2);
    CHECK(depthwise_nhwc_isa_for(Isa::avx512, op, sixteen) == Isa::avx512);
    for (Isa active : {Isa::scalar, Isa::avx2}) CHECK(depthwise_nhwc_isa_for(active, op, few) == active);
  }
}
