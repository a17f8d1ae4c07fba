// GotoBLAS/BLIS-style SGEMM body, written once and instantiated per ISA.
//
// Internal header: a per-ISA translation unit (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp)
// first defines, inside namespace sepnet::kernels::SEPNET_GEMM_NS,
//   struct Vec { using reg; static constexpr int lanes; zero/load/store/bcast/fma/mul/add },
//   constexpr int kMR (rows of the register block) and kNV (vectors per row, NR = kNV·lanes),
// then includes this file. Everything here lives in that per-ISA namespace, so no symbol is
// shared between TUs compiled with different -m flags (an AVX-512 copy can never be picked
// by the linker for the scalar path). The TU exports the two entry points below as its row of
// the variants table (gemm.h, GemmEntry).
//
// The body comes in parts, one idea each, included here in order:
//   gemm_blocking_impl.h     the problem (GemmArgs) and the cache blocking
//   gemm_microkernel_impl.h  the register-tile micro-kernel and its edge tables
//   gemm_pack_impl.h         packing A and B, per-thread buffers
//   gemm_drivers_impl.h      packed, "sup" (B in place) and "dot" drivers
//   gemm_skinny_impl.h       the tall-skinny paths of narrow 1×1 convolutions
// and this file chooses a path per problem and splits it over threads (sgemm_entry).
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

#include "sepnet/kernels/cache_info.h"
#include "sepnet/kernels/parallel.h"

#ifndef SEPNET_GEMM_NS
#error "define SEPNET_GEMM_NS (and Vec, kMR, kNV in it) before including kernels/gemm_impl.h"
#endif

#include "sepnet/kernels/gemm_blocking_impl.h"
#include "sepnet/kernels/gemm_microkernel_impl.h"
#include "sepnet/kernels/gemm_pack_impl.h"
#include "sepnet/kernels/gemm_drivers_impl.h"
#include "sepnet/kernels/gemm_skinny_impl.h"

namespace sepnet::kernels::SEPNET_GEMM_NS {

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
