// Direct (few-channel) convolution at the MNIST layer shapes, batch 64: sepnet's direct kernels
// (forward, backward-input, backward-weight) beside oneDNN's convolution (forward, its
// preferred layouts, primitive time only) in the same run.
// Names: conv/<impl>/<N>x<Cin>x<H>x<W>/o<Cout>k<K>p<P>/threads:<T>, conv_bwd_input/sepnet/...,
// conv_bwd_weight/sepnet/..., and per variant of the kernels (kernels/dispatch.h), one thread:
// conv_variant/<variant>/..., conv_bwd_input_variant/..., conv_bwd_weight_variant/...
// Shapes: kernels/layer_shapes.h (kMnistDirectConv).
// Counters: FLOPS (2·MACs) and pct_peak (of the measured FMA peak).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <omp.h>

#include <random>
#include <string>
#include <vector>

#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/layer_shapes.h"
#include "bench_common.h"
#include "roofline_context.h"

using sepnet::bench::random_buffer;
using sepnet::kernels::DirectConvShape;

namespace {


std::string shape_name(const DirectConvShape& s) {
  return fmt::format("{}x{}x{}x{}/o{}k{}p{}", s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel_h,
                     s.pad);
}

void set_counters(benchmark::State& state, const DirectConvShape& s, int threads) {
  sepnet::bench::set_flop_counters(
      state, 2.0 * s.batch * s.out_channels * s.out_h() * s.out_w() * s.in_channels * s.kernel_h * s.kernel_w, threads);
}

enum class Pass { forward, backward_input, backward_weight };

void bench_sepnet(benchmark::State& state, DirectConvShape s, int threads, Pass pass) {
  omp_set_num_threads(threads);
  const long in_n = static_cast<long>(s.batch) * s.in_channels * s.in_h * s.in_w;
  const long out_n = static_cast<long>(s.batch) * s.out_channels * s.out_h() * s.out_w();
  const long w_n = static_cast<long>(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  auto input = random_buffer(in_n, 1), weight = random_buffer(w_n, 2), bias = random_buffer(s.out_channels, 3),
       grad_out = random_buffer(out_n, 4);
  sepnet::bench::AlignedVector output(out_n), grad_in(in_n, 0.0f), grad_w(w_n, 0.0f), grad_b(s.out_channels, 0.0f);
  for (auto _ : state) {
    switch (pass) {
      case Pass::forward:
        sepnet::kernels::direct_conv2d_forward(s, input.data(), weight.data(), bias.data(), output.data());
        break;
      case Pass::backward_input:
        sepnet::kernels::direct_conv2d_backward_input(s, grad_out.data(), weight.data(), grad_in.data());
        break;
      case Pass::backward_weight:
        sepnet::kernels::direct_conv2d_backward_weight(s, input.data(), grad_out.data(), grad_w.data(),
                                                       grad_b.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, s, threads);
  using sepnet::kernels::DirectConvOp;
  const DirectConvOp op = pass == Pass::forward          ? DirectConvOp::forward
                          : pass == Pass::backward_input ? DirectConvOp::backward_input
                                                         : DirectConvOp::backward_weight;
  state.SetLabel(sepnet::kernels::selected_variant(sepnet::kernels::direct_conv_variants(),
                                                   sepnet::kernels::direct_conv_isa_for, op, s)
                     .name);
}

#ifdef SEPNET_HAVE_ONEDNN
void bench_onednn(benchmark::State& state, DirectConvShape s, int threads) {
  omp_set_num_threads(threads);
  sepnet::bench::time_onednn_convolution(state, s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel_h,
                                         s.kernel_w, 1, s.pad);
  set_counters(state, s, threads);
}
#endif

const bool registered = [] {
  for (const auto& layer : sepnet::kernels::layer_shapes::kMnistDirectConv) {
    const DirectConvShape s = layer.shape;
    for (int threads : {1, 2}) {
      const std::string suffix = fmt::format("/{}/threads:{}", shape_name(s), threads);
      benchmark::RegisterBenchmark(("conv/sepnet" + suffix).c_str(), bench_sepnet, s, threads, Pass::forward)
          ->UseRealTime();
#ifdef SEPNET_HAVE_ONEDNN
      benchmark::RegisterBenchmark(("conv/onednn" + suffix).c_str(), bench_onednn, s, threads)->UseRealTime();
#endif
      benchmark::RegisterBenchmark(("conv_bwd_input/sepnet" + suffix).c_str(), bench_sepnet, s, threads,
                                   Pass::backward_input)
          ->UseRealTime();
      benchmark::RegisterBenchmark(("conv_bwd_weight/sepnet" + suffix).c_str(), bench_sepnet, s, threads,
                                   Pass::backward_weight)
          ->UseRealTime();
    }
    const std::string tail = fmt::format("{}/threads:1", shape_name(s));
    const auto variants = sepnet::kernels::direct_conv_variants();
    for (const auto& [prefix, pass] : {std::pair{"conv_variant", Pass::forward},
                                       std::pair{"conv_bwd_input_variant", Pass::backward_input},
                                       std::pair{"conv_bwd_weight_variant", Pass::backward_weight}})
      sepnet::bench::register_variants(variants, prefix, tail,
                                       [s, pass = pass](benchmark::State& st) { bench_sepnet(st, s, 1, pass); });
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return sepnet::bench::run_benchmarks(argc, argv); }
