// Depthwise convolution: sepnet (NCHW, direct SIMD) vs oneDNN (convolution primitive with
// groups = C, in the layout oneDNN prefers, and in plain NCHW) vs XNNPACK (NHWC depthwise
// convolution), forward; plus sepnet's backward-input and backward-weight.
//
// Names: dwconv/<impl>/<N>x<C>x<H>x<W>/k<K>s<S>/threads:<T> (forward),
//        dwconv_bwd_input/sepnet/..., dwconv_bwd_weight/sepnet/...,
//        dwconv_floor/stream/... (MobileNet shapes: read the input and write the output once, no
//        arithmetic — the memory-traffic floor of any forward on these buffers),
//        dwconv_offset/sepnet/1x1024x7x7/k3s1/out_offset:<bytes>/threads:<T> (the output
//        buffer's page offset minus the input's: 4 KiB-pitch pixels make the time depend on it),
//        dwconv_variant/<variant>/..., dwconv_bwd_input_variant/..., dwconv_bwd_weight_variant/...
//        (each variant of the kernels, kernels/dispatch.h, in the layout the models run the shape
//        in, one thread; the sepnet rows' label names the variant the dispatcher picked).
// Shapes: kernels/layer_shapes.h (MobileNet v1, MNIST) plus the channel-pitch rows below.
// (Google Benchmark appends /real_time: wall time is what matters for multi-threaded code.)
// Counters: FLOPS = 2·N·C·OH·OW·KH·KW per second; bytes = (input + output + weights) bytes per
// second; pct_roofline = achieved FLOPS / min(peak FLOPS, bandwidth · FLOPs/byte) · 100, with
// peak and bandwidth measured on this machine by kernels/machine_probe.h for T threads.
// Each iteration re-reads the same buffers, so shapes that fit in the LLC can exceed 100% of
// the DRAM roofline.
#include <benchmark/benchmark.h>

#include "bench_common.h"
#include "roofline_context.h"
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <immintrin.h>
#include <memory>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/layer_shapes.h"
#include "sepnet/kernels/machine_probe.h"

#if defined(SEPNET_HAVE_XNNPACK) && __has_include(<pthreadpool.h>)
#include <dlfcn.h>
#include <xnnpack.h>
#define SEPNET_BENCH_XNNPACK 1
#endif

using sepnet::bench::random_buffer;
using sepnet::kernels::DepthwiseShape;

namespace {

struct Case {
  DepthwiseShape shape;
  const char* family;  // for the report only
};

// Channel-pitch study (sepnet NHWC forward only): the late MobileNet shapes with 16 channels
// fewer / more. A power-of-two channel count puts a channel block's pixels 1–4 KiB apart,
// so its lines crowd a few L1 sets; these rows show what a padded pixel pitch would buy
// (docs/depthwise.md, session 6, "7×7×1024 — channel pitch").
const DepthwiseShape kPitchShapes[] = {
    {1, 1008, 7, 7, 3, 3, 1, 1}, {1, 1040, 7, 7, 3, 3, 1, 1},   {1, 496, 14, 14, 3, 3, 1, 1},
    {1, 528, 14, 14, 3, 3, 1, 1}, {1, 240, 28, 28, 3, 3, 1, 1}, {1, 272, 28, 28, 3, 3, 1, 1},
};

// MobileNet v1 (batch 1, 3×3, pad 1) and the MNIST-sized LeNet-style depthwise layers (batch 64,
// 5×5, no padding) from kernels/layer_shapes.h, with the pitch rows between them.
std::vector<Case> cases() {
  namespace shapes = sepnet::kernels::layer_shapes;
  std::vector<Case> out;
  for (const DepthwiseShape& s : shapes::kMobileNetDepthwise) out.push_back({s, "mobilenet"});
  for (const DepthwiseShape& s : kPitchShapes) out.push_back({s, "pitch"});
  for (const DepthwiseShape& s : shapes::kMnistDepthwise) out.push_back({s, "mnist"});
  return out;
}

struct Sizes {
  long in, out, weights;
  double flops, bytes;
};

Sizes sizes_of(const DepthwiseShape& s) {
  Sizes z;
  z.in = static_cast<long>(s.batch) * s.channels * s.in_h * s.in_w;
  z.out = static_cast<long>(s.batch) * s.channels * s.out_h() * s.out_w();
  z.weights = static_cast<long>(s.channels) * s.kernel_h * s.kernel_w;
  z.flops = 2.0 * z.out * s.kernel_h * s.kernel_w;
  z.bytes = 4.0 * (z.in + z.out + z.weights + s.channels);
  return z;
}

std::string shape_name(const DepthwiseShape& s, int threads) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%dx%dx%dx%d/k%ds%d/threads:%d", s.batch, s.channels, s.in_h,
                s.in_w, s.kernel_h, s.stride, threads);
  return buf;
}

