// The channels-last depthwise family's variants table and its one shape rule
// (kernels/dispatch.h), and the weight layout conversions.
#include "sepnet/kernels/depthwise_nhwc.h"

#include "sepnet/kernels/depthwise_internal.h"

namespace sepnet::kernels {

void depthwise_weight_to_hwc(int channels, int taps, const float* weight_chw, float* weight_hwc) {
  for (int c = 0; c < channels; ++c)
    for (int t = 0; t < taps; ++t)
      weight_hwc[static_cast<long>(t) * channels + c] = weight_chw[static_cast<long>(c) * taps + t];
}
void depthwise_weight_from_hwc(int channels, int taps, const float* weight_hwc, float* weight_chw) {
  for (int c = 0; c < channels; ++c)
    for (int t = 0; t < taps; ++t)
      weight_chw[static_cast<long>(c) * taps + t] = weight_hwc[static_cast<long>(t) * channels + c];
}

namespace {
constexpr Variant<DepthwiseEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kDepthwiseNhwcScalar},
    {Isa::avx2, "avx2", &kDepthwiseNhwcAvx2},
    {Isa::avx512, "avx512", &kDepthwiseNhwcAvx512},
};
static_assert(one_row_per_isa(kVariants));

const DepthwiseEntry& pick(DepthwiseOp op, const DepthwiseShape& s) {
  return *selected_variant(kVariants, depthwise_nhwc_isa_for, op, s).entry;
}
}  // namespace

VariantTable<DepthwiseEntry> depthwise_nhwc_variants() { return kVariants; }

Isa depthwise_nhwc_isa_for(Isa active, DepthwiseOp, const DepthwiseShape& s) {
  // Fewer than 16 channels fill half an AVX-512 vector (masked) but a whole AVX2 one: measured
  // 32×8×64×64 (µs, AVX-512 vs AVX2): forward 501 vs 269, input gradient 592 vs 249, weight
  // gradient 456 vs 269.
  return active == Isa::avx512 && s.channels < 16 ? Isa::avx2 : active;
}

void depthwise_conv2d_nhwc_forward(const DepthwiseShape& s, const float* input,
                                   const float* weight, const float* bias, float* output,
                                   bool fuse_relu) {
  pick(DepthwiseOp::forward, s).forward(s, input, weight, bias, output, fuse_relu);
}

void depthwise_conv2d_nhwc_backward_input(const DepthwiseShape& s, const float* grad_output,
                                          const float* weight, float* grad_input) {
  pick(DepthwiseOp::backward_input, s).backward_input(s, grad_output, weight, grad_input);
}

void depthwise_conv2d_nhwc_backward_weight(const DepthwiseShape& s, const float* input,
                                           const float* grad_output, float* grad_weight,
                                           float* grad_bias) {
  pick(DepthwiseOp::backward_weight, s).backward_weight(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
