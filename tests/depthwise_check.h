// Shared by the depthwise kernel tests (NCHW and channels-last): one shape checked against the
// scalar reference — forward with/without bias and fused ReLU (must overwrite), backward-input
// accumulating onto a non-zero gradient, backward-weight with and without a bias gradient —
// with guard sentinels around every output. The layout is the kernels': both families share
// their signatures (kernels::DepthwiseEntry).
#pragma once
#include <catch2/catch.hpp>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "kernel_check.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/isa.h"

namespace sepnet::testing {

using kernels::DepthwiseShape;

// The public entry points of a depthwise family and its references, in the variants' Entry type.
struct DepthwiseKernels {
  kernels::DepthwiseEntry kernel, reference;
};

inline std::string describe(const DepthwiseShape& s) {
  std::ostringstream o;
  o << "N" << s.batch << " C" << s.channels << " " << s.in_h << "x" << s.in_w << " k" << s.kernel_h
    << "x" << s.kernel_w << " s" << s.stride << " p" << s.pad << " isa=" << kernels::isa_name(kernels::active_isa())
    << " threads=" << omp_get_max_threads();
  return o.str();
}


inline void check_depthwise_shape(const DepthwiseKernels& k, const DepthwiseShape& s, std::mt19937& rng) {
  const long in_n = static_cast<long>(s.batch) * s.channels * s.in_h * s.in_w;
  const long out_n = static_cast<long>(s.batch) * s.channels * s.out_h() * s.out_w();
  const long w_n = static_cast<long>(s.channels) * s.kernel_h * s.kernel_w;
  const auto input = random_vector(rng, in_n), weight = random_vector(rng, w_n);
  const auto bias = random_vector(rng, s.channels), grad_out = random_vector(rng, out_n);
  const auto abs_in = absolute(input), abs_w = absolute(weight), abs_b = absolute(bias),
             abs_go = absolute(grad_out);
  const std::string name = describe(s);

  // Forward: with/without bias, with/without fused ReLU.
  for (int variant = 0; variant < 4; ++variant) {
    const bool use_bias = variant & 1, relu = variant & 2;
    std::vector<float> want(out_n), mag(out_n);
    k.reference.forward(s, input.data(), weight.data(),
                                       use_bias ? bias.data() : nullptr, want.data(), relu);
    k.reference.forward(s, abs_in.data(), abs_w.data(),
                                       use_bias ? abs_b.data() : nullptr, mag.data(), false);
    Guarded out(out_n);
    std::fill(out.data(), out.data() + out_n, std::nanf(""));  // forward must overwrite
    k.kernel.forward(s, input.data(), weight.data(), use_bias ? bias.data() : nullptr,
                             out.data(), relu);
    INFO(name << " forward bias=" << use_bias << " relu=" << relu);
    CHECK(out.guards_intact());
    check_close(out.data(), want, mag, "forward");
  }

  // Backward-input accumulates onto a non-zero gradient.
  {
    const auto initial = random_vector(rng, in_n);
    std::vector<float> want = initial, mag = absolute(initial);
    k.reference.backward_input(s, grad_out.data(), weight.data(), want.data());
    k.reference.backward_input(s, abs_go.data(), abs_w.data(), mag.data());
    Guarded got(in_n);
    std::memcpy(got.data(), initial.data(), sizeof(float) * in_n);
    k.kernel.backward_input(s, grad_out.data(), weight.data(), got.data());
    INFO(name << " backward_input");
    CHECK(got.guards_intact());
    check_close(got.data(), want, mag, "backward_input");
  }

  // Backward-weight accumulates into weight and bias gradients; bias may be null.
  for (int with_bias = 0; with_bias < 2; ++with_bias) {
    const auto init_w = random_vector(rng, w_n), init_b = random_vector(rng, s.channels);
    std::vector<float> want_w = init_w, want_b = init_b, mag_w = absolute(init_w),
                       mag_b = absolute(init_b);
    k.reference.backward_weight(s, input.data(), grad_out.data(), want_w.data(),
                                               with_bias ? want_b.data() : nullptr);
    k.reference.backward_weight(s, abs_in.data(), abs_go.data(), mag_w.data(),
                                               with_bias ? mag_b.data() : nullptr);
    Guarded got_w(w_n), got_b(s.channels);
    std::memcpy(got_w.data(), init_w.data(), sizeof(float) * w_n);
    std::memcpy(got_b.data(), init_b.data(), sizeof(float) * s.channels);
    k.kernel.backward_weight(s, input.data(), grad_out.data(), got_w.data(),
                                     with_bias ? got_b.data() : nullptr);
    INFO(name << " backward_weight bias=" << with_bias);
    CHECK(got_w.guards_intact());
    CHECK(got_b.guards_intact());
    check_close(got_w.data(), want_w, mag_w, "grad_weight");
    if (with_bias)
      check_close(got_b.data(), want_b, mag_b, "grad_bias");
    else
      CHECK(std::memcmp(got_b.data(), init_b.data(), sizeof(float) * s.channels) == 0);
  }
}

}  // namespace sepnet::testing
