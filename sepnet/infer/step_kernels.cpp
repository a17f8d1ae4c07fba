#include "sepnet/infer/step_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>

#include "sepnet/infer/conv_step.h"
#include "sepnet/infer/epilogue.h"
#include "sepnet/kernels/batchnorm.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/layout.h"
#include "sepnet/kernels/parallel.h"
#include "sepnet/kernels/pool.h"

namespace sepnet::infer {

namespace {

// Rows × channels view of a tensor for the per-channel ops: NCHW is planes, NHWC is rows.
int64_t plane_of(const Shape& s) {
  int64_t plane = 1;
  for (size_t k = 2; k < s.size(); ++k) plane *= s[k];
  return plane;
}

void batch_norm(const Step& s, const float* const* in, float* y) {
  const Attributes& a = s.node->attributes;
  const int64_t n = s.in_shape[0], c = s.in_shape[1], plane = plane_of(s.in_shape);
  const bool relu = a.activation == Activation::relu;
  const Epilogue clip_only = a.activation == Activation::clip ? epilogue_of(a) : Epilogue{};
  if (s.input_nhwc) {
    kernels::batchnorm_nhwc_forward_eval(n * plane, static_cast<int>(c), in[0], in[1], in[2], in[3], in[4], a.epsilon, y, relu);
    apply_rows(y, n * plane, c, nullptr, clip_only);
  } else {
    kernels::batchnorm_forward_eval({static_cast<int>(n), static_cast<int>(c), static_cast<long>(plane)}, in[0], in[1],
                                    in[2], in[3], in[4], a.epsilon, y, relu);
    apply_planes(y, n * c, plane, c, nullptr, clip_only);
  }
}

// Max pooling without padding and with one kernel size and stride: kernels::max_pool2d_forward
// (vectorized for 2×2 / 2).
bool plain_max_pool(const Step& s) {
  const Attributes& a = s.node->attributes;
  return s.node->op == OpKind::max_pool && a.pads == std::array<int, 4>{0, 0, 0, 0} && a.kernel[0] == a.kernel[1] &&
         a.stride[0] == a.stride[1];
}

void pool(const Step& s, const float* x, float* y, int32_t* indices) {
  const Attributes& a = s.node->attributes;
  const bool is_max = s.node->op == OpKind::max_pool;
  if (plain_max_pool(s)) {
    kernels::max_pool2d_forward({static_cast<int>(s.in_shape[0]), static_cast<int>(s.in_shape[1]),
                                 static_cast<int>(s.in_shape[2]), static_cast<int>(s.in_shape[3]), a.kernel[0], a.stride[0]},
                                x, y, indices);
    return;
  }
  const int64_t planes = s.in_shape[0] * s.in_shape[1], H = s.in_shape[2], W = s.in_shape[3];
  const int64_t OH = s.out_shape[2], OW = s.out_shape[3];
  const int threads = kernels::threads_for(planes * OH * OW * a.kernel[0] * a.kernel[1], 1L << 15);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        float best = -std::numeric_limits<float>::infinity(), sum = 0.0f;
        int count = 0;
        for (int kh = 0; kh < a.kernel[0]; ++kh) {
          const int64_t ih = oh * a.stride[0] - a.pads[0] + kh;
          if (ih < 0 || ih >= H) continue;
          for (int kw = 0; kw < a.kernel[1]; ++kw) {
            const int64_t iw = ow * a.stride[1] - a.pads[1] + kw;
            if (iw < 0 || iw >= W) continue;
            const float v = x[(p * H + ih) * W + iw];
            best = std::max(best, v);
            sum += v;
            ++count;
          }
        }
        const int divisor = a.count_include_pad ? a.kernel[0] * a.kernel[1] : count;
        y[(p * OH + oh) * OW + ow] = is_max ? best : sum / static_cast<float>(divisor);
      }
}

void global_average_pool(const Step& s, const float* x, float* y) {
  const int64_t n = s.in_shape[0], c = s.in_shape[1], plane = s.in_shape[2] * s.in_shape[3];
  const float inv = 1.0f / static_cast<float>(plane);
  if (s.input_nhwc) {
    for (int64_t b = 0; b < n; ++b) {
      float* out = y + b * c;
      std::fill(out, out + c, 0.0f);
      for (int64_t p = 0; p < plane; ++p) {
        const float* row = x + (b * plane + p) * c;
        for (int64_t k = 0; k < c; ++k) out[k] += row[k];
      }
      for (int64_t k = 0; k < c; ++k) out[k] *= inv;
    }
  } else {
    for (int64_t p = 0; p < n * c; ++p) {
      float sum = 0.0f;
      for (int64_t k = 0; k < plane; ++k) sum += x[p * plane + k];
      y[p] = sum * inv;
    }
  }
  apply_rows(y, n, c, nullptr, epilogue_of(s.node->attributes));
}

void gemm(const Step& s, const float* const* in, float* y) {
  const Attributes& a = s.node->attributes;
  const int m = static_cast<int>(s.out_shape[0]), n = static_cast<int>(s.out_shape[1]);
  const int k = static_cast<int>(a.trans_a ? s.in_shape[0] : s.in_shape[1]);
  float beta = 0.0f;
  if (s.inputs.size() == 3 && a.beta != 0.0f) {
    // C broadcast to [M, N] (scalar, [N], [1, N], [M, 1] or [M, N]) and scaled by beta, then
    // accumulated into by the GEMM.
    const Shape& cs = s.c_shape;
    const int64_t rows = cs.size() == 2 ? cs[0] : 1, cols = cs.empty() ? 1 : cs.back();
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) y[i * n + j] = a.beta * in[2][(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
    beta = 1.0f;
  }
  kernels::sgemm(a.trans_a, a.trans_b, m, n, k, a.alpha, in[0], a.trans_a ? m : k, in[1], a.trans_b ? k : n, beta, y, n);
  apply_rows(y, m, n, nullptr, epilogue_of(a));
}

void matmul(const Step& s, const float* const* in, float* y) {
  const int n = static_cast<int>(s.out_shape.back());
  const int k = static_cast<int>(s.in_shape.back());
  const int rows = static_cast<int>(shape_numel(s.in_shape) / std::max(k, 1));
  kernels::sgemm(false, false, rows, n, k, 1.0f, in[0], k, in[1], n, 0.0f, y, n);
  apply_rows(y, rows, n, nullptr, epilogue_of(s.node->attributes));
}

void add(const Step& s, const float* const* in, float* y) {
  const int64_t count = shape_numel(s.out_shape);
  if (s.in_shape == s.out_shape && s.b_shape == s.out_shape) {
    const int threads = kernels::threads_for(count, 1L << 16);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int64_t i = 0; i < count; ++i) y[i] = in[0][i] + in[1][i];
  } else {
    for (int64_t i = 0; i < count; ++i)
      y[i] = in[0][broadcast_index(i, s.out_shape, s.in_shape)] + in[1][broadcast_index(i, s.out_shape, s.b_shape)];
  }
  apply_rows(y, 1, count, nullptr, epilogue_of(s.node->attributes));
}

void elementwise(const Step& s, const float* x, float* y) {
  const Attributes& a = s.node->attributes;
  const int64_t count = shape_numel(s.out_shape);
  const float lo = s.node->op == OpKind::relu ? 0.0f : a.clip_min;
  const float hi = s.node->op == OpKind::relu ? std::numeric_limits<float>::infinity() : a.clip_max;
  const int threads = kernels::threads_for(count, 1L << 16);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(x[i], lo), hi);
}

