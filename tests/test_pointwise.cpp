// Pointwise (1×1) convolution vs its scalar reference: every GEMM variant (pointwise runs on
// sgemm, so its paths are the GEMM's), 1 and 2 threads,
// random shapes (odd channel counts, spatial sizes around the SIMD widths), guard sentinels.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "sepnet/kernels/isa.h"
#include "kernel_check.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/layer_shapes.h"
#include "sepnet/kernels/pointwise.h"

using namespace sepnet::kernels;

namespace {

using namespace sepnet::testing;

void check_shape(const PointwiseShape& s, std::mt19937& rng) {
  const long in_n = static_cast<long>(s.batch) * s.in_channels * s.spatial;
  const long out_n = static_cast<long>(s.batch) * s.out_channels * s.spatial;
  const long w_n = static_cast<long>(s.out_channels) * s.in_channels;
  const auto input = random_vector(rng, in_n), weight = random_vector(rng, w_n),
             bias = random_vector(rng, s.out_channels), grad_out = random_vector(rng, out_n);
  const auto a_in = absolute(input), a_w = absolute(weight), a_b = absolute(bias),
             a_go = absolute(grad_out);
  std::ostringstream name;
  name << "N" << s.batch << " Cin" << s.in_channels << " Cout" << s.out_channels << " HW"
       << s.spatial << " isa=" << isa_name(active_isa()) << " threads=" << omp_get_max_threads();
  INFO(name.str());

  for (int use_bias = 0; use_bias < 2; ++use_bias) {
    std::vector<float> want(out_n), mag(out_n);
    pointwise_conv2d_forward_reference(s, input.data(), weight.data(),
                                       use_bias ? bias.data() : nullptr, want.data());
    pointwise_conv2d_forward_reference(s, a_in.data(), a_w.data(), use_bias ? a_b.data() : nullptr,
                                       mag.data());
    Guarded out(out_n);
    std::fill(out.data(), out.data() + out_n, std::nanf(""));  // must be overwritten
    pointwise_conv2d_forward(s, input.data(), weight.data(), use_bias ? bias.data() : nullptr,
                             out.data());
    CHECK(out.guards_intact());
    check_close(out.data(), want, mag, use_bias ? "forward+bias" : "forward");
  }
  {
    const auto init = random_vector(rng, in_n);
    std::vector<float> want = init, mag = absolute(init);
    pointwise_conv2d_backward_input_reference(s, grad_out.data(), weight.data(), want.data());
    pointwise_conv2d_backward_input_reference(s, a_go.data(), a_w.data(), mag.data());
    Guarded got(in_n);
    std::memcpy(got.data(), init.data(), sizeof(float) * in_n);
    pointwise_conv2d_backward_input(s, grad_out.data(), weight.data(), got.data());
    CHECK(got.guards_intact());
    check_close(got.data(), want, mag, "backward_input");
  }
  for (int with_bias = 0; with_bias < 2; ++with_bias) {
    const auto init_w = random_vector(rng, w_n), init_b = random_vector(rng, s.out_channels);
    std::vector<float> want_w = init_w, want_b = init_b, mag_w = absolute(init_w),
                       mag_b = absolute(init_b);
    pointwise_conv2d_backward_weight_reference(s, input.data(), grad_out.data(), want_w.data(),
                                               with_bias ? want_b.data() : nullptr);
    pointwise_conv2d_backward_weight_reference(s, a_in.data(), a_go.data(), mag_w.data(),
                                               with_bias ? mag_b.data() : nullptr);
    Guarded gw(w_n), gb(s.out_channels);
    std::memcpy(gw.data(), init_w.data(), sizeof(float) * w_n);
    std::memcpy(gb.data(), init_b.data(), sizeof(float) * s.out_channels);
    pointwise_conv2d_backward_weight(s, input.data(), grad_out.data(), gw.data(),
                                     with_bias ? gb.data() : nullptr);
    CHECK(gw.guards_intact());
    CHECK(gb.guards_intact());
    check_close(gw.data(), want_w, mag_w, "grad_weight");
    if (with_bias)
      check_close(gb.data(), want_b, mag_b, "grad_bias");
    else
      CHECK(std::memcmp(gb.data(), init_b.data(), sizeof(float) * s.out_channels) == 0);
  }
}

}  // namespace

TEST_CASE("pointwise: random shapes match the reference on every variant and thread count",
          "[pointwise]") {
  static const int spatial[] = {1, 7, 8, 9, 15, 16, 17, 49, 64, 100, 196};
  for_each_variant(gemm_variants(), [] {
    std::mt19937 rng(2024);
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    for (int i = 0; i < 25; ++i) {
      PointwiseShape s{pick(1, 3), pick(1, 40), pick(1, 40), spatial[pick(0, 10)]};
      check_shape(s, rng);
    }
    check_shape({4, 32, 64, 144}, rng);  // a batch big enough to split across threads
    // in_channels <= 4: the direct small-K loops (MNIST dwsep's 1→6 layer), incl. a split batch.
    for (PointwiseShape s : {PointwiseShape{3, 1, 6, 576}, PointwiseShape{2, 3, 5, 17},
                             PointwiseShape{1, 4, 9, 1}, PointwiseShape{64, 1, 6, 576}})
      check_shape(s, rng);
  });
}

TEST_CASE("pointwise: the MNIST 1x1 layer shapes (layer_shapes.h) match the reference", "[pointwise]") {
  for_each_variant(gemm_variants(), [] {
    std::mt19937 rng(2025);
    for (const auto& layer : layer_shapes::kMnistPointwise) check_shape(layer.shape(64), rng);
  });
}

TEST_CASE("pointwise: bit-identical for a fixed thread count", "[pointwise]") {
  const PointwiseShape s{6, 24, 40, 81};
  std::mt19937 rng(5);
  const auto input = random_vector(rng, 6L * 24 * 81), grad_out = random_vector(rng, 6L * 40 * 81),
             weight = random_vector(rng, 40 * 24);
  omp_set_num_threads(2);
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    std::vector<float> gw(40 * 24, 0.5f), gb(40, 0.25f);
    pointwise_conv2d_backward_weight(s, input.data(), grad_out.data(), gw.data(), gb.data());
    gw.insert(gw.end(), gb.begin(), gb.end());
    if (run == 0)
      first = gw;
    else
      CHECK(first == gw);
  }
  omp_set_num_threads(omp_get_num_procs());
}
