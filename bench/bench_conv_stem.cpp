// The stem convolution (few input channels, NCHW image in, NHWC out) at MobileNet v1's stem
// shapes: sepnet's direct kernel (forward, weight gradient) beside oneDNN's convolution in its
// preferred layouts (forward, primitive time only), in the same run.
// Names: stemconv/<impl>/<N>x<Cin>x<H>x<W>/o<Cout>s<S>/threads:<T>, stemconv_bwd_weight/sepnet/...,
// and per variant of the kernel (kernels/dispatch.h), one thread: stemconv_variant/<variant>/...,
// stemconv_bwd_weight_variant/<variant>/... Shapes: kernels/layer_shapes.h (kMobileNetStem).
// Counters: FLOPS (2·MACs) and pct_peak (of the measured FMA peak).
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <omp.h>

#include <string>

#include "bench_common.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/layer_shapes.h"
#include "roofline_context.h"

using sepnet::bench::random_buffer;
using sepnet::kernels::StemConvShape;

namespace {


std::string shape_name(const StemConvShape& s) {
  return fmt::format("{}x{}x{}x{}/o{}s{}", s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.stride);
}

void set_counters(benchmark::State& state, const StemConvShape& s, int threads) {
  sepnet::bench::set_flop_counters(
      state, 2.0 * s.batch * s.out_channels * s.out_h() * s.out_w() * s.in_channels * s.kernel_h * s.kernel_w, threads);
}

void bench_sepnet(benchmark::State& state, StemConvShape s, int threads, bool weight_gradient) {
  omp_set_num_threads(threads);
  const long in_n = static_cast<long>(s.batch) * s.in_channels * s.in_h * s.in_w;
  const long out_n = static_cast<long>(s.batch) * s.out_channels * s.out_h() * s.out_w();
  const long w_n = static_cast<long>(s.out_channels) * s.in_channels * s.kernel_h * s.kernel_w;
  auto input = random_buffer(in_n, 1), weight = random_buffer(w_n, 2), bias = random_buffer(s.out_channels, 3),
       grad_out = random_buffer(out_n, 4);
  sepnet::bench::AlignedVector output(out_n), grad_w(w_n, 0.0f), grad_b(s.out_channels, 0.0f);
  for (auto _ : state) {
    if (weight_gradient)
      sepnet::kernels::stem_conv2d_backward_weight(s, input.data(), grad_out.data(), grad_w.data(), grad_b.data());
    else
      sepnet::kernels::stem_conv2d_forward(s, input.data(), weight.data(), bias.data(), output.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, s, threads);
  const auto op = weight_gradient ? sepnet::kernels::StemConvOp::backward_weight : sepnet::kernels::StemConvOp::forward;
  state.SetLabel(sepnet::kernels::selected_variant(sepnet::kernels::stem_conv_variants(),
                                                   sepnet::kernels::stem_conv_isa_for, op, s)
                     .name);
}

#ifdef SEPNET_HAVE_ONEDNN
void bench_onednn(benchmark::State& state, StemConvShape s, int threads) {
  omp_set_num_threads(threads);
  sepnet::bench::time_onednn_convolution(state, s.batch, s.in_channels, s.in_h, s.in_w, s.out_channels, s.kernel_h,
                                         s.kernel_w, s.stride, s.pad);
  set_counters(state, s, threads);
}
#endif

const bool registered = [] {
  for (const auto& layer : sepnet::kernels::layer_shapes::kMobileNetStem) {
    const StemConvShape s = layer.shape;
    for (int threads : {1, 2}) {
      const std::string suffix = fmt::format("/{}/threads:{}", shape_name(s), threads);
      benchmark::RegisterBenchmark(("stemconv/sepnet" + suffix).c_str(), bench_sepnet, s, threads, false)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
#ifdef SEPNET_HAVE_ONEDNN
      benchmark::RegisterBenchmark(("stemconv/onednn" + suffix).c_str(), bench_onednn, s, threads)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
#endif
      benchmark::RegisterBenchmark(("stemconv_bwd_weight/sepnet" + suffix).c_str(), bench_sepnet, s, threads, true)
          ->UseRealTime()
          ->Unit(benchmark::kMicrosecond);
    }
    const std::string tail = fmt::format("{}/threads:1", shape_name(s));
    const auto variants = sepnet::kernels::stem_conv_variants();
    sepnet::bench::register_variants(variants, "stemconv_variant", tail,
                                     [s](benchmark::State& st) { bench_sepnet(st, s, 1, false); });
    sepnet::bench::register_variants(variants, "stemconv_bwd_weight_variant", tail,
                                     [s](benchmark::State& st) { bench_sepnet(st, s, 1, true); });
  }
  return true;
}();

}  // namespace

int main(int argc, char** argv) { return sepnet::bench::run_benchmarks(argc, argv); }
