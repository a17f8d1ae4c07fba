// The NCHW depthwise family's variants table and its one shape rule (kernels/dispatch.h).
#include "sepnet/kernels/depthwise.h"

#include "sepnet/kernels/depthwise_internal.h"

namespace sepnet::kernels {

namespace {
constexpr Variant<DepthwiseEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kDepthwiseScalar},
    {Isa::avx2, "avx2", &kDepthwiseAvx2},
    {Isa::avx512, "avx512", &kDepthwiseAvx512},
};
static_assert(one_row_per_isa(kVariants));

const DepthwiseEntry& pick(DepthwiseOp op, const DepthwiseShape& s) {
  return *selected_variant(kVariants, depthwise_isa_for, op, s).entry;
}
}  // namespace

VariantTable<DepthwiseEntry> depthwise_variants() { return kVariants; }

Isa depthwise_isa_for(Isa active, DepthwiseOp op, const DepthwiseShape& s) {
  // The weight gradient keeps KH·KW vector accumulators per output row vector: with 16 lanes a
  // row under two vectors wastes most of them and 5×5 no longer fits the register file. Measured
  // (1 thread, µs, AVX-512 vs AVX2): 3×3 rows 112: 136 vs 158, 56: 145 vs 147, 28: 83 vs 85,
  // 14: 83 vs 60, 7: 103 vs 64; 5×5 (64 images) rows 24: 73 vs 32, 8: 97 vs 40.
  if (active == Isa::avx512 && op == DepthwiseOp::backward_weight && s.out_w() < 32) return Isa::avx2;
  return active;
}

void depthwise_conv2d_forward(const DepthwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output, bool fuse_relu) {
  pick(DepthwiseOp::forward, s).forward(s, input, weight, bias, output, fuse_relu);
}

void depthwise_conv2d_backward_input(const DepthwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input) {
  pick(DepthwiseOp::backward_input, s).backward_input(s, grad_output, weight, grad_input);
}

void depthwise_conv2d_backward_weight(const DepthwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight, float* grad_bias) {
  pick(DepthwiseOp::backward_weight, s).backward_weight(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