void set_counters(benchmark::State& state, const DepthwiseShape& s, int threads) {
  const Sizes z = sizes_of(s);
  const double peak = sepnet::kernels::measure_peak_gflops(threads) * 1e9;
  const double bandwidth = sepnet::kernels::measure_memory_bandwidth_gbs(threads) * 1e9;
  const double roof = std::min(peak, bandwidth * z.flops / z.bytes);
  using benchmark::Counter;
  state.counters["FLOPS"] = Counter(z.flops, Counter::kIsIterationInvariantRate);
  state.counters["bytes"] = Counter(z.bytes, Counter::kIsIterationInvariantRate);
  // Rate of (flops / roof · 100) per second = achieved FLOPS / roof · 100.
  state.counters["pct_roofline"] = Counter(z.flops / roof * 100.0, Counter::kIsIterationInvariantRate);
}

// ---- sepnet -----------------------------------------------------------------------------

enum class Pass { forward, backward_input, backward_weight };
enum class Layout { nchw, nhwc };

void bench_sepnet(benchmark::State& state, DepthwiseShape s, int threads, Pass pass, Layout layout) {
  namespace k = sepnet::kernels;
  const bool nhwc = layout == Layout::nhwc;
  auto forward = nhwc ? k::depthwise_conv2d_nhwc_forward : k::depthwise_conv2d_forward;
  auto backward_input = nhwc ? k::depthwise_conv2d_nhwc_backward_input : k::depthwise_conv2d_backward_input;
  auto backward_weight = nhwc ? k::depthwise_conv2d_nhwc_backward_weight : k::depthwise_conv2d_backward_weight;
  omp_set_num_threads(threads);
  const Sizes z = sizes_of(s);
  auto input = random_buffer(z.in, 1), weight = random_buffer(z.weights, 2),
       bias = random_buffer(s.channels, 3), grad_out = random_buffer(z.out, 4);
  sepnet::bench::AlignedVector output(z.out), grad_in(z.in, 0.0f), grad_w(z.weights, 0.0f),
      grad_b(s.channels, 0.0f);
  for (auto _ : state) {
    switch (pass) {
      case Pass::forward:
        forward(s, input.data(), weight.data(), bias.data(), output.data(), false);
        benchmark::DoNotOptimize(output.data());
        break;
      case Pass::backward_input:
        backward_input(s, grad_out.data(), weight.data(), grad_in.data());
        benchmark::DoNotOptimize(grad_in.data());
        break;
      case Pass::backward_weight:
        backward_weight(s, input.data(), grad_out.data(), grad_w.data(), grad_b.data());
        benchmark::DoNotOptimize(grad_w.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  set_counters(state, s, threads);
  const auto op = pass == Pass::forward          ? k::DepthwiseOp::forward
                  : pass == Pass::backward_input ? k::DepthwiseOp::backward_input
                                                 : k::DepthwiseOp::backward_weight;
  state.SetLabel(nhwc ? k::selected_variant(k::depthwise_nhwc_variants(), k::depthwise_nhwc_isa_for, op, s).name
                      : k::selected_variant(k::depthwise_variants(), k::depthwise_isa_for, op, s).name);
}

// ---- memory-traffic floor ----------------------------------------------------------------

// Reads in[0, in_count), then writes out[0, out_count), once each, each thread a contiguous
// share; the output is filled with the sum of the input so neither side can be dropped. Two
// separate sweeps: interleaving reads and writes at the same page offsets (both buffers are
// 64-byte aligned from mmap) makes loads wait on unrelated stores (4 KiB aliasing) and turns
// the floor into a ceiling. AVX-512 when the CPU has it, four accumulators: the sweep should be
// bound by memory, not by load width or add latency.
__attribute__((target("avx512f"))) void stream_pass_avx512(const float* in, long in_count, float* out, long out_count) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const long i0 = in_count * t / nt / 64 * 64, i1 = t + 1 == nt ? in_count / 64 * 64 : in_count * (t + 1) / nt / 64 * 64;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = i0; i < i1; i += 64) {
      a0 = _mm512_add_ps(a0, _mm512_loadu_ps(in + i));
      a1 = _mm512_add_ps(a1, _mm512_loadu_ps(in + i + 16));
      a2 = _mm512_add_ps(a2, _mm512_loadu_ps(in + i + 32));
      a3 = _mm512_add_ps(a3, _mm512_loadu_ps(in + i + 48));
    }
    const __m512 sum = _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3));
    const long o0 = out_count * t / nt / 16 * 16, o1 = t + 1 == nt ? out_count / 16 * 16 : out_count * (t + 1) / nt / 16 * 16;
    for (long o = o0; o < o1; o += 16) _mm512_storeu_ps(out + o, sum);
  }
}

