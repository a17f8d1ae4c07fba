// GEMM body, part 1 of 5 (gemm_impl.h): the problem as the drivers see it (GemmArgs) and the
// cache blocking (MC, KC, NC, loop order) derived once from this machine's cache sizes.
// Internal: included by gemm_impl.h only, inside the per-ISA namespace SEPNET_GEMM_NS (no
// include guard: each including namespace gets its own copy).
#include <algorithm>

#include "sepnet/kernels/cache_info.h"

#ifndef SEPNET_GEMM_NS
#error "include kernels/gemm_impl.h (which includes this part), not this file"
#endif

namespace sepnet::kernels::SEPNET_GEMM_NS {

constexpr int kLanes = Vec::lanes;
constexpr int kNR = kNV * kLanes;

struct GemmArgs {
  bool trans_a, trans_b;
  int k;
  float alpha;
  const float* a;
  long lda;
  const float* b;
  long ldb;
  float beta;
  float* c;
  long ldc;
};

struct Blocking {
  int mc, kc, nc;
  int direct_b_max_m;  // "sup" path when the M range is at most this many rows
  bool b_panel_in_l1;  // jr outer / ir inner (B micro-panel reused from L1) vs ir outer
  long dot_max_outputs;  // "dot" path for A·Bᵀ with at most this many elements of C
};

inline const Blocking& blocking() {
  static const Blocking bl = [] {
    const CacheSizes& cs = cache_sizes();
    const auto round_to = [](long value, long unit, long lo, long hi) {
      return static_cast<int>(std::clamp((value / unit) * unit, lo, hi));
    };
    Blocking b{};
    // KC: long enough to amortise the C tile update (2·MR·NR loads/stores per MR·NR·KC FMAs),
    // short enough that an A micro-panel (MR×KC) sits in L1 beside a B micro-panel.
    b.kc = 256;
    const long kc_bytes = static_cast<long>(b.kc) * sizeof(float);
    // Loop order: if a B micro-panel (KC×NR) fits in half of L1 (AVX2 6×16: 16 KiB), BLIS
    // order: it stays in L1 while every A micro-panel of the L2-resident A block passes over
    // it, so the A block lives in L2 (a sixth of it: MC = 168 rows at 1 MiB, BLIS's Haswell
    // value; measured 1024³/2048³ at 1 thread: 67.8/64.4 GFLOP/s with half of L2 (MC = 384),
    // 76.4/71.7 with a sixth, 71.6/68.8 with a tenth) and the B block in L3. Otherwise (AVX-512
    // 6×64: 64 KiB panels) the A micro-panel stays in L1 and B micro-panels stream from an
    // L2-resident B block, so NC is what must fit in L2.
    b.b_panel_in_l1 = kc_bytes * kNR <= cs.l1d / 2;
    if (b.b_panel_in_l1) {
      b.mc = round_to(cs.l2 / 6 / kc_bytes, kMR, kMR, 64L * kMR);
      b.nc = round_to(cs.l3 / 8 / kc_bytes, kNR, kNR, 4096);
    } else {
      b.nc = round_to(cs.l2 / 2 / kc_bytes, kNR, kNR, 4096);
      b.mc = round_to(cs.l2 / 4 / kc_bytes, kMR, kMR, 64L * kMR);
    }
    b.direct_b_max_m = 4 * kMR;
    b.dot_max_outputs = 4096;
    return b;
  }();
  return bl;
}

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
