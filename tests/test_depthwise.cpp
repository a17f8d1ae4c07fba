// Depthwise kernels vs their scalar references: every variant this CPU runs (forced exactly),
// 1 and 2 threads, random shapes covering odd sizes, SIMD tails, kernel 1/3/5/7 (and non-square),
// stride 1/2, pad 0/1/2, with guard sentinels around every output buffer.
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
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/layer_shapes.h"

using namespace sepnet::kernels;

namespace {

using namespace sepnet::testing;

const DepthwiseKernels kKernels{
    {depthwise_conv2d_forward, depthwise_conv2d_backward_input, depthwise_conv2d_backward_weight},
    {depthwise_conv2d_forward_reference, depthwise_conv2d_backward_input_reference,
     depthwise_conv2d_backward_weight_reference}};

void check_shape(const DepthwiseShape& s, std::mt19937& rng) { check_depthwise_shape(kKernels, s, rng); }

DepthwiseShape random_shape(std::mt19937& rng) {
  // Widths around the 8- and 16-lane vector sizes and their multiples, plus odd small ones.
  static const int sizes[] = {1, 2, 3, 5, 7, 8, 9, 12, 13, 15, 16, 17, 23, 24, 25, 31, 32, 33, 40};
  static const int kernels[] = {1, 3, 3, 5, 5, 7};
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (;;) {
    DepthwiseShape s{};
    s.batch = 1 + pick(3);
    s.channels = 1 + pick(17);
    s.in_h = sizes[pick(std::size(sizes))];
    s.in_w = sizes[pick(std::size(sizes))];
    s.kernel_h = kernels[pick(std::size(kernels))];
    s.kernel_w = pick(5) == 0 ? kernels[pick(std::size(kernels))] : s.kernel_h;
    s.stride = 1 + pick(2);
    s.pad = pick(3);
    if (s.out_h() >= 1 && s.out_w() >= 1) return s;
  }
}

}  // namespace

TEST_CASE("depthwise: random shapes match the reference on every variant and thread count",
          "[depthwise]") {
  for_each_variant(depthwise_variants(), [] {
    std::mt19937 rng(1234);
    for (int i = 0; i < 60; ++i) check_shape(random_shape(rng), rng);
  });
}

TEST_CASE("depthwise: MobileNet- and MNIST-like shapes match the reference", "[depthwise]") {
  const DepthwiseShape shapes[] = {
      {1, 3, 56, 56, 3, 3, 1, 1},  {1, 3, 57, 61, 3, 3, 2, 1}, {1, 4, 28, 28, 3, 3, 2, 1},
      {1, 16, 14, 14, 3, 3, 1, 1}, {2, 24, 7, 7, 3, 3, 1, 1},  {3, 2, 28, 28, 5, 5, 1, 0},
      {3, 6, 12, 12, 5, 5, 1, 0},  {1, 5, 8, 8, 3, 3, 1, 1},   {1, 3, 35, 19, 7, 7, 2, 2},
      {1, 2, 9, 9, 1, 1, 2, 2},    {2, 3, 6, 10, 3, 5, 1, 2},
      // 3×3 stride-1 direct path (edge vectors, W tail, pad 0/2) and channels-as-lanes path
      // (partial lane groups across the batch boundary, pad 0/2).
      {1, 3, 30, 33, 3, 3, 1, 0},  {1, 2, 17, 41, 3, 3, 1, 2}, {2, 19, 14, 14, 3, 3, 1, 2},
      {3, 5, 11, 9, 3, 3, 1, 0},
      // 3×3 stride-2 direct path: interior vectors (W > 2V + 2 columns), masked edges, pad 0/1/2.
      {1, 2, 9, 70, 3, 3, 2, 1},   {1, 3, 33, 34, 3, 3, 2, 0}, {2, 5, 16, 17, 3, 3, 2, 2},
      {1, 2, 12, 99, 3, 3, 2, 2},  {1, 1, 5, 3, 3, 3, 2, 1},
      // Wider than the largest stride-2 phase row: the generic phase-split path.
      {1, 1, 3, 1100, 3, 3, 2, 1},
  };
  for_each_variant(depthwise_variants(), [&] {
    std::mt19937 rng(99);
    for (const auto& s : shapes) check_shape(s, rng);
  });
}

TEST_CASE("depthwise: the MNIST layer shapes (layer_shapes.h) match the reference", "[depthwise]") {
  for_each_variant(depthwise_variants(), [&] {
    std::mt19937 rng(98);
    for (const auto& s : layer_shapes::kMnistDepthwise) check_shape(s, rng);
  });
}

TEST_CASE("depthwise: the MobileNet v1 layer shapes (layer_shapes.h, NCHW) match the reference", "[depthwise]") {
  for_each_variant(depthwise_variants(), [&] {
    std::mt19937 rng(97);
    for (const auto& s : layer_shapes::kMobileNetDepthwise) check_shape(s, rng);
  });
}