void stream_pass_sse(const float* in, long in_count, float* out, long out_count) {
#pragma omp parallel
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const long i0 = in_count * t / nt / 16 * 16, i1 = t + 1 == nt ? in_count / 16 * 16 : in_count * (t + 1) / nt / 16 * 16;
    __m128 a0 = _mm_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = i0; i < i1; i += 16) {
      a0 = _mm_add_ps(a0, _mm_loadu_ps(in + i));
      a1 = _mm_add_ps(a1, _mm_loadu_ps(in + i + 4));
      a2 = _mm_add_ps(a2, _mm_loadu_ps(in + i + 8));
      a3 = _mm_add_ps(a3, _mm_loadu_ps(in + i + 12));
    }
    const __m128 sum = _mm_add_ps(_mm_add_ps(a0, a1), _mm_add_ps(a2, a3));
    const long o0 = out_count * t / nt / 4 * 4, o1 = t + 1 == nt ? out_count / 4 * 4 : out_count * (t + 1) / nt / 4 * 4;
    for (long o = o0; o < o1; o += 4) _mm_storeu_ps(out + o, sum);
  }
}

void bench_stream_floor(benchmark::State& state, DepthwiseShape s, int threads) {
  omp_set_num_threads(threads);
  const Sizes z = sizes_of(s);
  auto input = random_buffer(z.in, 1);
  sepnet::bench::AlignedVector output(z.out);
  const auto pass = __builtin_cpu_supports("avx512f") ? stream_pass_avx512 : stream_pass_sse;
  for (auto _ : state) {
    pass(input.data(), z.in, output.data(), z.out);
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = benchmark::Counter(4.0 * (z.in + z.out), benchmark::Counter::kIsIterationInvariantRate);
}

// ---- output page offset (7×7×1024) --------------------------------------------------------

// sepnet's NHWC forward with input and output at chosen offsets inside 4 KiB pages: with a
// pixel pitch of 4 KiB every access of a channel block has the same page offset, so how far the
// output's offset lies from the input's decides how often stores and later loads look alike to
// the core's 4 KiB store-to-load check (docs/depthwise.md, session 8).
void bench_out_offset(benchmark::State& state, DepthwiseShape s, int threads, long offset_bytes) {
  omp_set_num_threads(threads);
  const Sizes z = sizes_of(s);
  auto page_buffer = [](long floats) {
    return std::unique_ptr<float, decltype(&std::free)>(
        static_cast<float*>(std::aligned_alloc(4096, (floats * 4 + 4096 + 4095) / 4096 * 4096)), &std::free);
  };
  auto in_buf = page_buffer(z.in), out_buf = page_buffer(z.out);
  const auto values = random_buffer(z.in, 1);
  float* input = in_buf.get();
  float* output = out_buf.get() + offset_bytes / 4;
  std::copy(values.begin(), values.end(), input);
  std::fill(output, output + z.out, 0.0f);
  auto weight = random_buffer(z.weights, 2), bias = random_buffer(s.channels, 3);
  for (auto _ : state) {
    sepnet::kernels::depthwise_conv2d_nhwc_forward(s, input, weight.data(), bias.data(), output, false);
    benchmark::DoNotOptimize(output);
    benchmark::ClobberMemory();
  }
  set_counters(state, s, threads);
}

// ---- oneDNN -----------------------------------------------------------------------------

#ifdef SEPNET_HAVE_ONEDNN
// plain_nchw: force nchw / goihw (what a PyTorch-layout caller hands over); otherwise let
// oneDNN choose its preferred (blocked) layouts and time only the primitive, no reorders.
void bench_onednn(benchmark::State& state, DepthwiseShape s, int threads, bool plain_nchw) {
  omp_set_num_threads(threads);
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  const memory::dims src_dims{s.batch, s.channels, s.in_h, s.in_w};
  const memory::dims wei_dims{s.channels, 1, 1, s.kernel_h, s.kernel_w};
  const memory::dims bias_dims{s.channels};
  const memory::dims dst_dims{s.batch, s.channels, s.out_h(), s.out_w()};
  const memory::dims strides{s.stride, s.stride}, pad{s.pad, s.pad};
  // Right padding so that the output size matches floor division exactly.
  const memory::dims pad_r{(s.out_h() - 1) * s.stride + s.kernel_h - s.in_h - s.pad,
                           (s.out_w() - 1) * s.stride + s.kernel_w - s.in_w - s.pad};
  auto src_md = memory::desc(src_dims, dt::f32, plain_nchw ? tag::nchw : tag::any);
  auto wei_md = memory::desc(wei_dims, dt::f32, plain_nchw ? tag::goihw : tag::any);
  auto bias_md = memory::desc(bias_dims, dt::f32, tag::x);
  auto dst_md = memory::desc(dst_dims, dt::f32, plain_nchw ? tag::nchw : tag::any);
  sepnet::bench::time_onednn_convolution(state, convolution_forward::desc(prop_kind::forward_inference,
                                                                           algorithm::convolution_direct, src_md, wei_md,
                                                                           bias_md, dst_md, strides, pad, pad_r));
  set_counters(state, s, threads);
}
#endif

// ---- XNNPACK ----------------------------------------------------------------------------

#ifdef SEPNET_BENCH_XNNPACK
// pthreadpool is a dependency of libXNNPACK but not on our link line: look its two entry
// points up at run time from the already-loaded library.
struct ThreadPoolApi {
  pthreadpool_t (*create)(size_t) = nullptr;
  void (*destroy)(pthreadpool_t) = nullptr;
  ThreadPoolApi() {
    create = reinterpret_cast<pthreadpool_t (*)(size_t)>(dlsym(RTLD_DEFAULT, "pthreadpool_create"));
    destroy = reinterpret_cast<void (*)(pthreadpool_t)>(dlsym(RTLD_DEFAULT, "pthreadpool_destroy"));
  }
};

// NHWC depthwise (groups = C, 1 input and 1 output channel per group); kernel layout
// [C][KH][KW][1] is the same bytes as sepnet's [C][KH][KW].
void bench_xnnpack(benchmark::State& state, DepthwiseShape s, int threads) {
  static const bool initialized = xnn_initialize(nullptr) == xnn_status_success;
  static const ThreadPoolApi pool_api;
  if (!initialized || !pool_api.create) {
    state.SkipWithError("XNNPACK or pthreadpool unavailable");
    return;
  }
  const Sizes z = sizes_of(s);
  auto input = random_buffer(z.in, 1), weight = random_buffer(z.weights, 2),
       bias = random_buffer(s.channels, 3);
  sepnet::bench::AlignedVector output(z.out + 64);
  pthreadpool_t pool = pool_api.create(threads);
  xnn_operator_t op = nullptr;
  const float inf = std::numeric_limits<float>::infinity();
  xnn_status st = xnn_create_convolution2d_nhwc_f32(
      s.pad, s.pad, s.pad, s.pad, s.kernel_h, s.kernel_w, s.stride, s.stride, 1, 1, s.channels, 1,
      1, s.channels, s.channels, weight.data(), bias.data(), -inf, inf, 0, &op);
  if (st == xnn_status_success)
    st = xnn_setup_convolution2d_nhwc_f32(op, s.batch, s.in_h, s.in_w, input.data(),
                                          output.data(), pool);
  if (st != xnn_status_success) {
    state.SkipWithError("XNNPACK convolution setup failed");
  } else {
    for (auto _ : state) {
      xnn_run_operator(op, pool);
      benchmark::ClobberMemory();
    }
    set_counters(state, s, threads);
  }
  if (op) xnn_delete_operator(op);
  pool_api.destroy(pool);
}
#endif

void register_all() {
  for (int threads : {1, 2}) {
    for (const Case& c : cases()) {
      const DepthwiseShape s = c.shape;
      const std::string tail = shape_name(s, threads);
      auto add = [&](const std::string& name, std::function<void(benchmark::State&)> fn) {
        benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMicrosecond);
      };
      // "sepnet" = the layout sepnet's models run the shape in (MobileNet: NHWC, the MNIST
      // networks: NCHW); the other layout is reported beside it as sepnet_nchw / sepnet_nhwc.
      if (std::string(c.family) == "pitch") {
        add("dwconv/sepnet/" + tail,
            [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::forward, Layout::nhwc); });
        continue;
      }
      const bool mobilenet = std::string(c.family) == "mobilenet";
      const Layout main = mobilenet ? Layout::nhwc : Layout::nchw;
      const Layout other = mobilenet ? Layout::nchw : Layout::nhwc;
      const std::string other_name = mobilenet ? "sepnet_nchw/" : "sepnet_nhwc/";
      add("dwconv/sepnet/" + tail,
          [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::forward, main); });
      add("dwconv/" + other_name + tail,
          [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::forward, other); });
