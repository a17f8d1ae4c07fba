// GotoBLAS/BLIS-style SGEMM body, written once and instantiated per ISA.
//
// Internal header: a per-ISA translation unit (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp)
// first defines, inside namespace sepnet::kernels::SEPNET_GEMM_NS,
//   struct Vec { using reg; static constexpr int lanes; zero/load/store/bcast/fma/mul/add },
//   constexpr int kMR (rows of the register block) and kNV (vectors per row, NR = kNV·lanes),
// then includes this file. Everything here lives in that per-ISA namespace, so no symbol is
// shared between TUs compiled with different -m flags (an AVX-512 copy can never be picked
// by the linker for the scalar path).
//
// Structure (row-major C[M×N] += A[M×K]·B[K×N]):
//   jc over N by NC  →  pc over K by KC  →  pack B block (KC×NC, NR-wide micro-panels)
//     →  ic over M by MC  →  pack A block (MC×KC, MR-tall micro-panels)
//       →  ir over MR (A micro-panel stays in L1)  →  jr over NR (B streams from L2).
// Edges: kernels are instantiated for every row count 1..MR and every vector count 1..NV,
// so an M tail runs an exactly-sized register block and an N tail only pads to a whole
// vector (zero-padded packing; the partial last vector is written through a small buffer).
// Transposes are absorbed by the packing routines.
//
// Skinny problems ("sup" path): when B is not transposed and the M range is at most a few
// micro-panels, each B element is used by very few FMAs, so copying B into a packed buffer
// would cost about as much as the multiply. Then the kernel reads B in place (row stride
// ldb), the loop order becomes jr outer / ir inner (the B micro-panel stays in L1 while the
// few A micro-panels pass over it), and only a ragged last column block is packed.
#include <omp.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <utility>

#include "kernels/cache_info.h"
#include "kernels/parallel.h"

#ifndef SEPNET_GEMM_NS
#error "define SEPNET_GEMM_NS (and Vec, kMR, kNV in it) before including kernels/gemm_impl.h"
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
};

// ---------------------------------------------------------------------------------------------
// Micro-kernel: C[MRV × nr] (+)= alpha · Apanel[MRV × kc] · B[kc × NV·lanes].
// a: packed, MRV floats per k step. b: NV·lanes valid floats per k step, rows rs_b apart
// (packed panel or B itself). beta is applied to C once (0 → C is not read).
template <int MRV, int NV>
void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, long rs_b,
                  float* __restrict c, long ldc, int nr, float alpha, float beta) {
  using R = typename Vec::reg;
  // The C tile is touched only after the k loop: start fetching its lines now so the update
  // does not stall on misses (C is the one operand not kept in cache by the packing).
#pragma GCC unroll 16
  for (int i = 0; i < MRV; ++i) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NV * kLanes - 1, 1, 3);
  }
  R acc[MRV][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MRV; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = Vec::zero();

#pragma GCC unroll 2
  for (int p = 0; p < kc; ++p) {
    R bv[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = Vec::load(b + v * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < MRV; ++i) {
      const R ai = Vec::bcast(a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = Vec::fma(ai, bv[v], acc[i][v]);
    }
    a += MRV;
    b += rs_b;
  }

  const R valpha = Vec::bcast(alpha);
  if (nr == NV * kLanes) {
    if (beta == 0.0f) {
#pragma GCC unroll 16
      for (int i = 0; i < MRV; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) Vec::store(c + i * ldc + v * kLanes, Vec::mul(acc[i][v], valpha));
    } else if (beta == 1.0f) {
#pragma GCC unroll 16
      for (int i = 0; i < MRV; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          float* cp = c + i * ldc + v * kLanes;
          Vec::store(cp, Vec::fma(acc[i][v], valpha, Vec::load(cp)));
        }
    } else {
      const R vbeta = Vec::bcast(beta);
#pragma GCC unroll 16
      for (int i = 0; i < MRV; ++i)
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          float* cp = c + i * ldc + v * kLanes;
          Vec::store(cp, Vec::fma(acc[i][v], valpha, Vec::mul(Vec::load(cp), vbeta)));
        }
    }
  } else {
    // Ragged right edge: spill the row to a buffer and copy only the nr valid columns.
    alignas(64) float row[NV * kLanes];
#pragma GCC unroll 16
    for (int i = 0; i < MRV; ++i) {
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) Vec::store(row + v * kLanes, Vec::mul(acc[i][v], valpha));
      float* cp = c + i * ldc;
      if (beta == 0.0f) {
        for (int j = 0; j < nr; ++j) cp[j] = row[j];
      } else {
        for (int j = 0; j < nr; ++j) cp[j] = row[j] + beta * cp[j];
      }
    }
  }
}

using MicroKernel = void (*)(int, const float*, const float*, long, float*, long, int, float, float);