TEST_CASE("depthwise: results are bit-identical across thread counts", "[depthwise]") {
  const DepthwiseShape s{5, 7, 19, 21, 3, 3, 1, 1};
  std::mt19937 rng(7);
  const long in_n = 5L * 7 * 19 * 21, out_n = 5L * 7 * s.out_h() * s.out_w();
  const auto input = random_vector(rng, in_n), grad_out = random_vector(rng, out_n),
             weight = random_vector(rng, 7 * 9), bias = random_vector(rng, 7);
  for (const auto& variant : depthwise_variants()) {
    if (!isa_supported(variant.isa)) continue;
    ScopedIsa scoped(variant.isa, /*exact=*/true);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 3}) {
      omp_set_num_threads(threads);
      std::vector<float> out(out_n), gi(in_n, 0.5f), gw(63, 0.25f), gb(7, 0.125f);
      depthwise_conv2d_forward(s, input.data(), weight.data(), bias.data(), out.data(), true);
      depthwise_conv2d_backward_input(s, grad_out.data(), weight.data(), gi.data());
      depthwise_conv2d_backward_weight(s, input.data(), grad_out.data(), gw.data(), gb.data());
      std::vector<float> all = out;
      all.insert(all.end(), gi.begin(), gi.end());
      all.insert(all.end(), gw.begin(), gw.end());
      all.insert(all.end(), gb.begin(), gb.end());
      results.push_back(std::move(all));
    }
    INFO("variant=" << variant.name);
    CHECK(results[0] == results[1]);
    CHECK(results[0] == results[2]);
  }
  omp_set_num_threads(omp_get_num_procs());
}

TEST_CASE("depthwise variants: one row per ISA, and the shape rule", "[depthwise][dispatch]") {
  const auto table = depthwise_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) CHECK(static_cast<size_t>(table[i].isa) == i);
  // Weight gradients of rows under 32 outputs run the AVX2 copy on AVX-512; nothing else moves.
  const DepthwiseShape narrow{1, 512, 14, 14, 3, 3, 1, 1}, wide{1, 32, 112, 112, 3, 3, 1, 1},
      edge{1, 8, 32, 32, 3, 3, 1, 1}, mnist{64, 6, 12, 12, 5, 5, 1, 0};
  CHECK(depthwise_isa_for(Isa::avx512, DepthwiseOp::backward_weight, narrow) == Isa::avx2);
  CHECK(depthwise_isa_for(Isa::avx512, DepthwiseOp::backward_weight, mnist) == Isa::avx2);
  CHECK(depthwise_isa_for(Isa::avx512, DepthwiseOp::backward_weight, edge) == Isa::avx512);  // 32 outputs
  CHECK(depthwise_isa_for(Isa::avx512, DepthwiseOp::backward_weight, wide) == Isa::avx512);
  CHECK(depthwise_isa_for(Isa::avx512, DepthwiseOp::forward, narrow) == Isa::avx512);
  CHECK(depthwise_isa_for(Isa::avx512, DepthwiseOp::backward_input, narrow) == Isa::avx512);
  for (Isa active : {Isa::scalar, Isa::avx2})
    for (DepthwiseOp op : {DepthwiseOp::forward, DepthwiseOp::backward_input, DepthwiseOp::backward_weight})
      CHECK(depthwise_isa_for(active, op, narrow) == active);
}

TEST_CASE("depthwise: the public entry points run the variant the rule selects", "[depthwise][dispatch]") {
  const DepthwiseShape s{2, 5, 13, 13, 3, 3, 1, 1};
  std::mt19937 rng(3);
  const long in_n = 2L * 5 * 13 * 13, out_n = 2L * 5 * s.out_h() * s.out_w();
  const auto input = random_vector(rng, in_n), grad_out = random_vector(rng, out_n),
             weight = random_vector(rng, 45), bias = random_vector(rng, 5);
  for (Isa isa : {Isa::scalar, Isa::avx2, Isa::avx512}) {
    if (!isa_supported(isa)) continue;
    ScopedIsa scoped(isa);
    INFO("isa=" << isa_name(isa));
    std::vector<float> out(out_n), want_out(out_n), gw(45, 0.0f), want_gw(45, 0.0f);
    depthwise_conv2d_forward(s, input.data(), weight.data(), bias.data(), out.data(), false);
    variant_for(depthwise_variants(), depthwise_isa_for(isa, DepthwiseOp::forward, s))
        .entry->forward(s, input.data(), weight.data(), bias.data(), want_out.data(), false);
    CHECK(out == want_out);
    depthwise_conv2d_backward_weight(s, input.data(), grad_out.data(), gw.data(), nullptr);
    variant_for(depthwise_variants(), depthwise_isa_for(isa, DepthwiseOp::backward_weight, s))
        .entry->backward_weight(s, input.data(), grad_out.data(), want_gw.data(), nullptr);
    CHECK(gw == want_gw);
  }
}
