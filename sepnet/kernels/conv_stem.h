// Dense convolution with few input channels, NCHW image in, channels-last (NHWC) out: MobileNet's
// stem (3 → 8…32 channels, 3×3, stride 2) and its grayscale form (1 input channel). There the
// im2col GEMM has K = C_in·9 ≤ 27 and N = C_out = 8…32: too small to amortize packing, and it
// ran at 16–50 GFLOP/s (36 % of a MobileNet α = 0.25 inference step). The direct kernel keeps
// the C_in·9 weight vectors of one block of output channels in registers and, per output pixel,
// broadcasts each input tap into one FMA.
// Forward overwrites output; backward_weight ACCUMULATES (+=) into its gradient buffers. The
// input gradient is not here (the stem's input is the image); callers use im2col for it.
// The kernels dispatch through the variants table below (kernels/dispatch.h).
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

struct StemConvShape {
  int batch, in_channels, in_h, in_w;
  int out_channels, kernel_h, kernel_w, stride, pad;
  int out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
};

// The shapes with a compiled kernel: 1 or 3 input channels, 3×3, stride 1 or 2, pad 0–2, at
// least one output pixel.
bool stem_conv2d_suits(const StemConvShape& s);

// output[n][oy][ox][o] = Σ_{c,ky,kx} input[n][c][oy·S − pad + ky][ox·S − pad + kx]
//                        · weight[o][c][ky][kx] + bias[o]   (bias may be null)
void stem_conv2d_forward(const StemConvShape& s, const float* input, const float* weight, const float* bias,
                         float* output);
// grad_weight[o][c][ky][kx] += Σ grad_output[n][oy][ox][o] · input tap; grad_bias[o] +=
// Σ grad_output (either may be null). Deterministic for a fixed thread count.
void stem_conv2d_backward_weight(const StemConvShape& s, const float* input, const float* grad_output,
                                 float* grad_weight, float* grad_bias);

void stem_conv2d_forward_reference(const StemConvShape& s, const float* input, const float* weight,
                                   const float* bias, float* output);
void stem_conv2d_backward_weight_reference(const StemConvShape& s, const float* input, const float* grad_output,
                                           float* grad_weight, float* grad_bias);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The entry points of one compiled copy (conv_stem_{scalar,avx2,avx512}.cpp, each
// conv_stem_simd.h for its vector type).
struct StemConvEntry {
  void (*forward)(const StemConvShape& s, const float* input, const float* weight, const float* bias,
                  float* output);
  void (*backward_weight)(const StemConvShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias);
};
enum class StemConvOp { forward, backward_weight };
VariantTable<StemConvEntry> stem_conv_variants();
// The ISA whose variant runs `op` on `shape` when `active` is the active one: the family's one
// shape rule (8 or fewer output channels run the AVX2 copy on AVX-512).
Isa stem_conv_isa_for(Isa active, StemConvOp op, const StemConvShape& shape);

}  // namespace sepnet::kernels
