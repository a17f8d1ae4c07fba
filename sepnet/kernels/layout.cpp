#include "sepnet/kernels/layout.h"

#include <algorithm>

#include "sepnet/kernels/parallel.h"

namespace sepnet::kernels {

namespace {
constexpr long kBlock = 16;

// dst[j][i] = src[i][j] for an rows × cols matrix (row strides given), in kBlock tiles.
void transpose(long rows, long cols, const float* src, float* dst) {
  for (long i0 = 0; i0 < rows; i0 += kBlock)
    for (long j0 = 0; j0 < cols; j0 += kBlock) {
      const long i1 = std::min(rows, i0 + kBlock), j1 = std::min(cols, j0 + kBlock);
      for (long j = j0; j < j1; ++j)
        for (long i = i0; i < i1; ++i) dst[j * rows + i] = src[i * cols + j];
    }
}

void transpose_batch(int batch, long rows, long cols, const float* src, float* dst) {
  const long plane = rows * cols;
  const int threads = threads_for(batch * plane, 1L << 16);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int n = 0; n < batch; ++n) transpose(rows, cols, src + n * plane, dst + n * plane);
}
}  // namespace

void nchw_to_nhwc(int batch, int channels, long pixels, const float* src, float* dst) {
  transpose_batch(batch, channels, pixels, src, dst);
}
void nhwc_to_nchw(int batch, int channels, long pixels, const float* src, float* dst) {
  transpose_batch(batch, pixels, channels, src, dst);
}

}  // namespace sepnet::kernels
