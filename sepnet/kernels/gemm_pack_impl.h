// GEMM body, part 3 of 5 (gemm_impl.h): packing A and B blocks into micro-panels (transposes
// absorbed here), and the per-thread packing buffers.
// Internal: included by gemm_impl.h only, inside the per-ISA namespace SEPNET_GEMM_NS.
#include <algorithm>
#include <cstdlib>

#ifndef SEPNET_GEMM_NS
#error "include kernels/gemm_impl.h (which includes this part), not this file"
#endif

namespace sepnet::kernels::SEPNET_GEMM_NS {

// ---------------------------------------------------------------------------------------------
// Packing. A block rows [i0, i0+mc) × depth [p0, p0+kc) into consecutive MR-row micro-panels
// (the last one mr_tail rows tall, stored compactly: kc·rows floats).
inline void pack_a(const GemmArgs& g, int i0, int mc, int p0, int kc, float* __restrict dst) {
  for (int ir = 0; ir < mc; ir += kMR) {
    const int rows = std::min(kMR, mc - ir);
    if (!g.trans_a) {
      const float* src = g.a + static_cast<long>(i0 + ir) * g.lda + p0;
      if (rows == kMR) {
        // All MR rows advance together: MR concurrent read streams (a row at a time would
        // expose every L3 miss), contiguous writes.
        const float* s[kMR];
        for (int i = 0; i < kMR; ++i) s[i] = src + i * g.lda;
        for (int p = 0; p < kc; ++p)
#pragma GCC unroll 16
          for (int i = 0; i < kMR; ++i) dst[p * kMR + i] = s[i][p];
      } else {
        for (int p = 0; p < kc; ++p)
          for (int i = 0; i < rows; ++i) dst[p * rows + i] = src[i * g.lda + p];
      }
    } else {
      const float* src = g.a + static_cast<long>(p0) * g.lda + i0 + ir;
      if (rows == kMR) {
        // Fixed-size row copy, unrolled: a variable-length loop here became a memcpy call per
        // k (6 floats each), ~6 % of a MobileNet training step in the pointwise backward.
        for (int p = 0; p < kc; ++p) {
          const float* s = src + p * g.lda;
#pragma GCC unroll 16
          for (int i = 0; i < kMR; ++i) dst[p * kMR + i] = s[i];
        }
      } else {
        for (int p = 0; p < kc; ++p) {
          const float* s = src + p * g.lda;
          for (int i = 0; i < rows; ++i) dst[p * rows + i] = s[i];
        }
      }
    }
    dst += static_cast<long>(rows) * kc;
  }
}

// One B micro-panel: depth [p0, p0+kc) × columns [j0, j0+cols) into dst with row stride
// `width` (a whole number of vectors ≥ cols), zero-padded on the right.
inline void pack_b_panel(const GemmArgs& g, int p0, int kc, int j0, int cols, int width,
                         float* __restrict dst) {
  if (!g.trans_b) {
    const float* src = g.b + static_cast<long>(p0) * g.ldb + j0;
    if (cols == kNR && width == kNR) {
      // Whole panel row = kNV vector copies (a variable-length loop became memcpy calls).
      for (int p = 0; p < kc; ++p) {
        const float* s = src + p * g.ldb;
        float* d = dst + static_cast<long>(p) * kNR;
#pragma GCC unroll 8
        for (int v = 0; v < kNV; ++v) Vec::store(d + v * kLanes, Vec::load(s + v * kLanes));
      }
      return;
    }
    for (int p = 0; p < kc; ++p) {
      const float* s = src + p * g.ldb;
      float* d = dst + static_cast<long>(p) * width;
      int j = 0;
      for (; j < cols; ++j) d[j] = s[j];
      for (; j < width; ++j) d[j] = 0.0f;
    }
  } else {
    // B stored N×K: column j of op(B) is row j of B, contiguous over p.
    const float* src = g.b + static_cast<long>(j0) * g.ldb + p0;
    int j = 0;
    // lanes columns × lanes depths at a time: lanes row loads, one register transpose, lanes
    // row stores (the scalar element copy below was ~20 % of an FC layer's forward, x·Wᵀ).
    for (; j + kLanes <= cols; j += kLanes) {
      const float* s = src + static_cast<long>(j) * g.ldb;
      int p = 0;
      for (; p + kLanes <= kc; p += kLanes) {
        typename Vec::reg r[kLanes];
#pragma GCC unroll 16
        for (int t = 0; t < kLanes; ++t) r[t] = Vec::load(s + t * g.ldb + p);
        Vec::transpose(r);
#pragma GCC unroll 16
        for (int q = 0; q < kLanes; ++q) Vec::store(dst + static_cast<long>(p + q) * width + j, r[q]);
      }
      for (; p < kc; ++p)
        for (int t = 0; t < kLanes; ++t) dst[static_cast<long>(p) * width + j + t] = s[t * g.ldb + p];
    }
    constexpr int kStrip = 8;  // a few source rows at once keeps the strided writes in L1
    for (; j + kStrip <= cols; j += kStrip) {
      const float* s = src + static_cast<long>(j) * g.ldb;
      for (int p = 0; p < kc; ++p) {
        float* d = dst + static_cast<long>(p) * width + j;
#pragma GCC unroll 8
        for (int t = 0; t < kStrip; ++t) d[t] = s[t * g.ldb + p];
      }
    }
    for (; j < cols; ++j) {
      const float* s = src + static_cast<long>(j) * g.ldb;
      for (int p = 0; p < kc; ++p) dst[static_cast<long>(p) * width + j] = s[p];
    }
    if (cols < width)
      for (int p = 0; p < kc; ++p)
        for (int jj = cols; jj < width; ++jj) dst[static_cast<long>(p) * width + jj] = 0.0f;
  }
}

inline int vectors_for(int cols) { return (cols + kLanes - 1) / kLanes; }

// Whole KC×NC block into consecutive NR-wide micro-panels (panel jr at offset jr·kc).
// Untransposed B is read row by row across the block: long contiguous reads that the hardware
// prefetcher follows, instead of kc short rows in kc different pages per panel.
inline void pack_b_block(const GemmArgs& g, int p0, int kc, int j0, int nc, float* __restrict dst) {
  if (g.trans_b) {
    for (int jr = 0; jr < nc; jr += kNR) {
      const int cols = std::min(kNR, nc - jr);
      pack_b_panel(g, p0, kc, j0 + jr, cols, vectors_for(cols) * kLanes, dst + static_cast<long>(jr) * kc);
    }
    return;
  }
  const int full = (nc / kNR) * kNR;
  for (int p = 0; p < kc; ++p) {
    const float* s = g.b + static_cast<long>(p0 + p) * g.ldb + j0;
    for (int jr = 0; jr < full; jr += kNR) {
      float* d = dst + static_cast<long>(jr) * kc + static_cast<long>(p) * kNR;
#pragma GCC unroll 8
      for (int v = 0; v < kNV; ++v) Vec::store(d + v * kLanes, Vec::load(s + jr + v * kLanes));
    }
  }
  if (full < nc) {
    const int cols = nc - full;
    pack_b_panel(g, p0, kc, j0 + full, cols, vectors_for(cols) * kLanes, dst + static_cast<long>(full) * kc);
  }
}

// ---------------------------------------------------------------------------------------------
// Per-thread packing buffers, reused across calls (no allocation once warm).
struct PackBuffer {
  float* data = nullptr;
  long capacity = 0;
  ~PackBuffer() { std::free(data); }
  float* get(long floats) {
    if (floats > capacity) {
      std::free(data);
      long bytes = ((floats * static_cast<long>(sizeof(float)) + 63) / 64) * 64;
      data = static_cast<float*>(std::aligned_alloc(64, bytes));
      capacity = data ? floats : 0;
    }
    return data;
  }
};
struct ThreadBuffers {
  PackBuffer a, b;
};
inline ThreadBuffers& thread_buffers() {
  static thread_local ThreadBuffers buffers;
  return buffers;
}

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
