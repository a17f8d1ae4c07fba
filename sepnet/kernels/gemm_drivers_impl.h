// GEMM body, part 4 of 5 (gemm_impl.h): the drivers that walk a sub-problem of C with the
// micro-kernel — packed (GotoBLAS order, optionally A read in place), "sup" (B read in place)
// and "dot" (A·Bᵀ with few outputs and a long K).
// Internal: included by gemm_impl.h only, inside the per-ISA namespace SEPNET_GEMM_NS.
#include <algorithm>
#include <utility>

#include "sepnet/kernels/cache_info.h"

#ifndef SEPNET_GEMM_NS
#error "include kernels/gemm_impl.h (which includes this part), not this file"
#endif

namespace sepnet::kernels::SEPNET_GEMM_NS {

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

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
