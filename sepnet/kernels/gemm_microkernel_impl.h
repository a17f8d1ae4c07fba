// GEMM body, part 2 of 5 (gemm_impl.h): the register-tile micro-kernel, instantiated for every
// row count 1..MR and vector count 1..NV, and the tables that pick one per edge tile.
// Internal: included by gemm_impl.h only, inside the per-ISA namespace SEPNET_GEMM_NS.
#include <utility>

#ifndef SEPNET_GEMM_NS
#error "include kernels/gemm_impl.h (which includes this part), not this file"
#endif

namespace sepnet::kernels::SEPNET_GEMM_NS {

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

}  // namespace sepnet::kernels::SEPNET_GEMM_NS
