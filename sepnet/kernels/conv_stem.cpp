// The stem convolution family's variants table and its one shape rule (kernels/dispatch.h), and
// the shapes it covers.
#include "sepnet/kernels/conv_stem.h"

#include "sepnet/kernels/conv_stem_internal.h"
#include "sepnet/kernels/isa.h"

namespace sepnet::kernels {

bool stem_conv2d_suits(const StemConvShape& s) {
  return (s.in_channels == 1 || s.in_channels == 3) && s.kernel_h == 3 && s.kernel_w == 3 &&
         (s.stride == 1 || s.stride == 2) && s.pad >= 0 && s.pad <= 2 && s.batch > 0 && s.out_channels > 0 &&
         s.out_h() > 0 && s.out_w() > 0;
}

namespace {
constexpr Variant<StemConvEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kStemConvScalar},
    {Isa::avx2, "avx2", &kStemConvAvx2},
    {Isa::avx512, "avx512", &kStemConvAvx512},
};
static_assert(one_row_per_isa(kVariants));

const StemConvEntry& pick(StemConvOp op, const StemConvShape& s) {
  return *selected_variant(kVariants, stem_conv_isa_for, op, s).entry;
}
}  // namespace

VariantTable<StemConvEntry> stem_conv_variants() { return kVariants; }

Isa stem_conv_isa_for(Isa active, StemConvOp, const StemConvShape& s) {
  // 8 or fewer output channels fill an AVX2 vector but half an AVX-512 one (MobileNet α = 0.25,
  // 32 images of 128²: forward 1.25 → 0.78 ms, weight gradient 2.0 → 1.2 ms on AVX2).
  return active == Isa::avx512 && s.out_channels <= 8 ? Isa::avx2 : active;
}

void stem_conv2d_forward(const StemConvShape& s, const float* input, const float* weight, const float* bias,
                         float* output) {
  pick(StemConvOp::forward, s).forward(s, input, weight, bias, output);
}

void stem_conv2d_backward_weight(const StemConvShape& s, const float* input, const float* grad_output,
                                 float* grad_weight, float* grad_bias) {
  pick(StemConvOp::backward_weight, s).backward_weight(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
