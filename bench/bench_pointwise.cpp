// Pointwise (1×1) convolution: sepnet (NCHW, one sgemm per image) vs oneDNN's 1×1
// convolution primitive (its preferred layouts, primitive time only), at the MobileNet v1
// pointwise shapes, batch 1, plus sepnet's backward passes.
// Names: pwconv/<impl>/<N>x<Cin>x<Cout>x<H>x<W>/threads:<T>, pwconv_bwd_input/sepnet/...,
// pwconv_bwd_weight/sepnet/..., and per GEMM variant (kernels/dispatch.h; pointwise runs on
// sgemm), one thread: pwconv_variant/<variant>/..., pwconv_bwd_input_variant/...,
// pwconv_bwd_weight_variant/... (Google Benchmark appends /real_time).
// Shapes: kernels/layer_shapes.h (kMobileNetPointwise).
// Counters as in bench_depthwise: FLOPS, bytes (input + output + weights), pct_roofline.
#include <benchmark/benchmark.h>

#include "bench_common.h"
#include "roofline_context.h"
#include <omp.h>

#include <cstdio>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sepnet/kernels/machine_probe.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/layer_shapes.h"
#include "sepnet/kernels/pointwise.h"


using sepnet::bench::random_buffer;
using sepnet::kernels::PointwiseShape;

namespace {

struct Case {
  int batch, cin, cout, hw;  // square spatial side
};
// MobileNet v1's 1×1 layers at batch 1 (kernels/layer_shapes.h).
std::vector<Case> cases() {
  std::vector<Case> out;
  for (const auto& l : sepnet::kernels::layer_shapes::kMobileNetPointwise)
    out.push_back({1, l.in_channels, l.out_channels, l.side});
  return out;
}

PointwiseShape shape_of(const Case& c) { return {c.batch, c.cin, c.cout, c.hw * c.hw}; }

void set_counters(benchmark::State& state, const PointwiseShape& s, int threads) {
  const double flops = 2.0 * s.batch * s.in_channels * s.out_channels * s.spatial;
  const double bytes = 4.0 * (static_cast<double>(s.batch) * (s.in_channels + s.out_channels) * s.spatial +
                              static_cast<double>(s.in_channels) * s.out_channels + s.out_channels);
  const double peak = sepnet::kernels::measure_peak_gflops(threads) * 1e9;
  const double bandwidth = sepnet::kernels::measure_memory_bandwidth_gbs(threads) * 1e9;
  const double roof = std::min(peak, bandwidth * flops / bytes);
  using benchmark::Counter;
  state.counters["FLOPS"] = Counter(flops, Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = Counter(bytes, Counter::kIsIterationInvariantRate);
  state.counters["pct_roofline"] = Counter(flops / roof * 100.0, Counter::kIsIterationInvariantRate);
}

enum class Pass { forward, backward_input, backward_weight };

void bench_sepnet(benchmark::State& state, PointwiseShape s, int threads, Pass pass) {
  omp_set_num_threads(threads);
  const long in_n = static_cast<long>(s.batch) * s.in_channels * s.spatial;
  const long out_n = static_cast<long>(s.batch) * s.out_channels * s.spatial;
  auto input = random_buffer(in_n, 1), weight = random_buffer(s.in_channels * s.out_channels, 2),
       bias = random_buffer(s.out_channels, 3), grad_out = random_buffer(out_n, 4);
  sepnet::bench::AlignedVector output(out_n), grad_in(in_n, 0.0f), grad_w(weight.size(), 0.0f),
      grad_b(s.out_channels, 0.0f);
  for (auto _ : state) {
    switch (pass) {
      case Pass::forward:
        sepnet::kernels::pointwise_conv2d_forward(s, input.data(), weight.data(), bias.data(),
                                                  output.data());
        break;
      case Pass::backward_input:
        sepnet::kernels::pointwise_conv2d_backward_input(s, grad_out.data(), weight.data(),
                                                         grad_in.data());
        break;
      case Pass::backward_weight:
        sepnet::kernels::pointwise_conv2d_backward_weight(s, input.data(), grad_out.data(),
                                                          grad_w.data(), grad_b.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, s, threads);
}

#ifdef SEPNET_HAVE_ONEDNN
void bench_onednn(benchmark::State& state, const Case& c, int threads) {
  omp_set_num_threads(threads);
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  auto src_md = memory::desc({c.batch, c.cin, c.hw, c.hw}, dt::f32, tag::any);
  auto wei_md = memory::desc({c.cout, c.cin, 1, 1}, dt::f32, tag::any);
  auto bias_md = memory::desc({c.cout}, dt::f32, tag::x);
  auto dst_md = memory::desc({c.batch, c.cout, c.hw, c.hw}, dt::f32, tag::any);
  sepnet::bench::time_onednn_convolution(
      state, convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct, src_md, wei_md,
                                       bias_md, dst_md, {1, 1}, {0, 0}, {0, 0}));
  set_counters(state, shape_of(c), threads);
}
#endif

void register_all() {
  for (int threads : {1, 2})
    for (const Case& c : cases()) {
      char tail[96];
      std::snprintf(tail, sizeof tail, "%dx%dx%dx%dx%d/threads:%d", c.batch, c.cin, c.cout, c.hw,
                    c.hw, threads);
      auto add = [&](const std::string& name, std::function<void(benchmark::State&)> fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMicrosecond);
      };
      const PointwiseShape s = shape_of(c);
      add(std::string("pwconv/sepnet/") + tail,
          [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::forward); });
#ifdef SEPNET_HAVE_ONEDNN
      add(std::string("pwconv/onednn/") + tail,
          [=](benchmark::State& st) { bench_onednn(st, c, threads); });
#endif
      add(std::string("pwconv_bwd_input/sepnet/") + tail,
          [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::backward_input); });
      add(std::string("pwconv_bwd_weight/sepnet/") + tail,
          [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::backward_weight); });
      if (threads != 1) continue;
      // Pointwise runs on sgemm: its variants are the GEMM's.
      for (const auto& [prefix, pass] : {std::pair{"pwconv_variant", Pass::forward},
                                         std::pair{"pwconv_bwd_input_variant", Pass::backward_input},
                                         std::pair{"pwconv_bwd_weight_variant", Pass::backward_weight}})
        sepnet::bench::register_variants(sepnet::kernels::gemm_variants(), prefix, tail,
                                         [=, pass = pass](benchmark::State& st) { bench_sepnet(st, s, 1, pass); });
    }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  sepnet::bench::add_roofline_context();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
