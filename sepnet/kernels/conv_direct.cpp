// Runtime dispatch of the direct convolution kernels, the routing rule, and the plain loop
// references.
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
// On an AVX-512 machine the 16-lane kernels only pay where output rows fill their vectors,
// or are exactly half a vector (8 outputs: two rows per vector, the pair tiles in
// conv_direct_simd.h), or (weight gradient) the flat walk fills them; on other narrow rows the
// 8-lane AVX2 copy of the same kernel is faster. Measured (1 thread, 64 images, µs AVX-512 vs
// AVX2): forward 24-wide rows 94 vs 113, 8-wide (pairs) 101 vs 224; weight gradient 24-wide
// (flat) 141 vs 180, 8-wide (pairs) 188 vs 297, 24-wide as two row vectors (before the flat
// walk) 211 vs 182; input gradient 230–242 vs 229–319, so it always takes AVX-512.
Isa forward_isa(const DirectConvShape& s) {
  const Isa isa = active_isa();
  return isa == Isa::avx512 && s.out_w() < 16 && s.out_w() != 8 ? Isa::avx2 : isa;
}
Isa backward_weight_isa(const DirectConvShape& s) {
  const Isa isa = active_isa();
  if (isa != Isa::avx512) return isa;
  // The weight gradient fills 16 lanes when rows are whole vectors, pair up (8 wide), or the
  // flat walk over padded rows wastes fewer lanes than whole row vectors (conv_direct_simd.h).
  const int ow = s.out_w(), whole_vectors = (ow + 15) / 16 * 16;
  const bool fills = ow % 16 == 0 || ow == 8 || s.in_w + 2 * s.pad < whole_vectors;
  return fills ? isa : Isa::avx2;
}
}  // namespace

void direct_conv2d_forward(const DirectConvShape& s, const float* input, const float* weight, const float* bias,
                           float* output) {
  switch (forward_isa(s)) {
    case Isa::avx512: return direct::avx512::forward(s, input, weight, bias, output);
    case Isa::avx2: return direct::avx2::forward(s, input, weight, bias, output);
    case Isa::scalar: break;
  }
  direct::scalar::forward(s, input, weight, bias, output);
}

void direct_conv2d_backward_input(const DirectConvShape& s, const float* grad_output, const float* weight,
                                  float* grad_input, bool accumulate) {
  switch (active_isa()) {
    case Isa::avx512: return direct::avx512::backward_input(s, grad_output, weight, grad_input, accumulate);
    case Isa::avx2: return direct::avx2::backward_input(s, grad_output, weight, grad_input, accumulate);
    case Isa::scalar: break;
  }
  direct::scalar::backward_input(s, grad_output, weight, grad_input, accumulate);
}

void direct_conv2d_backward_weight(const DirectConvShape& s, const float* input, const float* grad_output,
                                   float* grad_weight, float* grad_bias) {
  switch (backward_weight_isa(s)) {
    case Isa::avx512: return direct::avx512::backward_weight(s, input, grad_output, grad_weight, grad_bias);
    case Isa::avx2: return direct::avx2::backward_weight(s, input, grad_output, grad_weight, grad_bias);
    case Isa::scalar: break;
  }
  direct::scalar::backward_weight(s, input, grad_output, grad_weight, grad_bias);
}

// ---- references: the definitions, one output element at a time ----

namespace {
// Input value at (n, c, y, x) of the zero-padded image, or 0 outside.
float at(const DirectConvShape& s, const float* input, int n, int c, int y, int x) {
  if (y < 0 || y >= s.in_h || x < 0 || x >= s.in_w) return 0.0f;
  return input[((static_cast<long>(n) * s.in_channels + c) * s.in_h + y) * s.in_w + x];
}
long out_index(const DirectConvShape& s, int n, int o, int y, int x) {
  return ((static_cast<long>(n) * s.out_channels + o) * s.out_h() + y) * s.out_w() + x;
}
long weight_index(const DirectConvShape& s, int o, int c, int ky, int kx) {
  return ((static_cast<long>(o) * s.in_channels + c) * s.kernel_h + ky) * s.kernel_w + kx;
}
}  // namespace

void direct_conv2d_forward_reference(const DirectConvShape& s, const float* input, const float* weight,
                                     const float* bias, float* output) {
  for (int n = 0; n < s.batch; ++n)
    for (int o = 0; o < s.out_channels; ++o)
      for (int y = 0; y < s.out_h(); ++y)
        for (int x = 0; x < s.out_w(); ++x) {
          double sum = bias ? bias[o] : 0.0;
          for (int c = 0; c < s.in_channels; ++c)
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx)
                sum += static_cast<double>(weight[weight_index(s, o, c, ky, kx)]) *
                       at(s, input, n, c, y + ky - s.pad, x + kx - s.pad);
          output[out_index(s, n, o, y, x)] = static_cast<float>(sum);
        }
}

void direct_conv2d_backward_input_reference(const DirectConvShape& s, const float* grad_output,
                                            const float* weight, float* grad_input) {
  for (int n = 0; n < s.batch; ++n)
    for (int o = 0; o < s.out_channels; ++o)
      for (int y = 0; y < s.out_h(); ++y)
        for (int x = 0; x < s.out_w(); ++x) {
          const float g = grad_output[out_index(s, n, o, y, x)];
          for (int c = 0; c < s.in_channels; ++c)
            for (int ky = 0; ky < s.kernel_h; ++ky)
              for (int kx = 0; kx < s.kernel_w; ++kx) {
                const int iy = y + ky - s.pad, ix = x + kx - s.pad;
                if (iy < 0 || iy >= s.in_h || ix < 0 || ix >= s.in_w) continue;
                grad_input[((static_cast<long>(n) * s.in_channels + c) * s.in_h + iy) * s.in_w + ix] +=
                    g * weight[weight_index(s, o, c, ky, kx)];
              }
        }
}

void direct_conv2d_backward_weight_reference(const DirectConvShape& s, const float* input,
                                             const float* grad_output, float* grad_weight, float* grad_bias) {
  for (int o = 0; o < s.out_channels; ++o) {
    double bias_sum = 0.0;
    for (int n = 0; n < s.batch; ++n)
      for (int y = 0; y < s.out_h(); ++y)
        for (int x = 0; x < s.out_w(); ++x) bias_sum += grad_output[out_index(s, n, o, y, x)];
    if (grad_bias) grad_bias[o] += static_cast<float>(bias_sum);
    if (!grad_weight) continue;
    for (int c = 0; c < s.in_channels; ++c)
      for (int ky = 0; ky < s.kernel_h; ++ky)
        for (int kx = 0; kx < s.kernel_w; ++kx) {
          double sum = 0.0;
          for (int n = 0; n < s.batch; ++n)
            for (int y = 0; y < s.out_h(); ++y)
              for (int x = 0; x < s.out_w(); ++x)
                sum += static_cast<double>(grad_output[out_index(s, n, o, y, x)]) *
                       at(s, input, n, c, y + ky - s.pad, x + kx - s.pad);
          grad_weight[weight_index(s, o, c, ky, kx)] += static_cast<float>(sum);
        }
  }
}

}  // namespace sepnet::kernels