template <int MRV, int... NVs>
constexpr void fill_kernel_row(MicroKernel* row, std::integer_sequence<int, NVs...>) {
  ((row[NVs] = &micro_kernel<MRV, NVs + 1>), ...);
}
template <int... MRVs>
constexpr void fill_kernel_table(MicroKernel (*table)[kNV], std::integer_sequence<int, MRVs...>) {
  ((fill_kernel_row<MRVs + 1>(table[MRVs], std::make_integer_sequence<int, kNV>{})), ...);
}
struct KernelTable {
  MicroKernel k[kMR][kNV];
  constexpr KernelTable() : k{} { fill_kernel_table(k, std::make_integer_sequence<int, kMR>{}); }
  // rows in 1..kMR, vectors in 1..kNV
  MicroKernel get(int rows, int vectors) const { return k[rows - 1][vectors - 1]; }
};
inline constexpr KernelTable kKernels{};

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
      for (int p = 0; p < kc; ++p) {
        const float* s = src + p * g.lda;
        for (int i = 0; i < rows; ++i) dst[p * rows + i] = s[i];
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
    constexpr int kStrip = 8;  // a few source rows at once keeps the strided writes in L1
    int j = 0;
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

// ---------------------------------------------------------------------------------------------
// Serial driver on the sub-problem rows [m0, m1) × columns [n0, n1) of C.
inline void gemm_block_packed(const GemmArgs& g, const Blocking& bl, int m0, int m1, int n0,
                              int n1) {
  ThreadBuffers& buf = thread_buffers();
  const int m = m1 - m0, n = n1 - n0;
  const int kc_max = std::min(bl.kc, g.k);
  const int nc_max = std::min(bl.nc, ((n + kNR - 1) / kNR) * kNR);
  const int mc_max = std::min(bl.mc, m);
  float* bp = buf.b.get(static_cast<long>(kc_max) * nc_max);
  float* ap = buf.a.get(static_cast<long>(kc_max) * mc_max);

  for (int jc = n0; jc < n1; jc += bl.nc) {
    const int nc = std::min(bl.nc, n1 - jc);
    for (int pc = 0; pc < g.k; pc += bl.kc) {
      const int kc = std::min(bl.kc, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      pack_b_block(g, pc, kc, jc, nc, bp);
      for (int ic = m0; ic < m1; ic += bl.mc) {
        const int mc = std::min(bl.mc, m1 - ic);
        pack_a(g, ic, mc, pc, kc, ap);
        if (bl.b_panel_in_l1) {
          for (int jr = 0; jr < nc; jr += kNR) {
            const int cols = std::min(kNR, nc - jr);
            const int vecs = vectors_for(cols);
            const float* b_panel = bp + static_cast<long>(jr) * kc;
            for (int ir = 0; ir < mc; ir += kMR) {
              const int rows = std::min(kMR, mc - ir);
              kKernels.get(rows, vecs)(kc, ap + static_cast<long>(ir) * kc, b_panel, vecs * kLanes,
                                       g.c + static_cast<long>(ic + ir) * g.ldc + jc + jr, g.ldc,
                                       cols, g.alpha, beta);
            }
          }
        } else {
          for (int ir = 0; ir < mc; ir += kMR) {
            const int rows = std::min(kMR, mc - ir);
            const float* a_panel = ap + static_cast<long>(ir) * kc;
            float* c_row = g.c + static_cast<long>(ic + ir) * g.ldc + jc;
            for (int jr = 0; jr < nc; jr += kNR) {
              const int cols = std::min(kNR, nc - jr);
              const int vecs = vectors_for(cols);
              kKernels.get(rows, vecs)(kc, a_panel, bp + static_cast<long>(jr) * kc, vecs * kLanes,
                                       c_row + jr, g.ldc, cols, g.alpha, beta);
            }
          }
        }
      }
    }
  }
}

// "sup" driver: B read in place; requires !trans_b. A range packed whole per KC step.
inline void gemm_block_direct_b(const GemmArgs& g, const Blocking& bl, int m0, int m1, int n0,
                                int n1) {
  ThreadBuffers& buf = thread_buffers();
  const int m = m1 - m0;
  const int kc_max = std::min(bl.kc, g.k);
  float* ap = buf.a.get(static_cast<long>(kc_max) * m);
  float* bt = buf.b.get(static_cast<long>(kc_max) * kNR);

  for (int jc = n0; jc < n1; jc += bl.nc) {
    const int nc = std::min(bl.nc, n1 - jc);
    for (int pc = 0; pc < g.k; pc += bl.kc) {
      const int kc = std::min(bl.kc, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      if (jc == n0) pack_a(g, m0, m, pc, kc, ap);  // A range fits: re-pack only when K is split
      else if (g.k > bl.kc) pack_a(g, m0, m, pc, kc, ap);
      for (int jr = 0; jr < nc; jr += kNR) {
        const int cols = std::min(kNR, nc - jr);
        const int vecs = vectors_for(cols);
        const float* b_panel;
        long rs_b;
        if (cols == vecs * kLanes) {
          b_panel = g.b + static_cast<long>(pc) * g.ldb + jc + jr;
          rs_b = g.ldb;
        } else {
          // A partial last vector would read past the row: pack just this ragged panel.
          pack_b_panel(g, pc, kc, jc + jr, cols, vecs * kLanes, bt);
          b_panel = bt;
          rs_b = vecs * kLanes;
        }
        for (int ir = 0; ir < m; ir += kMR) {
          const int rows = std::min(kMR, m - ir);
          kKernels.get(rows, vecs)(kc, ap + static_cast<long>(ir) * kc, b_panel, rs_b,
                                   g.c + static_cast<long>(m0 + ir) * g.ldc + jc + jr, g.ldc, cols,
                                   g.alpha, beta);
        }
      }
    }
  }
}

inline const Blocking& blocking() {
  static const Blocking bl = [] {
    const CacheSizes& cs = cache_sizes();
    Blocking b{};
    // KC: an A micro-panel (MR×KC) plus a couple of B micro-panels (KC×NR) in half of L1 would
    // force a tiny KC for wide NR; instead keep the A micro-panel well inside L1 and let B
    // micro-panels stream from L2, with KC long enough to amortise the C tile update.
    b.kc = 256;
    // NC: the packed B block (KC×NC) takes about half of L2.
    long nc = (cs.l2 / 2) / (static_cast<long>(b.kc) * sizeof(float));
    nc = std::max<long>(kNR, (nc / kNR) * kNR);
    b.nc = static_cast<int>(std::min<long>(nc, 4096));
    // MC: the A block is walked one micro-panel at a time, so MC only bounds the buffer and how
    // often the B block is re-read from L2; keep the A block within L2 alongside B.
    long mc = (cs.l2 / 4) / (static_cast<long>(b.kc) * sizeof(float));
    mc = std::max<long>(kMR, (mc / kMR) * kMR);
    b.mc = static_cast<int>(std::min<long>(mc, 40 * kMR));
    b.direct_b_max_m = 4 * kMR;
    b.b_panel_in_l1 = static_cast<long>(b.kc) * kNR * sizeof(float) <= cs.l1d / 2;
    if (const char* t = std::getenv("SEPNET_GEMM_TUNE")) {  // TEMP tuning hook
      int o = 0;
      std::sscanf(t, "%d,%d,%d,%d,%d", &b.kc, &b.nc, &b.mc, &b.direct_b_max_m, &o);
      b.b_panel_in_l1 = o != 0;
    }
    return b;
  }();
  return bl;
}

inline void gemm_range(const GemmArgs& g, const Blocking& bl, int m0, int m1, int n0, int n1) {
  if (m1 <= m0 || n1 <= n0) return;
  if (!g.trans_b && m1 - m0 <= bl.direct_b_max_m)
    gemm_block_direct_b(g, bl, m0, m1, n0, n1);
  else
    gemm_block_packed(g, bl, m0, m1, n0, n1);
}

// Below this many flops per thread the fork/join costs more than it saves.
constexpr long kMinFlopsPerThread = 2L << 20;

inline void sgemm_entry(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                        const float* a, int lda, const float* b, int ldb, float beta, float* c,
                        int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0 || alpha == 0.0f) {
    for (int i = 0; i < m; ++i) {
      float* row = c + static_cast<long>(i) * ldc;
      if (beta == 0.0f) std::fill(row, row + n, 0.0f);
      else if (beta != 1.0f)
        for (int j = 0; j < n; ++j) row[j] *= beta;
    }
    return;
  }
  const GemmArgs g{trans_a, trans_b, k, alpha, a, lda, b, ldb, beta, c, ldc};
  const Blocking& bl = blocking();
  const long flops = 2L * m * n * k;
  int threads = threads_for(flops, kMinFlopsPerThread);
  const int n_panels = (n + kNR - 1) / kNR;
  const int m_panels = (m + kMR - 1) / kMR;
  // Split the larger panel count so each thread gets whole micro-panels; every element of C is
  // computed by exactly one thread in a fixed order, so results do not depend on scheduling.
  const bool split_n = n_panels >= m_panels || n_panels >= 4 * threads;
  const int panels = split_n ? n_panels : m_panels;
  threads = std::min(threads, panels);
  if (threads <= 1) {
    gemm_range(g, bl, 0, m, 0, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int first = static_cast<int>(static_cast<long>(panels) * t / nt);
    const int last = static_cast<int>(static_cast<long>(panels) * (t + 1) / nt);
    if (split_n)
      gemm_range(g, bl, 0, m, first * kNR, std::min(n, last * kNR));
    else
      gemm_range(g, bl, first * kMR, std::min(m, last * kMR), 0, n);
  }
}

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
