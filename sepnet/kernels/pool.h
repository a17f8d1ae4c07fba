// 2-D max pooling, NCHW, no padding (floor mode, as PyTorch's default).
#pragma once
#include <cstdint>

#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

struct PoolShape {
  int batch, channels, in_h, in_w;
  int kernel, stride;
  int out_h() const { return (in_h - kernel) / stride + 1; }
  int out_w() const { return (in_w - kernel) / stride + 1; }
};

// output = max over each window; argmax[i] = index of the winner within its input plane
// (first maximum on ties, NaN wins), kept for the backward pass.
void max_pool2d_forward(const PoolShape& s, const float* input, float* output, int32_t* argmax);
// grad_input[plane][argmax] += grad_output  (accumulates)
void max_pool2d_backward(const PoolShape& s, const float* grad_output, const int32_t* argmax,
                         float* grad_input);

// The definition (row-major first maximum, NaN wins); also what windows other than 2×2 run.
void max_pool2d_forward_reference(const PoolShape& s, const float* input, float* output, int32_t* argmax);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// 2×2 / stride 2 pooling (every pool of the MNIST nets) has per-ISA copies: pool_rows.h built
// with baseline, AVX2 or AVX-512 flags (pool_{scalar,avx2,avx512}.cpp), a row loop the compiler
// vectorizes. Each computes planes [p0, p1) of an in_h × in_w input.
struct PoolEntry {
  void (*max_pool_2x2_planes)(int in_h, int in_w, long p0, long p1, const float* input, float* output,
                              int32_t* argmax);
};
enum class PoolOp { max_pool_2x2 };
VariantTable<PoolEntry> pool_variants();
// The ISA whose variant runs `shape` when `active` is the active one: the family's one shape
// rule (output rows under 16 run the AVX2 copy on AVX-512).
Isa pool_isa_for(Isa active, PoolOp op, const PoolShape& shape);

}  // namespace sepnet::kernels
