// The direct convolution family's variants table and its one shape rule (kernels/dispatch.h),
// and the routing rule (which layers take the direct kernels at all).
#include "sepnet/kernels/conv_direct.h"

#include "sepnet/kernels/conv_direct_internal.h"
#include "sepnet/kernels/isa.h"

namespace sepnet::kernels {

bool direct_conv2d_suits(const DirectConvShape& s) {
  const bool pad_ok = s.pad >= 0 && s.pad < s.kernel_h && s.pad < s.kernel_w;
  // 1×1 convs stay on the pointwise GEMM kernels: measured faster even at 1→6 and 6→16
  // channels (sepnet bench, 64 images: 6→16 @8×8 forward 33 µs vs 130 µs direct).
  const bool spatial = s.kernel_h > 1 || s.kernel_w > 1;
  return pad_ok && spatial && s.out_h() > 0 && s.out_w() > 0 && s.in_channels * s.kernel_h * s.kernel_w <= 256 &&
         s.out_channels <= 64;
}

namespace {
constexpr Variant<DirectConvEntry> kVariants[] = {
    {Isa::scalar, "scalar", &kDirectConvScalar},
    {Isa::avx2, "avx2", &kDirectConvAvx2},
    {Isa::avx512, "avx512", &kDirectConvAvx512},
};
static_assert(one_row_per_isa(kVariants));

const DirectConvEntry& pick(DirectConvOp op, const DirectConvShape& s) {
  return *selected_variant(kVariants, direct_conv_isa_for, op, s).entry;
}
}  // namespace

VariantTable<DirectConvEntry> direct_conv_variants() { return kVariants; }

Isa direct_conv_isa_for(Isa active, DirectConvOp op, const DirectConvShape& s) {
  // On an AVX-512 machine the 16-lane kernels only pay where output rows fill their vectors,
  // or are exactly half a vector (8 outputs: two rows per vector, the pair tiles in
  // conv_direct_simd.h), or (weight gradient) the flat walk fills them; on other narrow rows the
  // 8-lane AVX2 copy of the same kernel is faster. Measured (1 thread, 64 images, µs AVX-512 vs
  // AVX2): forward 24-wide rows 94 vs 113, 8-wide (pairs) 101 vs 224; weight gradient 24-wide
  // (flat) 141 vs 180, 8-wide (pairs) 188 vs 297, 24-wide as two row vectors (before the flat
  // walk) 211 vs 182; input gradient 230–242 vs 229–319, so it always takes AVX-512.
  if (active != Isa::avx512) return active;
  const int ow = s.out_w();
  switch (op) {
    case DirectConvOp::forward: return ow < 16 && ow != 8 ? Isa::avx2 : active;
    case DirectConvOp::backward_input: return active;
    case DirectConvOp::backward_weight: {
      // The weight gradient fills 16 lanes when rows are whole vectors, pair up (8 wide), or the
      // flat walk over padded rows wastes fewer lanes than whole row vectors (conv_direct_simd.h).
      const int whole_vectors = (ow + 15) / 16 * 16;
      const bool fills = ow % 16 == 0 || ow == 8 || s.in_w + 2 * s.pad < whole_vectors;
      return fills ? active : Isa::avx2;
    }
  }
  return active;
}

void direct_conv2d_forward(const DirectConvShape& s, const float* input, const float* weight, const float* bias,
                           float* output) {
  pick(DirectConvOp::forward, s).forward(s, input, weight, bias, output);
}

void direct_conv2d_backward_input(const DirectConvShape& s, const float* grad_output, const float* weight,
                                  float* grad_input, bool accumulate) {
  pick(DirectConvOp::backward_input, s).backward_input(s, grad_output, weight, grad_input, accumulate);
}

void direct_conv2d_backward_weight(const DirectConvShape& s, const float* input, const float* grad_output,
                                   float* grad_weight, float* grad_bias) {
  pick(DirectConvOp::backward_weight, s).backward_weight(s, input, grad_output, grad_weight, grad_bias);
}

}  // namespace sepnet::kernels
