// conv2d: few-channel dense stride-1 convs (the MNIST convs) run the direct kernels;
// depthwise convs (groups == C_in == C_out, or C_out a multiple of C_in, through a
// replicated input) run the direct depthwise kernels, 1×1
// stride-1 convs (groups == 1) the pointwise kernels (GEMM on the input itself, no im2col);
// every other conv runs per image and group as GEMM on im2col columns (grouped 1×1 convs skip
// the im2col). Images are split across threads; each thread owns
// its column buffer and weight-gradient partial, summed in thread order (deterministic).
#include <algorithm>
#include <cstring>
#include <vector>

#include "sepnet/core/autograd.h"
#include "sepnet/core/ops.h"
#include "sepnet/core/ops/check.h"
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/eltwise.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/im2col.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/pointwise.h"

namespace sepnet::ops {

namespace {

struct ConvParams {
  int batch, in_channels, in_h, in_w, out_channels, kernel_h, kernel_w, stride, pad, groups;
  int out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
  // A 1-channel input makes a dense 1×1 conv (groups == 1 == C_in) look depthwise too; it runs
  // as the pointwise GEMM/loops instead (replicating the input first cost 9× the conv itself:
  // the 1→6 1×1 conv of the MNIST dwsep net was a quarter of its training step).
  bool depthwise() const {
    return groups == in_channels && out_channels == in_channels && !dense_pointwise();
  }
  // groups == C_in with C_out = m·C_in (e.g. the 1→6 first conv of the MNIST nets): each output
  // channel o filters input channel o / m, i.e. a depthwise conv over the input replicated m times.
  bool depthwise_multiplier() const {
    return groups == in_channels && out_channels % in_channels == 0 && out_channels > in_channels &&
           !dense_pointwise();
  }
  int multiplier() const { return out_channels / in_channels; }
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
  // Over the output channels: equal to the input channels for plain depthwise, or the replicated
  // input's channels with a multiplier.
  kernels::DepthwiseShape depthwise_shape() const {
    return {batch, out_channels, in_h, in_w, kernel_h, kernel_w, stride, pad};
  }
  kernels::DirectConvShape direct_shape() const {
    return {batch, in_channels, in_h, in_w, out_channels, kernel_h, kernel_w, pad};
  }
  // Few-channel dense stride-1 convs (the MNIST convs) run the direct kernels: no im2col.
  bool direct() const { return groups == 1 && stride == 1 && kernels::direct_conv2d_suits(direct_shape()); }
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

// Images per GEMM: several images' columns side by side ([K × images·OH·OW]) make one wider
// GEMM instead of many tiny ones, but the chunk stays about L2-sized (64 Ki floats): measured on
// the MNIST convs, whole-batch GEMMs (6×36864×25) were slower than this, since their columns
// spill to L3 between im2col and GEMM.
int chunk_images(const ConvParams& p) {
  const long per_image = p.group_k() * p.out_plane();
  const long fit = std::max(1L, (64L << 10) / std::max(1L, per_image));
  return static_cast<int>(std::min<long>(fit, p.batch));
}

float* scratch(std::shared_ptr<Storage>& s, long count) {
  if (!s || s->size() < count) s = make_storage(count, false);
  return s->data();
}

long x_offset(const ConvParams& p, int n, int g) {
  return (static_cast<long>(n) * p.in_channels + static_cast<long>(g) * p.in_per_group()) * p.in_plane();
}
long y_offset(const ConvParams& p, int n, int g) {
  return (static_cast<long>(n) * p.out_channels + static_cast<long>(g) * p.out_per_group()) * p.out_plane();
}

// columns[:, i·P : (i+1)·P] = im2col(image n0 + i), images split across threads.
void batch_im2col(const ConvParams& p, const float* x, int g, int n0, int nb, float* columns) {
  const long P = p.out_plane(), ld = nb * P;
  const int threads = kernels::threads_for(nb * p.group_k() * P, 1L << 15);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int i = 0; i < nb; ++i) kernels::im2col(p.group_geometry(), x + x_offset(p, n0 + i, g), columns + i * P, ld);
}

// Y[n][g] (C_out/g × P) = W_g · columns(X[n][g]) + bias, one GEMM per group and chunk of images.
// nhwc_out (groups == 1): Y is written channels-last, [images·P × C_out] = columnsᵀ · Wᵀ, the
// same GEMM with both operands transposed (the chunk's images are consecutive rows of Y).
void conv_forward_gemm(const ConvParams& p, const float* x, const float* w, const float* bias, float* y,
                       bool nhwc_out = false) {
  const long P = p.out_plane(), k = p.group_k();
  const int cog = p.out_per_group(), chunk = chunk_images(p);
  std::shared_ptr<Storage> columns_buffer, out_buffer;
  for (int g = 0; g < p.groups; ++g)
    for (int n0 = 0; n0 < p.batch; n0 += chunk) {
      const int nb = std::min(chunk, p.batch - n0);
      const long ld = nb * P;
      float* columns = scratch(columns_buffer, k * ld);
      batch_im2col(p, x, g, n0, nb, columns);
      if (nhwc_out) {
        float* out = y + n0 * P * p.out_channels;
        kernels::sgemm(true, true, static_cast<int>(ld), cog, static_cast<int>(k), 1.0f, columns,
                       static_cast<int>(ld), w, static_cast<int>(k), 0.0f, out, cog);
        if (bias)
          for (long r = 0; r < ld; ++r)
            for (int o = 0; o < cog; ++o) out[r * cog + o] += bias[o];
        continue;
      }
      float* out = scratch(out_buffer, cog * ld);
      kernels::sgemm(false, false, cog, static_cast<int>(ld), static_cast<int>(k), 1.0f, w + g * cog * k,
                     static_cast<int>(k), columns, static_cast<int>(ld), 0.0f, out, static_cast<int>(ld));
      // [C_out/g × images·P] back to NCHW, adding the bias on the way.
      const int threads = kernels::threads_for(cog * ld, 1L << 15);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
      for (int i = 0; i < nb; ++i)
        for (int o = 0; o < cog; ++o) {
          const float* src = out + o * ld + i * P;
          float* dst = y + y_offset(p, n0 + i, g) + o * P;
          const float b = bias ? bias[g * cog + o] : 0.0f;
          for (long j = 0; j < P; ++j) dst[j] = src[j] + b;
        }
    }
}

void conv_backward_gemm(const ConvParams& p, const float* x, const float* w, const float* gy, float* gx,
                        float* gw, float* gb, bool nhwc_out = false) {
  const long P = p.out_plane(), k = p.group_k();
  const int cog = p.out_per_group(), chunk = chunk_images(p);
  std::shared_ptr<Storage> columns_buffer, grad_out_buffer, grad_columns_buffer;
  for (int g = 0; g < p.groups; ++g)
    for (int n0 = 0; n0 < p.batch; n0 += chunk) {
      const int nb = std::min(chunk, p.batch - n0);
      const long ld = nb * P;
      if (nhwc_out) {  // dY of the chunk is already one [images·P × C_out] matrix
        const float* gyc = gy + n0 * P * p.out_channels;
        if (gw) {  // dW += dYᵀ · columnsᵀ
          float* columns = scratch(columns_buffer, k * ld);
          batch_im2col(p, x, g, n0, nb, columns);
          kernels::sgemm(true, true, cog, static_cast<int>(k), static_cast<int>(ld), 1.0f, gyc, cog, columns,
                         static_cast<int>(ld), 1.0f, gw, static_cast<int>(k));
        }
        if (gx) {  // dcolumns = Wᵀ · dYᵀ
          float* grad_columns = scratch(grad_columns_buffer, k * ld);
          kernels::sgemm(true, true, static_cast<int>(k), static_cast<int>(ld), cog, 1.0f, w, static_cast<int>(k),
                         gyc, cog, 0.0f, grad_columns, static_cast<int>(ld));
          for (int i = 0; i < nb; ++i)
            kernels::col2im_accumulate(p.group_geometry(), grad_columns + i * P, ld, gx + x_offset(p, n0 + i, g));
        }
        if (gb)
          for (long r = 0; r < ld; ++r)
            for (int o = 0; o < cog; ++o) gb[o] += gyc[r * cog + o];
        continue;
      }
      // dY of the chunk as one [C_out/g × images·P] matrix.
      float* grad_out = scratch(grad_out_buffer, cog * ld);
      const int threads = kernels::threads_for(cog * ld, 1L << 15);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
      for (int i = 0; i < nb; ++i)
        for (int o = 0; o < cog; ++o)
          std::memcpy(grad_out + o * ld + i * P, gy + y_offset(p, n0 + i, g) + o * P, sizeof(float) * P);
      if (gw) {  // dW_g += dY · columnsᵀ
        float* columns = scratch(columns_buffer, k * ld);
        batch_im2col(p, x, g, n0, nb, columns);
        kernels::sgemm(false, true, cog, static_cast<int>(k), static_cast<int>(ld), 1.0f, grad_out,
                       static_cast<int>(ld), columns, static_cast<int>(ld), 1.0f, gw + g * cog * k, static_cast<int>(k));
      }
      if (gx) {  // dcolumns = W_gᵀ · dY, scattered back into each image by col2im
        float* grad_columns = scratch(grad_columns_buffer, k * ld);
        kernels::sgemm(true, false, static_cast<int>(k), static_cast<int>(ld), cog, 1.0f, w + g * cog * k,
                       static_cast<int>(k), grad_out, static_cast<int>(ld), 0.0f, grad_columns, static_cast<int>(ld));
        const int col_threads = kernels::threads_for(nb * k * P, 1L << 15);
#pragma omp parallel for num_threads(col_threads) schedule(static) if (col_threads > 1)
        for (int i = 0; i < nb; ++i)
          kernels::col2im_accumulate(p.group_geometry(), grad_columns + i * P, ld, gx + x_offset(p, n0 + i, g));
      }
      if (gb)
        for (int o = 0; o < cog; ++o) {
          const float* row = grad_out + o * ld;
          float sum = 0.0f;
          for (long j = 0; j < ld; ++j) sum += row[j];
          gb[g * cog + o] += sum;
        }
    }
}

// x_rep[n][c·m + j] = x[n][c]: the input as the depthwise kernels see it with a multiplier m.
std::shared_ptr<Storage> replicate_channels(const ConvParams& p, const float* x) {
  auto rep = make_storage(static_cast<int64_t>(p.batch) * p.out_channels * p.in_plane(), false);
  const int m = p.multiplier();
  for (int n = 0; n < p.batch; ++n)
    for (int c = 0; c < p.in_channels; ++c)
      for (int j = 0; j < m; ++j)
        std::memcpy(rep->data() + (static_cast<long>(n) * p.out_channels + c * m + j) * p.in_plane(),
                    x + (static_cast<long>(n) * p.in_channels + c) * p.in_plane(), sizeof(float) * p.in_plane());
  return rep;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad, int groups) {
  const ConvParams p = check_conv(x, weight, bias, stride, pad, groups);
  const Shape out_shape{p.batch, p.out_channels, p.out_h(), p.out_w()};
  auto xi = x.impl_ptr(), wi = weight.impl_ptr(), bi = bias.impl_ptr();
  std::shared_ptr<Storage> replicated =
      !p.direct() && p.depthwise_multiplier() ? replicate_channels(p, x.data()) : nullptr;
  Tensor y = make_result(out_shape, {x, weight, bias}, [p, xi, wi, bi, replicated](TensorImpl& self) {
    const float* gy = self.grad->data();
    float* gw = wi->requires_grad ? wi->grad_data() : nullptr;
    float* gb = bi && bi->requires_grad ? bi->grad_data() : nullptr;
    if (p.direct()) {  // writes every input-gradient element: a fresh buffer is assigned, not zeroed
      const auto s = p.direct_shape();
      if (xi->requires_grad) {
        bool accumulate;
        float* gx = xi->grad_data_for_write(accumulate);
        kernels::direct_conv2d_backward_input(s, gy, wi->data(), gx, accumulate);
      }
      if (gw || gb) kernels::direct_conv2d_backward_weight(s, xi->data(), gy, gw, gb);
      return;
    }
    float* gx = xi->requires_grad ? xi->grad_data() : nullptr;
    if (p.depthwise_multiplier()) {
      const auto s = p.depthwise_shape();
      if (gx) {  // gradient of the replicated input, summed back over each channel's m copies
        auto grad_rep = make_storage(replicated->size(), true);
        kernels::depthwise_conv2d_backward_input(s, gy, wi->data(), grad_rep->data());
        const int m = p.multiplier();
        for (int n = 0; n < p.batch; ++n)
          for (int c = 0; c < p.in_channels; ++c)
            for (int j = 0; j < m; ++j)
              kernels::add_scaled(p.in_plane(), 1.0f,
                                  grad_rep->data() + (static_cast<long>(n) * p.out_channels + c * m + j) * p.in_plane(),
                                  gx + (static_cast<long>(n) * p.in_channels + c) * p.in_plane());
      }
      if (gw || gb) {
        std::vector<float> scratch_w(gw ? 0 : wi->numel());
        kernels::depthwise_conv2d_backward_weight(s, replicated->data(), gy, gw ? gw : scratch_w.data(), gb);
      }
    } else if (p.depthwise()) {
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
  if (p.direct())
    kernels::direct_conv2d_forward(p.direct_shape(), x.data(), weight.data(), b, y.data());
  else if (p.depthwise_multiplier())
    kernels::depthwise_conv2d_forward(p.depthwise_shape(), replicated->data(), weight.data(), b, y.data(), false);
  else if (p.depthwise())
    kernels::depthwise_conv2d_forward(p.depthwise_shape(), x.data(), weight.data(), b, y.data(), false);
  else if (p.dense_pointwise())
    kernels::pointwise_conv2d_forward(p.pointwise_shape(), x.data(), weight.data(), b, y.data());
  else
    conv_forward_gemm(p, x.data(), weight.data(), b, y.data());
  return y;
}

Tensor conv2d_nchw_to_nhwc(const Tensor& x, const Tensor& weight, const Tensor& bias, int stride, int pad) {
  const ConvParams p = check_conv(x, weight, bias, stride, pad, 1);
  // 1 or 3 input channels, 3×3 (MobileNet's stem): the direct kernel (kernels/conv_stem.h);
  // anything else, or the image's own gradient, through im2col and a GEMM that writes NHWC.
  const kernels::StemConvShape ss{p.batch, p.in_channels, p.in_h, p.in_w, p.out_channels,
                                  p.kernel_h, p.kernel_w, stride, pad};
  const bool direct = kernels::stem_conv2d_suits(ss);
  auto xi = x.impl_ptr(), wi = weight.impl_ptr(), bi = bias.impl_ptr();
  Tensor y = make_result({p.batch, p.out_h(), p.out_w(), p.out_channels}, {x, weight, bias},
                         [p, ss, direct, xi, wi, bi](TensorImpl& self) {
                           float* gx = xi->requires_grad ? xi->grad_data() : nullptr;
                           float* gw = wi->requires_grad ? wi->grad_data() : nullptr;
                           float* gb = bi && bi->requires_grad ? bi->grad_data() : nullptr;
                           if (!direct) return conv_backward_gemm(p, xi->data(), wi->data(), self.grad->data(), gx, gw, gb, true);
                           if (gx) conv_backward_gemm(p, xi->data(), wi->data(), self.grad->data(), gx, nullptr, nullptr, true);
                           if (gw || gb) kernels::stem_conv2d_backward_weight(ss, xi->data(), self.grad->data(), gw, gb);
                         });
  const float* b = bias.defined() ? bias.data() : nullptr;
  if (direct) kernels::stem_conv2d_forward(ss, x.data(), weight.data(), b, y.data());
  else conv_forward_gemm(p, x.data(), weight.data(), b, y.data(), true);
  return y;
}

}  // namespace sepnet::ops
