// im2col / col2im for one NCHW image. Work is organised per output row of one column-matrix
// row (c, ki, kj): the valid x range of that row is computed once, the out-of-image borders
// are zero-filled (im2col) or skipped (col2im), and the inside is a contiguous copy/add for
// stride 1 or a strided gather/scatter otherwise. Plain C++: the contiguous loops vectorise
// in the baseline build and the work is memory bound, so per-ISA copies would not pay.
// Channels are split across threads when the image is large (disjoint outputs: deterministic).
#include "sepnet/kernels/im2col.h"

#include <algorithm>
#include <cstring>

#include "sepnet/kernels/parallel.h"

namespace sepnet::kernels {
namespace {

// Output columns ox whose input x = ox·stride + offset lies in [0, width): [lo, hi).
inline void valid_range(int out_w, int stride, int offset, int width, int& lo, int& hi) {
  // ox·stride + offset >= 0  ⇔  ox >= ceil(-offset / stride)
  lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  // ox·stride + offset <= width − 1  ⇔  ox <= floor((width − 1 − offset) / stride)
  const int last = width - 1 - offset;
  hi = last < 0 ? 0 : std::min(out_w, last / stride + 1);
  lo = std::min(lo, hi);
}

void im2col_channels(const ConvGeometry& g, const float* image, float* columns, long ld, int c0, int c1) {
  const int oh = g.out_h(), ow = g.out_w(), s = g.stride;
  for (int c = c0; c < c1; ++c) {
    const float* src_c = image + static_cast<long>(c) * g.in_h * g.in_w;
    float* dst = columns + static_cast<long>(c) * g.kernel_h * g.kernel_w * ld;
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj, dst += ld) {
        int lo, hi;
        valid_range(ow, s, kj - g.pad, g.in_w, lo, hi);
        for (int oy = 0; oy < oh; ++oy) {
          float* out = dst + static_cast<long>(oy) * ow;
          const int y = oy * s + ki - g.pad;
          if (y < 0 || y >= g.in_h) {
            std::memset(out, 0, sizeof(float) * ow);
            continue;
          }
          // Index (not pointer) arithmetic: the row start may lie left of the image.
          const long row = static_cast<long>(y) * g.in_w + kj - g.pad;
          for (int ox = 0; ox < lo; ++ox) out[ox] = 0.0f;
          if (s == 1) {
            // An inline loop, not memcpy: rows are short (8–28 floats on the MNIST convs) and
            // the libc call cost more than the copy (memmove was 12 % of a cnn training step).
            const float* from = src_c + row;
            for (int ox = lo; ox < hi; ++ox) out[ox] = from[ox];
          } else {
            for (int ox = lo; ox < hi; ++ox) out[ox] = src_c[row + static_cast<long>(ox) * s];
          }
          for (int ox = hi; ox < ow; ++ox) out[ox] = 0.0f;
        }
      }
  }
}

void col2im_channels(const ConvGeometry& g, const float* columns, long ld, float* image_grad, int c0, int c1) {
  const int oh = g.out_h(), ow = g.out_w(), s = g.stride;
  for (int c = c0; c < c1; ++c) {
    float* dst_c = image_grad + static_cast<long>(c) * g.in_h * g.in_w;
    const float* src = columns + static_cast<long>(c) * g.kernel_h * g.kernel_w * ld;
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj, src += ld) {
        int lo, hi;
        valid_range(ow, s, kj - g.pad, g.in_w, lo, hi);
        for (int oy = 0; oy < oh; ++oy) {
          const int y = oy * s + ki - g.pad;
          if (y < 0 || y >= g.in_h) continue;
          const float* in = src + static_cast<long>(oy) * ow;
          const long row = static_cast<long>(y) * g.in_w + kj - g.pad;
          if (s == 1) {
            float* out = dst_c + row + lo;
            const float* part = in + lo;
            for (int t = 0; t < hi - lo; ++t) out[t] += part[t];
          } else {
            for (int ox = lo; ox < hi; ++ox) dst_c[row + static_cast<long>(ox) * s] += in[ox];
          }
        }
      }
  }
}

// Threads for a pass touching `elements` column entries, split by channel.
int threads_for_channels(const ConvGeometry& g) {
  const long elements = g.column_rows() * g.column_cols();
  return std::min(threads_for(elements, 1L << 16), std::max(1, g.channels));
}

}  // namespace

void im2col(const ConvGeometry& g, const float* image, float* columns) {
  im2col(g, image, columns, g.column_cols());
}

void im2col(const ConvGeometry& g, const float* image, float* columns, long ld) {
  const int threads = threads_for_channels(g);
  if (threads <= 1) {
    im2col_channels(g, image, columns, ld, 0, g.channels);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    im2col_channels(g, image, columns, ld, g.channels * t / nt, g.channels * (t + 1) / nt);
  }
}

void col2im_accumulate(const ConvGeometry& g, const float* columns, float* image_grad) {
  col2im_accumulate(g, columns, g.column_cols(), image_grad);
}

void col2im_accumulate(const ConvGeometry& g, const float* columns, long ld, float* image_grad) {
  const int threads = threads_for_channels(g);
  if (threads <= 1) {
    col2im_channels(g, columns, ld, image_grad, 0, g.channels);
    return;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    col2im_channels(g, columns, ld, image_grad, g.channels * t / nt, g.channels * (t + 1) / nt);
  }
}

}  // namespace sepnet::kernels
