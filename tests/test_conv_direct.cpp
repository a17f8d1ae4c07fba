// Direct convolution kernels vs their plain-loop references: every variant this CPU runs,
// 1 and 2 threads, random shapes (odd sizes, rows shorter and longer than a vector and than a
// 4-vector strip, C_out not a multiple of the channel block, non-square kernels, every pad
// 0..K-1), guard sentinels around every output, and accumulation onto existing gradients.
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_check.h"
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/isa.h"
#include "sepnet/kernels/layer_shapes.h"

using namespace sepnet::kernels;
using namespace sepnet::testing;

namespace {

std::string describe(const DirectConvShape& s) {
  std::ostringstream o;
  o << "N" << s.batch << " C" << s.in_channels << "->" << s.out_channels << " " << s.in_h << "x" << s.in_w << " k"
    << s.kernel_h << "x" << s.kernel_w << " p" << s.pad << " isa=" << isa_name(active_isa())
    << " threads=" << omp_get_max_threads();
  return o.str();
}

void check_shape(const DirectConvShape& s, std::mt19937& rng) {
  const long in_n = static_cast<long>(s.batch) * s.in_channels * s.in_h * s.in_w;
  const long out_n = static_cast<long>(s.batch) * s.out_channels * s.out_h() * s.out_w();
  const long w_n = static_cast<long>(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  const auto input = random_vector(rng, in_n), weight = random_vector(rng, w_n);
  const auto bias = random_vector(rng, s.out_channels), grad_out = random_vector(rng, out_n);
  const auto abs_in = absolute(input), abs_w = absolute(weight), abs_go = absolute(grad_out);
  const std::string name = describe(s);

  for (const bool use_bias : {false, true}) {
    std::vector<float> want(out_n), mag(out_n);
    direct_conv2d_forward_reference(s, input.data(), weight.data(), use_bias ? bias.data() : nullptr, want.data());
    const auto abs_b = absolute(bias);
    direct_conv2d_forward_reference(s, abs_in.data(), abs_w.data(), use_bias ? abs_b.data() : nullptr, mag.data());
    Guarded out(out_n);
    std::fill(out.data(), out.data() + out_n, std::nanf(""));  // forward must overwrite
    direct_conv2d_forward(s, input.data(), weight.data(), use_bias ? bias.data() : nullptr, out.data());
    INFO(name << " forward bias=" << use_bias);
    CHECK(out.guards_intact());
    check_close(out.data(), want, mag, "forward");
  }

  {  // backward-input accumulates onto a non-zero gradient
    const auto start = random_vector(rng, in_n);
    std::vector<float> want = start, mag = absolute(start);
    direct_conv2d_backward_input_reference(s, grad_out.data(), weight.data(), want.data());
    direct_conv2d_backward_input_reference(s, abs_go.data(), abs_w.data(), mag.data());
    Guarded got(in_n);
    std::copy(start.begin(), start.end(), got.data());
    direct_conv2d_backward_input(s, grad_out.data(), weight.data(), got.data());
    INFO(name << " backward_input");
    CHECK(got.guards_intact());
    check_close(got.data(), want, mag, "backward_input");
    // accumulate = false assigns: a NaN-filled (fresh) buffer ends equal to the gradient alone.
    std::vector<float> alone(in_n, 0.0f), alone_mag(in_n, 0.0f);
    direct_conv2d_backward_input_reference(s, grad_out.data(), weight.data(), alone.data());
    direct_conv2d_backward_input_reference(s, abs_go.data(), abs_w.data(), alone_mag.data());
    Guarded fresh(in_n);
    std::fill(fresh.data(), fresh.data() + in_n, std::nanf(""));
    direct_conv2d_backward_input(s, grad_out.data(), weight.data(), fresh.data(), false);
    CHECK(fresh.guards_intact());
    check_close(fresh.data(), alone, alone_mag, "backward_input assign");
  }

  {  // backward-weight and bias accumulate too
    const auto start_w = random_vector(rng, w_n), start_b = random_vector(rng, s.out_channels);
    std::vector<float> want_w = start_w, mag_w = absolute(start_w), want_b = start_b, mag_b = absolute(start_b);
    direct_conv2d_backward_weight_reference(s, input.data(), grad_out.data(), want_w.data(), want_b.data());
    direct_conv2d_backward_weight_reference(s, abs_in.data(), abs_go.data(), mag_w.data(), mag_b.data());
    Guarded got_w(w_n), got_b(s.out_channels);
    std::copy(start_w.begin(), start_w.end(), got_w.data());
    std::copy(start_b.begin(), start_b.end(), got_b.data());
    direct_conv2d_backward_weight(s, input.data(), grad_out.data(), got_w.data(), got_b.data());
    INFO(name << " backward_weight");
    CHECK(got_w.guards_intact());
    CHECK(got_b.guards_intact());
    check_close(got_w.data(), want_w, mag_w, "backward_weight");
    check_close(got_b.data(), want_b, mag_b, "backward_bias");
  }
}

}  // namespace

TEST_CASE("direct conv2d kernels equal the reference on random shapes, every variant and 1/2 threads",
          "[kernels][conv_direct]") {
  std::mt19937 rng(11);
  for_each_variant(direct_conv_variants(), [&] {
    // The MNIST layers themselves, then random shapes.
    check_shape({4, 1, 28, 28, 6, 5, 5, 0}, rng);
    check_shape({3, 6, 12, 12, 16, 5, 5, 0}, rng);
    check_shape({2, 1, 24, 24, 6, 1, 1, 0}, rng);
    check_shape({2, 6, 8, 8, 16, 1, 1, 0}, rng);
    // Rows of exactly 16 and 32 outputs: the widths where the AVX-512 weight-gradient kernel
    // is kept (narrower rows run the AVX2 one, direct_conv_isa_for).
    check_shape({2, 3, 20, 20, 5, 5, 5, 0}, rng);
    check_shape({1, 2, 9, 36, 7, 5, 5, 0}, rng);
    // Rows half a vector wide (8 on AVX-512, 4 on AVX2: two output rows per vector), with
    // an odd number of rows and with padding.
    check_shape({2, 3, 11, 12, 5, 5, 5, 0}, rng);
    check_shape({2, 3, 7, 8, 4, 3, 3, 1}, rng);
    check_shape({2, 2, 9, 8, 3, 5, 5, 0}, rng);
    // Few output channels on narrow rows: 2–3 output rows per register tile, 10 rows.
    check_shape({2, 4, 14, 9, 3, 5, 5, 0}, rng);
    for (int trial = 0; trial < 25; ++trial) {
      auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
      const int kh = pick(1, 7), kw = trial % 4 == 0 ? pick(1, 7) : kh;
      const int pad = pick(0, std::min(kh, kw) - 1);
      DirectConvShape s{pick(1, 3), pick(1, 7), pick(std::max(1, kh - 2 * pad), 20),
                        pick(std::max(1, kw - 2 * pad), 75), pick(1, 19), kh, kw, pad};
      check_shape(s, rng);
    }
  });
  omp_set_num_threads(2);
}

TEST_CASE("direct conv2d routing rule", "[kernels][conv_direct]") {
  for (const auto& layer : layer_shapes::kMnistDirectConv) {
    INFO(layer.name);
    CHECK(direct_conv2d_suits(layer.shape));
  }
  CHECK_FALSE(direct_conv2d_suits({1, 256, 14, 14, 256, 3, 3, 1}));  // wide layers stay on GEMM
  CHECK_FALSE(direct_conv2d_suits({1, 3, 14, 14, 8, 3, 3, 3}));      // pad >= kernel
  CHECK_FALSE(direct_conv2d_suits({64, 6, 8, 8, 16, 1, 1, 0}));       // 1×1: pointwise GEMM
}

TEST_CASE("direct conv2d variants: one row per ISA, and the shape rule", "[kernels][conv_direct][dispatch]") {
  const auto table = direct_conv_variants();
  REQUIRE(table.size() == 3);
  for (size_t i = 0; i < table.size(); ++i) CHECK(static_cast<size_t>(table[i].isa) == i);
  using Op = DirectConvOp;
  const DirectConvShape conv1{64, 1, 28, 28, 6, 5, 5, 0}, conv2{64, 6, 12, 12, 16, 5, 5, 0},
      rows16{2, 3, 20, 20, 5, 5, 5, 0}, rows12{2, 3, 16, 16, 5, 5, 5, 0};
  // Forward: AVX-512 unless rows are under 16 outputs and not exactly 8.
  CHECK(direct_conv_isa_for(Isa::avx512, Op::forward, conv1) == Isa::avx512);  // 24 wide
  CHECK(direct_conv_isa_for(Isa::avx512, Op::forward, conv2) == Isa::avx512);  // 8 wide: pairs
  CHECK(direct_conv_isa_for(Isa::avx512, Op::forward, rows12) == Isa::avx2);
  // Input gradient: always AVX-512.
  CHECK(direct_conv_isa_for(Isa::avx512, Op::backward_input, rows12) == Isa::avx512);
  // Weight gradient: AVX-512 where whole vectors, pairs or the flat walk fill the lanes.
  CHECK(direct_conv_isa_for(Isa::avx512, Op::backward_weight, rows16) == Isa::avx512);
  CHECK(direct_conv_isa_for(Isa::avx512, Op::backward_weight, conv2) == Isa::avx512);
  CHECK(direct_conv_isa_for(Isa::avx512, Op::backward_weight, conv1) == Isa::avx512);  // flat: 28 < 32
  CHECK(direct_conv_isa_for(Isa::avx512, Op::backward_weight, DirectConvShape{1, 1, 40, 40, 1, 5, 5, 0}) ==
        Isa::avx512);  // 36 wide, padded rows of 40 < 48: the flat walk
  CHECK(direct_conv_isa_for(Isa::avx512, Op::backward_weight, rows12) == Isa::avx2);  // padded rows of 16 ≥ 16
  for (Isa active : {Isa::scalar, Isa::avx2})
    for (Op op : {Op::forward, Op::backward_input, Op::backward_weight}) CHECK(direct_conv_isa_for(active, op, rows12) == active);
}
