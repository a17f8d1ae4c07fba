// Pointwise convolution as one GEMM per image. With batch > 1 the images are spread over the
// threads and each sgemm runs single-threaded (sgemm sees available_threads() == 1 inside
// the parallel region); with batch 1 a single sgemm uses all threads itself.
#include "sepnet/kernels/pointwise.h"

#include <algorithm>
#include <vector>

#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/lane_sum.h"
#include "sepnet/kernels/parallel.h"

namespace sepnet::kernels {

namespace {

int batch_threads(const PointwiseShape& s) {
  if (s.batch <= 1) return 1;
  const long flops_per_image = 2L * s.in_channels * s.out_channels * s.spatial;
  // Below ~1 MFLOP of total work the fork/join costs more than it saves.
  const int t = threads_for(flops_per_image * s.batch, 1L << 20);
  return std::min(t, s.batch);
}

// A GEMM with K = in_channels this small is all call and C-update overhead (the MNIST dwsep
// 1→6 layer ran at 1.4 GFLOP/s through sgemm): plain loops over the spatial axis instead, which
// the compiler vectorizes. The order of the sums over ci is fixed (deterministic).
constexpr int kSmallInChannels = 4;

void small_k_forward(const PointwiseShape& s, const float* in, const float* weight, const float* bias,
                     float* out) {
  const long hw = s.spatial;
  for (int co = 0; co < s.out_channels; ++co) {
    float* __restrict o = out + co * hw;
    const float* w = weight + static_cast<long>(co) * s.in_channels;
    const float b = bias ? bias[co] : 0.0f;
    const float* __restrict x0 = in;
    for (long i = 0; i < hw; ++i) o[i] = b + w[0] * x0[i];
    for (int ci = 1; ci < s.in_channels; ++ci) {
      const float* __restrict x = in + ci * hw;
      const float wc = w[ci];
      for (long i = 0; i < hw; ++i) o[i] += wc * x[i];
    }
  }
}

void small_k_backward_input(const PointwiseShape& s, const float* grad_out, const float* weight,
                            float* grad_in) {
  const long hw = s.spatial;
  for (int ci = 0; ci < s.in_channels; ++ci) {
    float* __restrict g = grad_in + ci * hw;
    for (int co = 0; co < s.out_channels; ++co) {
      const float* __restrict go = grad_out + co * hw;
      const float wc = weight[static_cast<long>(co) * s.in_channels + ci];
      for (long i = 0; i < hw; ++i) g[i] += wc * go[i];
    }
  }
}

// Weight gradients with at most this many weights use sgemm_abt_sum (its per-thread partial is
// Cout·Cin·lanes floats; the dot path's limit).
constexpr long kFewWeights = 4096;

}  // namespace

void pointwise_conv2d_forward(const PointwiseShape& s, const float* input, const float* weight,
                              const float* bias, float* output) {
  const long hw = s.spatial;
  const long in_plane = s.in_channels * hw, out_plane = s.out_channels * hw;
  auto one_image = [&](long n) {
    float* out = output + n * out_plane;
    if (s.in_channels <= kSmallInChannels)
      return small_k_forward(s, input + n * in_plane, weight, bias, out);
    if (bias)
      for (int co = 0; co < s.out_channels; ++co) std::fill(out + co * hw, out + (co + 1) * hw, bias[co]);
    sgemm(false, false, s.out_channels, s.spatial, s.in_channels, 1.0f, weight, s.in_channels,
          input + n * in_plane, s.spatial, bias ? 1.0f : 0.0f, out, s.spatial);
  };
  const int threads = batch_threads(s);
  if (threads <= 1) {
    for (long n = 0; n < s.batch; ++n) one_image(n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (long n = 0; n < s.batch; ++n) one_image(n);
}

void pointwise_conv2d_backward_input(const PointwiseShape& s, const float* grad_output,
                                     const float* weight, float* grad_input) {
  const long hw = s.spatial;
  const long in_plane = s.in_channels * hw, out_plane = s.out_channels * hw;
  auto one_image = [&](long n) {
    if (s.in_channels <= kSmallInChannels)
      return small_k_backward_input(s, grad_output + n * out_plane, weight, grad_input + n * in_plane);
    sgemm(true, false, s.in_channels, s.spatial, s.out_channels, 1.0f, weight, s.in_channels,
          grad_output + n * out_plane, s.spatial, 1.0f, grad_input + n * in_plane, s.spatial);
  };
  const int threads = batch_threads(s);
  if (threads <= 1) {
    for (long n = 0; n < s.batch; ++n) one_image(n);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (long n = 0; n < s.batch; ++n) one_image(n);
}

void pointwise_conv2d_backward_weight(const PointwiseShape& s, const float* input,
                                      const float* grad_output, float* grad_weight,
                                      float* grad_bias) {
  const long hw = s.spatial;
  const long in_plane = s.in_channels * hw, out_plane = s.out_channels * hw;
  const long w_size = static_cast<long>(s.out_channels) * s.in_channels;
  // grad_W += go[n] (Cout × HW) · input[n]ᵀ (HW × Cin), summed over n in order.
  auto accumulate_images = [&](long first, long last, float* dst) {
    if (w_size <= kFewWeights) {
      // Few weights: one pass over the slice, vector accumulators carried across images (one
      // sgemm per image was all call and per-call reduction overhead: 6→16 @8×8, 64 images,
      // 31 µs at 2 threads for a 12 µs forward).
      sgemm_abt_sum(s.out_channels, s.in_channels, static_cast<int>(hw), static_cast<int>(last - first),
                    grad_output + first * out_plane, hw, out_plane, input + first * in_plane, hw, in_plane, dst,
                    s.in_channels);
      return;
    }
    for (long n = first; n < last; ++n)
      sgemm(false, true, s.out_channels, s.in_channels, s.spatial, 1.0f,
            grad_output + n * out_plane, s.spatial, input + n * in_plane, s.spatial, 1.0f, dst,
            s.in_channels);
  };
  const int threads = batch_threads(s);
  if (threads <= 1) {
    accumulate_images(0, s.batch, grad_weight);
  } else {
    // Each thread sums a contiguous slice of the batch into its own partial; the partials
    // are then added in thread order: deterministic for a fixed thread count.
    std::vector<float> partial(static_cast<long>(threads) * w_size, 0.0f);
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), nt = omp_get_num_threads();
      const long first = s.batch * static_cast<long>(t) / nt;
      const long last = s.batch * static_cast<long>(t + 1) / nt;
      accumulate_images(first, last, partial.data() + t * w_size);
#pragma omp barrier
#pragma omp for schedule(static)
      for (long i = 0; i < w_size; ++i) {
        float acc = grad_weight[i];
        for (int p = 0; p < nt; ++p) acc += partial[p * w_size + i];
        grad_weight[i] = acc;
      }
    }
  }
  if (grad_bias) {
    const int threads_b = threads_for(static_cast<long>(s.batch) * out_plane, 1L << 16);
#pragma omp parallel for schedule(static) num_threads(threads_b)
    for (int co = 0; co < s.out_channels; ++co) {
      LaneSum sum;  // a serial float sum here was add-latency bound: 4 cycles per element
      for (long n = 0; n < s.batch; ++n) {
        const float* g = grad_output + n * out_plane + co * hw;
        sum.add(hw, [g](long i) { return g[i]; });
      }
      grad_bias[co] += static_cast<float>(sum.total());
    }
  }
}

}  // namespace sepnet::kernels
