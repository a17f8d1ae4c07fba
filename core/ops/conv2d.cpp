// conv2d: depthwise convs (groups == C_in == C_out) run the direct depthwise kernels, 1×1
// stride-1 convs (groups == 1) the pointwise kernels (GEMM on the input itself, no im2col);
// every other conv runs per image and group as GEMM on im2col columns (grouped 1×1 convs skip
// the im2col). Images are split across threads; each thread owns
// its column buffer and weight-gradient partial, summed in thread order (deterministic).
#include <algorithm>
#include <cstring>
#include <vector>

#include "core/autograd.h"
#include "core/ops.h"
#include "core/ops/check.h"
#include "kernels/depthwise.h"
#include "kernels/gemm.h"
#include "kernels/im2col.h"
#include "kernels/parallel.h"
#include "kernels/pointwise.h"

namespace sepnet::ops {

namespace {

struct ConvParams {
  int batch, in_channels, in_h, in_w, out_channels, kernel_h, kernel_w, stride, pad, groups;
  int out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
  bool depthwise() const { return groups == in_channels && out_channels == in_channels; }
  bool pointwise() const { return kernel_h == 1 && kernel_w == 1 && stride == 1 && pad == 0; }
  bool dense_pointwise() const { return pointwise() && groups == 1; }
  int in_per_group() const { return in_channels / groups; }
  int out_per_group() const { return out_channels / groups; }
  long in_plane() const { return static_cast<long>(in_h) * in_w; }
  long out_plane() const { return static_cast<long>(out_h()) * out_w(); }
  long group_k() const { return static_cast<long>(in_per_group()) * kernel_h * kernel_w; }
  kernels::ConvGeometry group_geometry() const {
    return {in_per_group(), in_h, in_w, kernel_h, kernel_w, stride, pad};
  }
  kernels::DepthwiseShape depthwise_shape() const {
    return {batch, in_channels, in_h, in_w, kernel_h, kernel_w, stride, pad};
  }
  kernels::PointwiseShape pointwise_shape() const {
    return {batch, in_channels, out_channels, static_cast<int>(in_plane())};
  }
};

ConvParams check_conv(const Tensor& x, const Tensor& w, const Tensor& b, int stride, int pad, int groups) {
  const std::string op = "conv2d";
  detail::require_ndim(op, "input", x, 4);
  detail::require_ndim(op, "weight", w, 4);
  if (stride < 1 || pad < 0 || groups < 1)
    detail::shape_error(op, "needs stride >= 1, pad >= 0, groups >= 1 (got stride " + std::to_string(stride) +
                                ", pad " + std::to_string(pad) + ", groups " + std::to_string(groups) + ")");
  ConvParams p{static_cast<int>(x.dim(0)), static_cast<int>(x.dim(1)), static_cast<int>(x.dim(2)),
               static_cast<int>(x.dim(3)), static_cast<int>(w.dim(0)), static_cast<int>(w.dim(2)),
               static_cast<int>(w.dim(3)), stride, pad, groups};
  if (p.in_channels % groups != 0 || p.out_channels % groups != 0 || w.dim(1) != p.in_channels / groups)
    detail::shape_error(op, "weight " + shape_to_string(w.shape()) + " does not fit input " +
                                shape_to_string(x.shape()) + " with groups " + std::to_string(groups));
  if (p.in_h + 2 * pad < p.kernel_h || p.in_w + 2 * pad < p.kernel_w)
    detail::shape_error(op, "kernel " + std::to_string(p.kernel_h) + "x" + std::to_string(p.kernel_w) +
                                " larger than padded input " + shape_to_string(x.shape()));
  if (b.defined() && (b.ndim() != 1 || b.dim(0) != p.out_channels))
    detail::shape_error(op, "bias must be [" + std::to_string(p.out_channels) + "], got " + shape_to_string(b.shape()));
  return p;
}

// Threads that split the batch; with fewer images than threads, GEMM threads internally instead.
int batch_threads(const ConvParams& p) {
  int t = kernels::available_threads();
  return p.batch >= t ? t : 1;
}

// Y[n] (C_out × P) = W · columns(X[n]) + bias, for every image and group.
void conv_forward_gemm(const ConvParams& p, const float* x, const float* w, const float* bias, float* y) {
  const int threads = batch_threads(p);
  const long cols = p.out_plane(), k = p.group_k();
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    std::vector<float> columns(p.pointwise() ? 0 : static_cast<size_t>(k * cols));
#pragma omp for schedule(static)
    for (int n = 0; n < p.batch; ++n)
      for (int g = 0; g < p.groups; ++g) {
        const float* xg = x + (static_cast<long>(n) * p.in_channels + g * p.in_per_group()) * p.in_plane();
        float* yg = y + (static_cast<long>(n) * p.out_channels + g * p.out_per_group()) * cols;
        const float* b_matrix = xg;
        if (!p.pointwise()) {
          kernels::im2col(p.group_geometry(), xg, columns.data());
          b_matrix = columns.data();
        }
        kernels::sgemm(false, false, p.out_per_group(), static_cast<int>(cols), static_cast<int>(k), 1.0f,
                       w + g * p.out_per_group() * k, static_cast<int>(k), b_matrix, static_cast<int>(cols),
                       0.0f, yg, static_cast<int>(cols));
        if (bias)
          for (int o = 0; o < p.out_per_group(); ++o) {
            const float bv = bias[g * p.out_per_group() + o];
            float* row = yg + o * cols;
            for (long i = 0; i < cols; ++i) row[i] += bv;
          }
      }
  }
}

void conv_backward_gemm(const ConvParams& p, const float* x, const float* w, const float* gy, float* gx,
                        float* gw, float* gb) {
  const int threads = batch_threads(p);
  const long cols = p.out_plane(), k = p.group_k();
  const long w_size = static_cast<long>(p.out_channels) * k;
  // Per-thread weight-gradient partials, summed in thread order afterwards.
  std::vector<float> partials(gw ? static_cast<size_t>(threads * w_size) : 0, 0.0f);
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    const int t = omp_get_thread_num();  // 0 when the region is not active
    float* my_gw = gw ? partials.data() + t * w_size : nullptr;
    std::vector<float> columns(p.pointwise() ? 0 : static_cast<size_t>(k * cols));
    std::vector<float> grad_columns(p.pointwise() || !gx ? 0 : static_cast<size_t>(k * cols));
#pragma omp for schedule(static)
    for (int n = 0; n < p.batch; ++n)
      for (int g = 0; g < p.groups; ++g) {
        const long x_off = (static_cast<long>(n) * p.in_channels + g * p.in_per_group()) * p.in_plane();
        const float* gyg = gy + (static_cast<long>(n) * p.out_channels + g * p.out_per_group()) * cols;
        const float* wg = w + g * p.out_per_group() * k;
        if (my_gw) {  // dW_g += dY_g · columnsᵀ
          const float* b_matrix = x + x_off;
          if (!p.pointwise()) {
            kernels::im2col(p.group_geometry(), x + x_off, columns.data());
            b_matrix = columns.data();
          }
          kernels::sgemm(false, true, p.out_per_group(), static_cast<int>(k), static_cast<int>(cols), 1.0f, gyg,
                         static_cast<int>(cols), b_matrix, static_cast<int>(cols), 1.0f,
                         my_gw + g * p.out_per_group() * k, static_cast<int>(k));
        }
        if (gx) {  // dcolumns = W_gᵀ · dY_g, scattered back by col2im
          if (p.pointwise()) {
            kernels::sgemm(true, false, static_cast<int>(k), static_cast<int>(cols), p.out_per_group(), 1.0f, wg,
                           static_cast<int>(k), gyg, static_cast<int>(cols), 1.0f, gx + x_off, static_cast<int>(cols));
          } else {
            kernels::sgemm(true, false, static_cast<int>(k), static_cast<int>(cols), p.out_per_group(), 1.0f, wg,
                           static_cast<int>(k), gyg, static_cast<int>(cols), 0.0f, grad_columns.data(),
                           static_cast<int>(cols));
            kernels::col2im_accumulate(p.group_geometry(), grad_columns.data(), gx + x_off);
          }
        }
      }
  }
  if (gw)
    for (int t = 0; t < threads; ++t)
      for (long i = 0; i < w_size; ++i) gw[i] += partials[t * w_size + i];
  if (gb)
    for (int n = 0; n < p.batch; ++n)
      for (int o = 0; o < p.out_channels; ++o) {
        const float* row = gy + (static_cast<long>(n) * p.out_channels + o) * cols;
        float s = 0.0f;
        for (long i = 0; i < cols; ++i) s += row[i];
        gb[o] += s;
      }
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad, int groups) {
  const ConvParams p = check_conv(x, weight, bias, stride, pad, groups);
  const Shape out_shape{p.batch, p.out_channels, p.out_h(), p.out_w()};
  auto xi = x.impl_ptr(), wi = weight.impl_ptr(), bi = bias.impl_ptr();
  Tensor y = make_result(out_shape, {x, weight, bias}, [p, xi, wi, bi](TensorImpl& self) {
    const float* gy = self.grad->data();
    float* gx = xi->requires_grad ? xi->grad_data() : nullptr;
    float* gw = wi->requires_grad ? wi->grad_data() : nullptr;
    float* gb = bi && bi->requires_grad ? bi->grad_data() : nullptr;
    if (p.depthwise()) {
      const auto s = p.depthwise_shape();
      if (gx) kernels::depthwise_conv2d_backward_input(s, gy, wi->data(), gx);
      if (gw || gb) {
        // The kernel fills both; route a missing one to scratch.
        std::vector<float> scratch_w(gw ? 0 : wi->numel()), scratch_b(gb || !bi ? 0 : bi->numel());
        kernels::depthwise_conv2d_backward_weight(s, xi->data(), gy, gw ? gw : scratch_w.data(),
                                                  gb ? gb : (bi ? scratch_b.data() : nullptr));
      }
    } else if (p.dense_pointwise()) {
      const auto s = p.pointwise_shape();
      if (gx) kernels::pointwise_conv2d_backward_input(s, gy, wi->data(), gx);
      if (gw || gb) {
        std::vector<float> scratch_w(gw ? 0 : wi->numel());
        kernels::pointwise_conv2d_backward_weight(s, xi->data(), gy, gw ? gw : scratch_w.data(), gb);
      }
    } else {
      conv_backward_gemm(p, xi->data(), wi->data(), gy, gx, gw, gb);
    }
  });
  const float* b = bias.defined() ? bias.data() : nullptr;
  if (p.depthwise())
    kernels::depthwise_conv2d_forward(p.depthwise_shape(), x.data(), weight.data(), b, y.data(), false);
  else if (p.dense_pointwise())
    kernels::pointwise_conv2d_forward(p.pointwise_shape(), x.data(), weight.data(), b, y.data());
  else
    conv_forward_gemm(p, x.data(), weight.data(), b, y.data());
  return y;
}

}  // namespace sepnet::ops
