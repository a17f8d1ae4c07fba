// Shared by the bench_* programs: random inputs, and timing a oneDNN forward convolution
// (primitive time only, in whatever layouts its descriptor asks for) once a caller has
// described its shape.
#pragma once
#include <benchmark/benchmark.h>

#include <algorithm>
#include <new>
#include <random>
#include <unordered_map>
#include <vector>

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
#endif

}  // namespace sepnet::bench