void softmax(const Step& s, const float* x, float* y) {
  const int r = static_cast<int>(s.in_shape.size());
  const int axis = s.node->attributes.axis < 0 ? s.node->attributes.axis + r : s.node->attributes.axis;
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= s.in_shape[k];
  for (int k = axis + 1; k < r; ++k) inner *= s.in_shape[k];
  const int64_t len = s.in_shape[axis];
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* src = x + o * len * inner + i;
      float* dst = y + o * len * inner + i;
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < len; ++k) top = std::max(top, src[k * inner]);
      float total = 0.0f;
      for (int64_t k = 0; k < len; ++k) total += (dst[k * inner] = std::exp(src[k * inner] - top));
      const float inv = 1.0f / total;
      for (int64_t k = 0; k < len; ++k) dst[k * inner] *= inv;
    }
  apply_rows(y, 1, shape_numel(s.out_shape), nullptr, epilogue_of(s.node->attributes));
}

const char* conv_kernel_name(ConvKernel k) {
  switch (k) {
    case ConvKernel::depthwise_nhwc: return "depthwise NHWC";
    case ConvKernel::pointwise_nhwc: return "1×1 GEMM NHWC";
    case ConvKernel::stem: return "stem NCHW→NHWC";
    case ConvKernel::direct: return "direct NCHW";
    case ConvKernel::pointwise: return "pointwise NCHW";
    case ConvKernel::depthwise: return "depthwise NCHW";
    case ConvKernel::im2col_gemm: return "im2col + GEMM NCHW";
  }
  return "?";
}

}  // namespace

int64_t scratch_floats_for(const Step& s) { return s.kind == StepKind::conv ? conv_scratch_floats(s) : 0; }
int64_t index_scratch_for(const Step& s) { return s.kind == StepKind::pool && plain_max_pool(s) ? shape_numel(s.out_shape) : 0; }

void run_step(const Step& s, const float* const* in, float* y, float* scratch, int32_t* index_scratch) {
  switch (s.kind) {
    case StepKind::conv: run_conv(s, in, y, scratch); return;
    case StepKind::batch_norm: batch_norm(s, in, y); return;
    case StepKind::elementwise: elementwise(s, in[0], y); return;
    case StepKind::add: add(s, in, y); return;
    case StepKind::pool: pool(s, in[0], y, index_scratch); return;
    case StepKind::global_average_pool: global_average_pool(s, in[0], y); return;
    case StepKind::gemm: gemm(s, in, y); return;
    case StepKind::matmul: matmul(s, in, y); return;
    case StepKind::softmax: softmax(s, in[0], y); return;
    case StepKind::copy: std::memcpy(y, in[0], sizeof(float) * shape_numel(s.out_shape)); return;
    case StepKind::to_nhwc:
    case StepKind::to_nchw: {
      const int n = static_cast<int>(s.in_shape[0]), c = static_cast<int>(s.in_shape[1]);
      const long pixels = static_cast<long>(plane_of(s.in_shape));
      (s.kind == StepKind::to_nhwc ? kernels::nchw_to_nhwc : kernels::nhwc_to_nchw)(n, c, pixels, in[0], y);
      return;
    }
  }
}

std::string describe_step(const Step& s) {
  const char* act = "";
  if (s.node && s.node->attributes.activation == Activation::relu) act = " + Relu";
  if (s.node && s.node->attributes.activation == Activation::clip) act = " + Clip";
  std::string how;
  if (s.kind == StepKind::conv) how = std::string(" [") + conv_kernel_name(s.conv.kernel) + "]";
  else if (s.input_nhwc) how = " [NHWC]";
  return fmt::format("{}{}{} -> {}", s.label, act, how, shape_to_string(s.out_shape));
}

}  // namespace sepnet::infer
