// Internal: deterministic float sums that vectorize without -ffast-math. Terms go to 32
// interleaved float lanes (4 independent AVX2 add chains; one serial float sum is bound by the
// 4-cycle add latency), combined pairwise in double in a fixed order, so a result depends only
// on the terms, never on the ISA or the thread count. Used by batch-norm (whole channels) and
// the pointwise weight/bias gradients. Anonymous namespace: each translation unit compiles its
// own copy with its own ISA flags.
#pragma once

namespace sepnet::kernels {
namespace {

constexpr int kSumLanes = 32;
struct LaneSum {
  float lanes[kSumLanes] = {};
  template <class F>
  void add(long n, F&& term) {
    float acc[kSumLanes];  // a local copy the compiler keeps in registers (the member may alias inputs)
    for (int l = 0; l < kSumLanes; ++l) acc[l] = lanes[l];
    long i = 0;
    for (; i + kSumLanes <= n; i += kSumLanes)
      for (int l = 0; l < kSumLanes; ++l) acc[l] += term(i + l);
    for (int l = 0; i < n; ++i, ++l) acc[l] += term(i);
    for (int l = 0; l < kSumLanes; ++l) lanes[l] = acc[l];
  }
  double total() const {
    double d[kSumLanes];
    for (int l = 0; l < kSumLanes; ++l) d[l] = lanes[l];
    for (int width = kSumLanes / 2; width > 0; width /= 2)
      for (int l = 0; l < width; ++l) d[l] += d[l + width];
    return d[0];
  }
};

}  // namespace
}  // namespace sepnet::kernels
