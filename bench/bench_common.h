// Shared by the bench_* programs: random inputs, one row per kernel variant (register_variants),
// and timing a oneDNN forward convolution (primitive time only, in whatever layouts its
// descriptor asks for) once a caller has described its shape.
#pragma once
#include <benchmark/benchmark.h>

#include <algorithm>
#include <functional>
#include <new>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "sepnet/kernels/dispatch.h"
#include "sepnet/kernels/isa.h"

#ifdef SEPNET_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace sepnet::bench {

// 64-byte aligned buffers, as sepnet's tensors (core/storage.h) and oneDNN's memory are: a
// plain std::vector of ≥ 128 KiB comes from mmap 16 bytes past a page start, so every 64-byte
// vector load of it would straddle two cache lines.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new[](n * sizeof(T), std::align_val_t(64)));
  }
  void deallocate(T* p, std::size_t) { ::operator delete[](p, std::align_val_t(64)); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
};
using AlignedVector = std::vector<float, AlignedAllocator<float>>;

inline AlignedVector random_buffer(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  AlignedVector v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

// One benchmark per row of a kernel family's variants table (kernels/dispatch.h) that this CPU
// runs, named "<prefix>/<variant name>/<suffix>", each timing `run` with that row forced exactly
// (the family's shape rule skipped): a family's compiled copies side by side on one shape — what
// a rule sending AVX-512 work to the AVX2 copy is measured with.
template <class Table>
void register_variants(const Table& table, const std::string& prefix, const std::string& suffix,
                       std::function<void(benchmark::State&)> run) {
  for (const auto& variant : table) {
    if (!kernels::isa_supported(variant.isa)) continue;
    const kernels::Isa isa = variant.isa;
    benchmark::RegisterBenchmark((prefix + "/" + variant.name + "/" + suffix).c_str(),
                                 [isa, run](benchmark::State& state) {
                                   kernels::ScopedIsa forced(isa, /*exact=*/true);
                                   run(state);
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

#ifdef SEPNET_HAVE_ONEDNN
// Runs the benchmark loop over `desc` (random source, weights and bias) and labels the state
// with oneDNN's implementation name. The caller sets its own counters afterwards.
inline void time_onednn_convolution(benchmark::State& state, const dnnl::convolution_forward::desc& desc) {
  using namespace dnnl;
  engine eng(engine::kind::cpu, 0);
  stream strm(eng);
  convolution_forward::primitive_desc pd(desc, eng);
  memory src(pd.src_desc(), eng), wei(pd.weights_desc(), eng), bias(pd.bias_desc(), eng), dst(pd.dst_desc(), eng);
  unsigned seed = 1;
  for (memory* m : {&src, &wei, &bias}) {
    const auto values = random_buffer(m->get_desc().get_size() / sizeof(float), seed++);
    std::copy(values.begin(), values.end(), static_cast<float*>(m->get_data_handle()));
  }
  convolution_forward conv(pd);
  const std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
  for (auto _ : state) {
    conv.execute(strm, args);
    strm.wait();
  }
  state.SetLabel(pd.impl_info_str());
}

// Times oneDNN's forward convolution of an N×C_in×H×W input by C_out filters of KH×KW (stride,
// symmetric pad, bias), every tensor in the layout oneDNN prefers (format `any`).
inline void time_onednn_convolution(benchmark::State& state, int batch, int in_channels, int in_h, int in_w,
                                    int out_channels, int kernel_h, int kernel_w, int stride, int pad) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  const int out_h = (in_h + 2 * pad - kernel_h) / stride + 1, out_w = (in_w + 2 * pad - kernel_w) / stride + 1;
  auto src_md = memory::desc({batch, in_channels, in_h, in_w}, dt::f32, tag::any);
  auto wei_md = memory::desc({out_channels, in_channels, kernel_h, kernel_w}, dt::f32, tag::any);
  auto bias_md = memory::desc({out_channels}, dt::f32, tag::x);
  auto dst_md = memory::desc({batch, out_channels, out_h, out_w}, dt::f32, tag::any);
  time_onednn_convolution(state, convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                                           src_md, wei_md, bias_md, dst_md, {stride, stride},
                                                           {pad, pad}, {pad, pad}));
}
#endif

}  // namespace sepnet::bench
