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
#include <utility>
#include <vector>

#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/with_count.h"

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
  long dot_max_outputs;  // "dot" path for A·Bᵀ with at most this many elements of C
};

// ---------------------------------------------------------------------------------------------
// Micro-kernel: C[MRV × nr] (+)= alpha · Apanel[MRV × kc] · B[kc × NV·lanes].
// a: packed, MRV floats per k step. b: NV·lanes valid floats per k step, rows rs_b apart
// (packed panel or B itself). beta is applied to C once (0 → C is not read).
// kPrefetchNextB: B is read in place (rows rs_b apart, each a different stream): prefetch the
// same rows of the next micro-panel, one NR-wide row segment per k step, so the next call
// finds them in L1 instead of missing once per row.
// kDirectA: A is read in place, row-major with row stride lda (A[i][p] = a[i·lda + p]) instead
// of a packed panel — the "direct-A" path for small N, where packing A costs a large share of
// the multiply (each A element is used only N times).
template <int MRV, int NV, bool kPrefetchNextB, bool kDirectA = false>
void micro_kernel(int kc, const float* __restrict a, const float* __restrict b, long rs_b,
                  float* __restrict c, long ldc, int nr, float alpha, float beta, long lda) {
  using R = typename Vec::reg;
  // The C tile is touched only after the k loop: start fetching its lines now so the update
  // does not stall on misses (C is the one operand not kept in cache by the packing).
  // (With a very short K the stores follow immediately and the prefetches only add work.)
  if (kc >= 32) {
#pragma GCC unroll 16
    for (int i = 0; i < MRV; ++i) {
      __builtin_prefetch(c + i * ldc, 1, 3);
      __builtin_prefetch(c + i * ldc + NV * kLanes - 1, 1, 3);
    }
  }
  R acc[MRV][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MRV; ++i)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[i][v] = Vec::zero();

#pragma GCC unroll 2
  for (int p = 0; p < kc; ++p) {
    R bv[NV];
    if constexpr (kPrefetchNextB) {
#pragma GCC unroll 8
      for (int line = 0; line < NV * kLanes; line += 16) __builtin_prefetch(b + NV * kLanes + line, 0, 3);
    }
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) bv[v] = Vec::load(b + v * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < MRV; ++i) {
      const R ai = Vec::bcast(kDirectA ? a[i * lda] : a[i]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = Vec::fma(ai, bv[v], acc[i][v]);
    }
    a += kDirectA ? 1 : MRV;
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

using MicroKernel = void (*)(int, const float*, const float*, long, float*, long, int, float, float,
                             long);

template <bool kPf, bool kDirectA, int MRV, int... NVs>
constexpr void fill_kernel_row(MicroKernel* row, std::integer_sequence<int, NVs...>) {
  ((row[NVs] = &micro_kernel<MRV, NVs + 1, kPf, kDirectA>), ...);
}
template <bool kPf, bool kDirectA, int... MRVs>
constexpr void fill_kernel_table(MicroKernel (*table)[kNV], std::integer_sequence<int, MRVs...>) {
  ((fill_kernel_row<kPf, kDirectA, MRVs + 1>(table[MRVs], std::make_integer_sequence<int, kNV>{})), ...);
}
template <bool kPf, bool kDirectA = false>
struct KernelTable {
  MicroKernel k[kMR][kNV];
  constexpr KernelTable() : k{} {
    fill_kernel_table<kPf, kDirectA>(k, std::make_integer_sequence<int, kMR>{});
  }
  // rows in 1..kMR, vectors in 1..kNV
  MicroKernel get(int rows, int vectors) const { return k[rows - 1][vectors - 1]; }
};
inline constexpr KernelTable<false> kKernels{};
inline constexpr KernelTable<true> kKernelsPrefetchB{};
inline constexpr KernelTable<false, true> kKernelsDirectA{};

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

// ---------------------------------------------------------------------------------------------
// Serial driver on the sub-problem rows [m0, m1) × columns [n0, n1) of C.
// direct_a: A is read in place (requires !trans_a) instead of packed — the "direct-A" path for
// small N, where each A element is used only N times and packing it costs a large share of the
// multiply (FC layers, MobileNet's 14×14 / 7×7 pointwise layers).
inline void gemm_block_packed(const GemmArgs& g, const Blocking& bl, int m0, int m1, int n0,
                              int n1, bool direct_a = false) {
  ThreadBuffers& buf = thread_buffers();
  const int m = m1 - m0, n = n1 - n0;
  const int kc_max = std::min(bl.kc, g.k);
  const int nc_max = std::min(bl.nc, ((n + kNR - 1) / kNR) * kNR);
  const int mc_max = std::min(bl.mc, m);
  float* bp = buf.b.get(static_cast<long>(kc_max) * nc_max);
  float* ap = direct_a ? nullptr : buf.a.get(static_cast<long>(kc_max) * mc_max);
  auto kernel_for = [direct_a](int rows, int vecs) {
    return direct_a ? kKernelsDirectA.get(rows, vecs) : kKernels.get(rows, vecs);
  };
  const long a_stride = direct_a ? g.lda : 0;  // the micro-kernel's A row stride (0: packed)

  for (int jc = n0; jc < n1; jc += bl.nc) {
    const int nc = std::min(bl.nc, n1 - jc);
    for (int pc = 0; pc < g.k; pc += bl.kc) {
      const int kc = std::min(bl.kc, g.k - pc);
      const float beta = pc == 0 ? g.beta : 1.0f;
      pack_b_block(g, pc, kc, jc, nc, bp);
      for (int ic = m0; ic < m1; ic += bl.mc) {
        const int mc = std::min(bl.mc, m1 - ic);
        if (!direct_a) pack_a(g, ic, mc, pc, kc, ap);
        // A micro-panel of rows [ic + ir, ...): packed, or A itself at column pc.
        auto a_panel_at = [&](int ir) {
          return direct_a ? g.a + static_cast<long>(ic + ir) * g.lda + pc
                          : ap + static_cast<long>(ir) * kc;
        };
        // Short K with a C block too big to stay cached: sweep the (L2-resident) B block whole
        // per A micro-panel, so C is written as MR sequential row streams the prefetcher can
        // follow, instead of MC rows advancing one tile at a time (stalls on C misses).
        const long l2 = cache_sizes().l2;
        const bool c_streams = static_cast<long>(kc) * nc * 4 <= l2 / 2 &&
                               static_cast<long>(mc) * nc * 4 > l2 / 4;
        const bool b_panel_outer = bl.b_panel_in_l1 && !c_streams;
        if (b_panel_outer) {
          for (int jr = 0; jr < nc; jr += kNR) {
            const int cols = std::min(kNR, nc - jr);
            const int vecs = vectors_for(cols);
            const float* b_panel = bp + static_cast<long>(jr) * kc;
            for (int ir = 0; ir < mc; ir += kMR) {
              const int rows = std::min(kMR, mc - ir);
              kernel_for(rows, vecs)(kc, a_panel_at(ir), b_panel, vecs * kLanes,
                                     g.c + static_cast<long>(ic + ir) * g.ldc + jc + jr, g.ldc,
                                     cols, g.alpha, beta, a_stride);
            }
          }
        } else {
          for (int ir = 0; ir < mc; ir += kMR) {
            const int rows = std::min(kMR, mc - ir);
            const float* a_panel = a_panel_at(ir);
            float* c_row = g.c + static_cast<long>(ic + ir) * g.ldc + jc;
            for (int jr = 0; jr < nc; jr += kNR) {
              const int cols = std::min(kNR, nc - jr);
              const int vecs = vectors_for(cols);
              kernel_for(rows, vecs)(kc, a_panel, bp + static_cast<long>(jr) * kc, vecs * kLanes,
                                     c_row + jr, g.ldc, cols, g.alpha, beta, a_stride);
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
        // Prefetch the next panel only while it is a full one read in place.
        const bool next_in_place = b_panel != bt && jr + 2 * kNR <= nc;
        for (int ir = 0; ir < m; ir += kMR) {
          const int rows = std::min(kMR, m - ir);
          const MicroKernel kernel = next_in_place && ir == 0 ? kKernelsPrefetchB.get(rows, vecs)
                                                              : kKernels.get(rows, vecs);
          kernel(kc, ap + static_cast<long>(ir) * kc, b_panel, rs_b,
                                   g.c + static_cast<long>(m0 + ir) * g.ldc + jc + jr, g.ldc, cols,
                                   g.alpha, beta, 0);
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// "dot" path for C = A·Bᵀ with few outputs and a long K (weight gradients of small layers:
// 6×25×576, 16×150×4096, FC3 10-wide outputs). Both A rows and B rows are contiguous along K,
// so nothing needs packing: an MB×NB block of C is kept as MB·NB vector accumulators that run
// along K, and reduced horizontally once at the end. K is processed in chunks so the A and B
// chunks stay in L2 while all blocks pass over them; partial sums live in a small per-thread
// buffer between chunks. The K tail (< one vector) is run through zero-padded copies.
constexpr int kDotMB = kLanes >= 16 ? 4 : 3;  // 16 vector registers on AVX2: 12 acc + 3 A + 1 B
constexpr int kDotNB = 4;

template <int MB, int NB>
void dot_block(int vectors, const float* a, long lda, const float* b, long ldb, float* partial,
               long partial_ld, bool first) {
  using R = typename Vec::reg;
  R acc[MB][NB];
#pragma GCC unroll 8
  for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j)
      acc[i][j] = first ? Vec::zero() : Vec::load(partial + i * partial_ld + j * kLanes);
  for (int v = 0; v < vectors; ++v) {
    R av[MB];
#pragma GCC unroll 8
    for (int i = 0; i < MB; ++i) av[i] = Vec::load(a + i * lda + v * kLanes);
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) {
      const R bv = Vec::load(b + j * ldb + v * kLanes);
#pragma GCC unroll 8
      for (int i = 0; i < MB; ++i) acc[i][j] = Vec::fma(av[i], bv, acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < MB; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < NB; ++j) Vec::store(partial + i * partial_ld + j * kLanes, acc[i][j]);
}

using DotBlock = void (*)(int, const float*, long, const float*, long, float*, long, bool);
template <int MB, int... NBs>
constexpr void fill_dot_row(DotBlock* row, std::integer_sequence<int, NBs...>) {
  ((row[NBs] = &dot_block<MB, NBs + 1>), ...);
}
template <int... MBs>
constexpr void fill_dot_table(DotBlock (*table)[kDotNB], std::integer_sequence<int, MBs...>) {
  ((fill_dot_row<MBs + 1>(table[MBs], std::make_integer_sequence<int, kDotNB>{})), ...);
}
struct DotTable {
  DotBlock k[kDotMB][kDotNB];
  constexpr DotTable() : k{} { fill_dot_table(k, std::make_integer_sequence<int, kDotMB>{}); }
  DotBlock get(int rows, int cols) const { return k[rows - 1][cols - 1]; }
};
inline constexpr DotTable kDotBlocks{};

// All blocks of the m×n output over `vectors` vectors of K; a, b point at the first row's
// first column of this pass.
inline void dot_pass(const float* a, long lda, const float* b, long ldb, int m, int n, int vectors,
                     float* partial, bool first) {
  const long ld = static_cast<long>(n) * kLanes;
  for (int i = 0; i < m; i += kDotMB) {
    const int rows = std::min(kDotMB, m - i);
    for (int j = 0; j < n; j += kDotNB) {
      const int cols = std::min(kDotNB, n - j);
      kDotBlocks.get(rows, cols)(vectors, a + i * lda, lda, b + j * ldb, ldb,
                                 partial + i * ld + static_cast<long>(j) * kLanes, ld, first);
    }
  }
}

// Adds A·Bᵀ (m×n over k; rows lda / ldb apart) to the per-output lane partials (set instead
// when `first`, which is then cleared). K is processed in chunks whose A and B rows take about
// half of L2; the K tail (< one vector) goes through zero-padded copies (no reads past a row).
inline void dot_accumulate(const float* a, long lda, const float* b, long ldb, int m, int n, int k,
                           float* partial, bool& first) {
  const int full_vectors = k / kLanes, tail = k - full_vectors * kLanes;
  const int chunk_vectors = static_cast<int>(std::max<long>(
      1, cache_sizes().l2 / 2 / (static_cast<long>(m + n) * kLanes * sizeof(float))));
  for (int v0 = 0; v0 < full_vectors; v0 += chunk_vectors) {
    const long p0 = static_cast<long>(v0) * kLanes;
    dot_pass(a + p0, lda, b + p0, ldb, m, n, std::min(chunk_vectors, full_vectors - v0), partial, first);
    first = false;
  }
  if (tail > 0) {
    float* tails = thread_buffers().a.get(static_cast<long>(m + n) * kLanes);
    const long p0 = static_cast<long>(full_vectors) * kLanes;
    for (int r = 0; r < m + n; ++r) {
      const float* src = r < m ? a + r * lda + p0 : b + (r - m) * ldb + p0;
      float* dst = tails + static_cast<long>(r) * kLanes;
      for (int t = 0; t < kLanes; ++t) dst[t] = t < tail ? src[t] : 0.0f;
    }
    dot_pass(tails, kLanes, tails + static_cast<long>(m) * kLanes, kLanes, m, n, 1, partial, first);
    first = false;
  }
}

// C = alpha · (lane sums of the partials) + beta · C (beta = 0: C is not read).
inline void dot_reduce(const float* partial, int m, int n, float alpha, float beta, float* c, long ldc) {
  const long ld = static_cast<long>(n) * kLanes;
  for (int i = 0; i < m; ++i) {
    float* crow = c + i * ldc;
    const float* prow = partial + i * ld;
    for (int j = 0; j < n; ++j) {
      const float* lanes = prow + static_cast<long>(j) * kLanes;
      float sum = 0.0f;
      for (int t = 0; t < kLanes; ++t) sum += lanes[t];
      crow[j] = beta == 0.0f ? alpha * sum : alpha * sum + beta * crow[j];
    }
  }
}

inline void gemm_dot(const GemmArgs& g, const Blocking&, int m0, int m1, int n0, int n1) {
  const int m = m1 - m0, n = n1 - n0;
  float* partial = thread_buffers().b.get(static_cast<long>(m) * n * kLanes);
  bool first = true;
  dot_accumulate(g.a + m0 * g.lda, g.lda, g.b + n0 * g.ldb, g.ldb, m, n, g.k, partial, first);
  dot_reduce(partial, m, n, g.alpha, g.beta, g.c + static_cast<long>(m0) * g.ldc + n0, g.ldc);
}

// C += Σ_{i < count} A_i·B_iᵀ (A_i = a + i·a_step, m×k rows lda apart; B_i likewise n×k), on
// the calling thread: the dot path's accumulators carried across the whole sum, so a batch of
// small products (a pointwise layer's weight gradient: one Cout×Cin product per image over its
// H·W pixels) is reduced horizontally once instead of once per image, with no call per image.
inline void abt_sum_entry(int m, int n, int k, int count, const float* a, long lda, long a_step,
                          const float* b, long ldb, long b_step, float* c, long ldc) {
  if (m <= 0 || n <= 0 || k <= 0 || count <= 0) return;
  float* partial = thread_buffers().b.get(static_cast<long>(m) * n * kLanes);
  bool first = true;
  for (int i = 0; i < count; ++i)
    dot_accumulate(a + i * a_step, lda, b + i * b_step, ldb, m, n, k, partial, first);
  dot_reduce(partial, m, n, 1.0f, 1.0f, c, ldc);
}

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

// ---- tall-skinny: C[M×N] = alpha·A[M×K]·op(B) + beta·C, N and K ≤ 64, M large -----------------
// The 1×1 convolutions of narrow MobileNets (α 0.25: 8…64 channels over 10⁵ pixels) and their
// input gradients. Each A element feeds only N FMAs and each C row is N floats, so packing A
// or B panels, 64-wide micro-tiles (N = 8 used 8 of 64 columns) and edge buffers cost more
// than the multiply. Here op(B)·alpha is copied once into a K × NV·lanes buffer (zero-padded
// columns, 16 KiB at most, L1-resident), and register tiles of R rows × NV vectors walk A's
// rows in place: per k, NV vector loads of B and one broadcast of A per row. Measured beside
// the packed paths, one thread (docs/gemm.md): 131072×8×16 930 → ~290 µs, 32768×32×32
// 540 → ~290 µs.
constexpr int kSkinnyMaxK = 64;
constexpr int kSkinnyMaxNV = 4;  // vectors per row of C: N ≤ 64 (AVX-512), N ≤ 32 (AVX2)
constexpr int kSkinnyMaxN = kSkinnyMaxNV * kLanes;

// Rows per register tile for NV vectors: R·NV accumulators + NV B vectors + 1 broadcast fit the
// register file (32 zmm / 16 ymm).
constexpr int skinny_rows(int nv) {
  if (kLanes >= 16) return nv <= 2 ? 8 : 6;
  return nv == 1 ? 8 : nv == 2 ? 6 : nv == 3 ? 4 : 2;
}

template <int R, int NV>
inline void skinny_tile(const float* a, long lda, int k, const float* bp, float beta, float* c, long ldc,
                        int n) {
  typename Vec::reg acc[R][NV];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = Vec::zero();
  for (int p = 0; p < k; ++p) {
    typename Vec::reg bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = Vec::load(bp + static_cast<long>(p) * NV * kLanes + j * kLanes);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const typename Vec::reg av = Vec::bcast(a[i * lda + p]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = Vec::fma(av, bv[j], acc[i][j]);
    }
  }
  const bool ragged = n < NV * kLanes;  // the last vector has columns past N
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i) {
    float* row = c + i * ldc;
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) {
      const int col = j * kLanes;
      if (ragged && j == NV - 1) {
        alignas(64) float t[kLanes];
        Vec::store(t, acc[i][j]);
        const int w = n - col;
        if (beta == 0.0f)
          for (int q = 0; q < w; ++q) row[col + q] = t[q];
        else
          for (int q = 0; q < w; ++q) row[col + q] = t[q] + beta * row[col + q];
        continue;
      }
      if (beta == 0.0f) Vec::store(row + col, acc[i][j]);
      else if (beta == 1.0f) Vec::store(row + col, Vec::add(Vec::load(row + col), acc[i][j]));
      else Vec::store(row + col, Vec::fma(Vec::bcast(beta), Vec::load(row + col), acc[i][j]));
    }
  }
}

template <int NV>
void skinny_rows_range(const GemmArgs& g, const float* bp, int n, int m0, int m1) {
  constexpr int R = skinny_rows(NV);
  int i = m0;
  for (; i + R <= m1; i += R)
    skinny_tile<R, NV>(g.a + i * g.lda, g.lda, g.k, bp, g.beta, g.c + i * g.ldc, g.ldc, n);
  // The last rows: one tile of the exact remaining height.
  with_count<R - 1>(m1 - i, [&]<int Q>() {
    skinny_tile<Q, NV>(g.a + i * g.lda, g.lda, g.k, bp, g.beta, g.c + i * g.ldc, g.ldc, n);
  });
}

inline bool skinny_fits(bool trans_a, int m, int n, int k) {
  return kLanes >= 8 && !trans_a && n <= kSkinnyMaxN && k <= kSkinnyMaxK && m >= 64;
}

// Rows [m0, m1) of the whole C (every column).
inline void gemm_skinny(const GemmArgs& g, int n, int m0, int m1) {
  const int nv = (n + kLanes - 1) / kLanes;
  alignas(64) float bp[kSkinnyMaxK * kSkinnyMaxN];
  const long row = static_cast<long>(nv) * kLanes;
  for (int p = 0; p < g.k; ++p)
    for (long j = 0; j < row; ++j) {
      const float v = j >= n ? 0.0f : g.trans_b ? g.b[j * g.ldb + p] : g.b[p * g.ldb + j];
      bp[p * row + j] = g.alpha * v;
    }
  with_count<kSkinnyMaxNV>(nv, [&]<int NV>() { skinny_rows_range<NV>(g, bp, n, m0, m1); });
}

// ---- tall-skinny reduction: C[M×N] = alpha·Aᵀ·B + beta·C, A K×M, B K×N, M and N ≤ 64, K large ----
// The weight gradient of those 1×1 convolutions (Xᵀ·dY over every pixel). The packed path
// packs both K-long operands and runs 64-wide tiles over M ≤ 64 rows; here K is walked once in
// chunks of kReduceChunk rows: per chunk each block of R rows of C keeps R × NV accumulators
// in registers and reads, per k, NV vectors of B and R broadcasts of A. A chunk of B is reused
// from L1 by every row block; a ragged N (not a whole number of vectors) copies the chunk into
// a zero-padded buffer first so no load runs past a row. Threads take contiguous ranges of
// chunks into private partial sums, added in thread order: deterministic for a thread count.
constexpr int kReduceChunk = 128;

constexpr int reduce_rows(int nv) {
  if (kLanes >= 16) return nv == 1 ? 16 : nv == 2 ? 12 : nv == 3 ? 8 : 6;
  return nv == 1 ? 12 : nv == 2 ? 6 : nv == 3 ? 4 : 2;
}

inline bool skinny_reduce_fits(bool trans_a, bool trans_b, int m, int n, int k) {
  return kLanes >= 8 && trans_a && !trans_b && m <= 64 && n <= kSkinnyMaxN && k >= 512;
}

// Either tall-skinny path takes this product.
inline bool tall_skinny(bool trans_a, bool trans_b, int m, int n, int k) {
  return skinny_fits(trans_a, m, n, k) || skinny_reduce_fits(trans_a, trans_b, m, n, k);
}

// acc (R rows of NV·lanes floats, row stride ld) += A[p0..p1)[i0..i0+R)ᵀ · B[p0..p1)
template <int R, int NV>
inline void reduce_tile(const float* a, long lda, const float* b, long ldb, int rows, float* acc_mem, long ld) {
  typename Vec::reg acc[R][NV];
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) acc[i][j] = Vec::load(acc_mem + i * ld + j * kLanes);
  for (int p = 0; p < rows; ++p) {
    typename Vec::reg bv[NV];
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) bv[j] = Vec::load(b + p * ldb + j * kLanes);
#pragma GCC unroll 16
    for (int i = 0; i < R; ++i) {
      const typename Vec::reg av = Vec::bcast(a[p * lda + i]);
#pragma GCC unroll 4
      for (int j = 0; j < NV; ++j) acc[i][j] = Vec::fma(av, bv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 4
    for (int j = 0; j < NV; ++j) Vec::store(acc_mem + i * ld + j * kLanes, acc[i][j]);
}

// Chunks [c0, c1) of K into acc [M][NV·lanes] (added).
template <int NV>
void reduce_chunks(const GemmArgs& g, int m, int n, long c0, long c1, float* acc) {
  constexpr int R = reduce_rows(NV);
  constexpr long L = NV * kLanes;
  const bool ragged = n != L;
  alignas(64) float bbuf[kReduceChunk * L];
  for (long ch = c0; ch < c1; ++ch) {
    const long p0 = ch * kReduceChunk, rows = std::min<long>(kReduceChunk, g.k - p0);
    const float* b = g.b + p0 * g.ldb;
    long ldb = g.ldb;
    if (ragged) {  // zero-padded copy: full-vector loads stay inside it
      for (long p = 0; p < rows; ++p) {
        std::memcpy(bbuf + p * L, b + p * g.ldb, sizeof(float) * n);
        std::memset(bbuf + p * L + n, 0, sizeof(float) * (L - n));
      }
      b = bbuf;
      ldb = L;
    }
    const float* a = g.a + p0 * g.lda;
    int i = 0;
    for (; i + R <= m; i += R) reduce_tile<R, NV>(a + i, g.lda, b, ldb, static_cast<int>(rows), acc + i * L, L);
    with_count<R - 1>(m - i, [&]<int Q>() {
      reduce_tile<Q, NV>(a + i, g.lda, b, ldb, static_cast<int>(rows), acc + i * L, L);
    });
  }
}

template <int NV>
void gemm_skinny_reduce_nv(const GemmArgs& g, int m, int n, int threads) {
  constexpr long L = NV * kLanes;
  const long chunks = (g.k + kReduceChunk - 1) / kReduceChunk;
  threads = static_cast<int>(std::max<long>(1, std::min<long>(threads, chunks)));
  std::vector<float> partial(static_cast<size_t>(threads) * m * L, 0.0f);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    reduce_chunks<NV>(g, m, n, chunks * t / nt, chunks * (t + 1) / nt, partial.data() + static_cast<long>(t) * m * L);
  }
  for (int i = 0; i < m; ++i) {
    float* row = g.c + i * g.ldc;
    for (int j = 0; j < n; ++j) {
      float sum = 0.0f;
      for (int t = 0; t < threads; ++t) sum += partial[(static_cast<long>(t) * m + i) * L + j];
      row[j] = g.beta == 0.0f ? g.alpha * sum : g.alpha * sum + g.beta * row[j];
    }
  }
}

inline void gemm_skinny_reduce(const GemmArgs& g, int m, int n, int threads) {
  with_count<kSkinnyMaxNV>((n + kLanes - 1) / kLanes, [&]<int NV>() { gemm_skinny_reduce_nv<NV>(g, m, n, threads); });
}

enum class Path { packed, direct_b, direct_a, dot, skinny };

constexpr int kDirectAMaxN = 128;

// Which algorithm suits the whole problem (measured on the training shapes, docs/gemm.md).
inline Path choose_path(const GemmArgs& g, const Blocking& bl, int m, int n) {
  const long k = g.k;
  if (skinny_fits(g.trans_a, m, n, g.k)) return Path::skinny;
  if (!g.trans_a && g.trans_b && static_cast<long>(m) * n <= bl.dot_max_outputs && k >= 256)
    return Path::dot;
  // B read in place only while all of it stays cached: its rows are far apart, so streaming
  // it from memory through kc separate row streams misses far more than packing costs.
  // Few A rows, or a K so short that packing B would cost as much as using it.
  // With 64-float panels (AVX-512) every row segment is 4 whole lines, so a B that lives in
  // L3 (a freshly written im2col buffer) streams well too when there are few A rows (measured:
  // 6×36864×25 106 → 69 µs, 16×4096×150 126 → 100 µs; with 16-float AVX2 panels, or 25 A
  // rows, it is 1.2–1.6× slower than packing).
  const long b_bytes = k * n * static_cast<long>(sizeof(float));
  const bool b_cached = b_bytes <= cache_sizes().l2 / 4 ||
                        (kNR >= 64 && m <= bl.direct_b_max_m && b_bytes <= cache_sizes().l3 / 4);
  if (!g.trans_b && (m <= bl.direct_b_max_m || k <= 32) && b_cached) return Path::direct_b;
  // Few columns: each A element is used only n times, so packing A costs a large share of the
  // multiply; read it in place (MobileNet's 14×14 / 7×7 pointwise layers, FC layers).
  if (!g.trans_a && n <= kDirectAMaxN) return Path::direct_a;
  return Path::packed;
}

inline void gemm_range(Path path, const GemmArgs& g, const Blocking& bl, int m0, int m1, int n0,
                       int n1) {
  if (m1 <= m0 || n1 <= n0) return;
  switch (path) {
    case Path::dot: gemm_dot(g, bl, m0, m1, n0, n1); return;
    case Path::skinny: gemm_skinny(g, n1, m0, m1); return;  // n0 = 0: the path splits rows only
    case Path::direct_b: gemm_block_direct_b(g, bl, m0, m1, n0, n1); return;
    case Path::direct_a: gemm_block_packed(g, bl, m0, m1, n0, n1, /*direct_a=*/true); return;
    case Path::packed: gemm_block_packed(g, bl, m0, m1, n0, n1); return;
  }
}

// Below this many flops per thread the fork/join costs more than it saves. (A warm OpenMP team
// forks in ~1 µs: FC layers of 0.3–4 MFLOP gain 1.3–1.5× from 2 threads; 2 MFLOP per thread
// had kept them all on one.)
constexpr long kMinFlopsPerThread = 1L << 17;

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
  if (skinny_reduce_fits(g.trans_a, g.trans_b, m, n, g.k)) return gemm_skinny_reduce(g, m, n, threads);
  const Path path = choose_path(g, bl, m, n);
  const int unit_n = path == Path::dot ? kDotNB : kNR, unit_m = path == Path::dot ? kDotMB : kMR;
  const int n_panels = (n + unit_n - 1) / unit_n;
  const int m_panels = (m + unit_m - 1) / unit_m;
  // Split the larger panel count so each thread gets whole micro-panels; every element of C is
  // computed by exactly one thread in a fixed order, so results do not depend on scheduling.
  const bool split_n = path != Path::skinny && (n_panels >= m_panels || n_panels >= 4 * threads);
  const int panels = split_n ? n_panels : m_panels;
  threads = std::min(threads, panels);
  if (threads <= 1) {
    gemm_range(path, g, bl, 0, m, 0, n);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int first = static_cast<int>(static_cast<long>(panels) * t / nt);
    const int last = static_cast<int>(static_cast<long>(panels) * (t + 1) / nt);
    if (split_n)
      gemm_range(path, g, bl, 0, m, first * unit_n, std::min(n, last * unit_n));
    else
      gemm_range(path, g, bl, first * unit_m, std::min(m, last * unit_m), 0, n);
  }
}

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