#ifdef SEPNET_HAVE_ONEDNN
      add("dwconv/onednn/" + tail, [=](benchmark::State& st) { bench_onednn(st, s, threads, false); });
      add("dwconv/onednn_nchw/" + tail,
          [=](benchmark::State& st) { bench_onednn(st, s, threads, true); });
#endif
#ifdef SEPNET_BENCH_XNNPACK
      add("dwconv/xnnpack/" + tail, [=](benchmark::State& st) { bench_xnnpack(st, s, threads); });
#endif
      if (mobilenet)
        add("dwconv_floor/stream/" + tail, [=](benchmark::State& st) { bench_stream_floor(st, s, threads); });
      if (mobilenet && s.channels == 1024)
        for (long offset : {0L, 64L, 128L, 2048L}) {
          const std::string name = std::string("dwconv_offset/sepnet/") + tail.substr(0, tail.find("/threads")) +
                                   "/out_offset:" + std::to_string(offset) + tail.substr(tail.find("/threads"));
          add(name, [=](benchmark::State& st) { bench_out_offset(st, s, threads, offset); });
        }
      for (const auto& [layout, suffix] : {std::pair{main, std::string("sepnet/")}, std::pair{other, other_name}}) {
        add("dwconv_bwd_input/" + suffix + tail,
            [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::backward_input, layout); });
        add("dwconv_bwd_weight/" + suffix + tail,
            [=](benchmark::State& st) { bench_sepnet(st, s, threads, Pass::backward_weight, layout); });
      }
      if (threads != 1) continue;
      const auto variants = main == Layout::nhwc ? sepnet::kernels::depthwise_nhwc_variants()
                                                 : sepnet::kernels::depthwise_variants();
      for (const auto& [prefix, pass] : {std::pair{"dwconv_variant", Pass::forward},
                                         std::pair{"dwconv_bwd_input_variant", Pass::backward_input},
                                         std::pair{"dwconv_bwd_weight_variant", Pass::backward_weight}})
        sepnet::bench::register_variants(variants, prefix, tail, [=, pass = pass](benchmark::State& st) {
          bench_sepnet(st, s, 1, pass, main);
        });
    }
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
