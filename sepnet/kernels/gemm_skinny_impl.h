// GEMM body, part 5 of 5 (gemm_impl.h): the tall-skinny paths of narrow 1×1 convolutions —
// A·op(B) with N and K ≤ 64 over many rows, and the Aᵀ·B reduction over a long K. Which
// products they take is decided by gemm_tall_skinny.h, for any vector width.
// Internal: included by gemm_impl.h only, inside the per-ISA namespace SEPNET_GEMM_NS.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "sepnet/kernels/gemm_tall_skinny.h"
#include "sepnet/kernels/with_count.h"

#ifndef SEPNET_GEMM_NS
#error "include kernels/gemm_impl.h (which includes this part), not this file"
#endif

namespace sepnet::kernels::SEPNET_GEMM_NS {

// ---- tall-skinny: C[M×N] = alpha·A[M×K]·op(B) + beta·C, N and K ≤ 64, M large -----------------
// The 1×1 convolutions of narrow MobileNets (α 0.25: 8…64 channels over 10⁵ pixels) and their
// input gradients. Each A element feeds only N FMAs and each C row is N floats, so packing A
// or B panels, 64-wide micro-tiles (N = 8 used 8 of 64 columns) and edge buffers cost more
// than the multiply. Here op(B)·alpha is copied once into a K × NV·lanes buffer (zero-padded
// columns, 16 KiB at most, L1-resident), and register tiles of R rows × NV vectors walk A's
// rows in place: per k, NV vector loads of B and one broadcast of A per row. Measured beside
// the packed paths, one thread (docs/gemm.md): 131072×8×16 930 → ~290 µs, 32768×32×32
// 540 → ~290 µs.
constexpr int kSkinnyMaxK = gemm_tall_skinny::kMaxK;
constexpr int kSkinnyMaxNV = gemm_tall_skinny::kMaxVectors;  // vectors per row of C
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

inline bool skinny_fits(bool trans_a, int m, int n, int k) { return gemm_tall_skinny::fits(kLanes, trans_a, m, n, k); }

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
  return gemm_tall_skinny::reduce_fits(kLanes, trans_a, trans_b, m, n, k);
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

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
