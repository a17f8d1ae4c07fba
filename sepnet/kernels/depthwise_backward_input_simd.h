// Internal: the NCHW depthwise input gradient (depthwise_simd.h), a template on the vector
// type B. It is the forward's kernel (depthwise_forward_simd.h) on grad_output — dilated by the
// stride and padded by K-1-pad — with the flipped filter, accumulating into grad_input; 3×3
// stride 2 runs by output phase instead (depthwise_direct3x3.h).
#pragma once
#include <vector>

#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_direct3x3.h"
#include "sepnet/kernels/depthwise_forward_simd.h"
#include "sepnet/kernels/depthwise_padded_plane_simd.h"

namespace sepnet::kernels::dw {
namespace {

template <class B>
void backward_input_impl(const DepthwiseShape& s, const float* grad_output, const float* weight,
                         float* grad_input) {
  const int oh = s.out_h(), ow = s.out_w(), kh = s.kernel_h, kw = s.kernel_w;
  if (s.batch <= 0 || s.channels <= 0 || oh <= 0 || ow <= 0) return;
  const int taps = kh * kw;
  // grad_in[y][x] = Σ flipped_w[ki][kj] · G[y + ki][x + kj], G = grad_output dilated by the
  // stride and placed at offset (K-1-pad): a stride-1 "forward" over an H × W output.
  const int rows = s.in_h + kh - 1, cols = s.in_w + kw - 1;
  const Layout l = make_layout<B>(rows, cols, 1);
  std::vector<float> flipped(static_cast<long>(s.channels) * taps);
  for (int c = 0; c < s.channels; ++c)
    for (int t = 0; t < taps; ++t)
      flipped[static_cast<long>(c) * taps + t] = weight[static_cast<long>(c) * taps + taps - 1 - t];
  // Stride 1, 3×3: the transposed convolution is the direct forward over grad_output with
  // padding 2 - pad, accumulating.
  if (s.stride == 1 && use_dw3_path<B>(kh, kw, s.stride, s.pad, ow))
    return dw3_all_planes<B>(s, 1, oh, ow, s.in_h, s.in_w, 2 - s.pad, grad_output, flipped.data(),
                             nullptr, false, true, grad_input);
  const long planes = static_cast<long>(s.batch) * s.channels;
  const long in_plane = static_cast<long>(s.in_h) * s.in_w, out_plane = static_cast<long>(oh) * ow;
  // Stride 2, 3×3: per output phase, without the dilated plane (a quarter of the FMAs).
  if (s.stride == 2 && kh == 3 && kw == 3 && s.pad <= 2) {
#pragma omp parallel num_threads(plane_threads(s, planes))
    {
      std::vector<float> scratch(dw3s2_backward_scratch_size<B>(oh, ow, s.in_w), 0.0f);
#pragma omp for schedule(static)
      for (long p = 0; p < planes; ++p) {
        const int c = static_cast<int>(p % s.channels);
        dw3s2_backward_input_plane<B>(grad_output + p * out_plane, oh, ow, s.in_h, s.in_w, s.pad,
                                      weight + 9L * c, grad_input + p * in_plane, scratch.data());
      }
    }
    return;
  }
#pragma omp parallel num_threads(plane_threads(s, planes))
  {
    std::vector<float> buf(l.size, 0.0f), flat(flat_scratch_size<B>(l, s.in_h));
#pragma omp for schedule(static)
    for (long p = 0; p < planes; ++p) {
      const int c = static_cast<int>(p % s.channels);
      fill_dilated(l, grad_output + p * out_plane, oh, ow, s.stride, kh - 1 - s.pad,
                   kw - 1 - s.pad, rows, cols, buf.data());
      conv_plane_dispatch<B>(l, kh, kw, buf.data(), flipped.data() + static_cast<long>(c) * taps, s.in_h, s.in_w, 0.0f,
                             false, true, grad_input + p * in_plane, flat.data());
    }
  }
}

}  // namespace
}  // namespace sepnet::kernels::dw
