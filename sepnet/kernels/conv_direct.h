// Direct (no im2col) dense 2-D convolution, NCHW, stride 1, for layers with FEW channels —
// the MNIST convs (1→6, 6→16 and 6→6 5×5 on 28² / 12² planes). There, im2col
// writes a K·P matrix many times larger than the input and the GEMM's M (= C_out) and K are
// too small to amortize packing; the direct kernel reads each zero-padded input row vector once
// per tap and feeds it to a register tile of output channels × row vectors.
// Forward overwrites output; the backward kernels ACCUMULATE (+=) into their gradient buffers.
// The *_reference functions are the plain loop definitions the tests compare against
// (conv_direct_reference.cpp); the kernels dispatch through the variants table below.
#pragma once
#include "sepnet/kernels/dispatch.h"

namespace sepnet::kernels {

struct DirectConvShape {
  int batch, in_channels, in_h, in_w;
  int out_channels, kernel_h, kernel_w;
  int pad;  // zero padding, both dimensions; stride is 1
  int out_h() const { return in_h + 2 * pad - kernel_h + 1; }
  int out_w() const { return in_w + 2 * pad - kernel_w + 1; }
};

// Where the direct kernel beats im2col + GEMM (measured, docs/design.md): stride 1, groups 1,
// a spatial kernel (1×1 stays on the pointwise GEMMs), pad < kernel, C_in·KH·KW <= 256 and
// C_out <= 64. (The kernels themselves accept any such shape, 1×1 included.)
bool direct_conv2d_suits(const DirectConvShape& s);

// output[n][o] = Σ_c conv(input[n][c], weight[o][c]) + bias[o]  (bias may be null)
void direct_conv2d_forward(const DirectConvShape& s, const float* input, const float* weight, const float* bias,
                           float* output);
// grad_input += full correlation of grad_output with the flipped filters (= when !accumulate)
void direct_conv2d_backward_input(const DirectConvShape& s, const float* grad_output, const float* weight,
                                  float* grad_input, bool accumulate = true);
// grad_weight += Σ_n corr(input, grad_output); grad_bias += Σ grad_output (either may be null)
void direct_conv2d_backward_weight(const DirectConvShape& s, const float* input, const float* grad_output,
                                   float* grad_weight, float* grad_bias);

void direct_conv2d_forward_reference(const DirectConvShape& s, const float* input, const float* weight,
                                     const float* bias, float* output);
void direct_conv2d_backward_input_reference(const DirectConvShape& s, const float* grad_output,
                                            const float* weight, float* grad_input);
void direct_conv2d_backward_weight_reference(const DirectConvShape& s, const float* input,
                                             const float* grad_output, float* grad_weight, float* grad_bias);

// ---- variants (kernels/dispatch.h) ----------------------------------------------------------
// The entry points of one compiled copy (conv_direct_{scalar,avx2,avx512}.cpp, each
// conv_direct_simd.h for its vector type).
struct DirectConvEntry {
  void (*forward)(const DirectConvShape& s, const float* input, const float* weight, const float* bias,
                  float* output);
  void (*backward_input)(const DirectConvShape& s, const float* grad_output, const float* weight,
                         float* grad_input, bool accumulate);
  void (*backward_weight)(const DirectConvShape& s, const float* input, const float* grad_output,
                          float* grad_weight, float* grad_bias);
};
enum class DirectConvOp { forward, backward_input, backward_weight };
VariantTable<DirectConvEntry> direct_conv_variants();
// The ISA whose variant runs `op` on `shape` when `active` is the active one: the family's one
// shape rule (on AVX-512, the AVX2 copy where output rows would leave 16-lane vectors half empty).
Isa direct_conv_isa_for(Isa active, DirectConvOp op, const DirectConvShape& shape);

}  // namespace sepnet::kernels
