// run_reference: every op as the plainest loops over NCHW data, straight from ONNX's definition.
// It is the oracle the executor and the ONNX importer are tested against, so it stays obvious
// rather than fast.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "sepnet/infer/executor.h"
#include "sepnet/infer/node_label.h"
#include "sepnet/infer/op_shapes.h"

namespace sepnet::infer {

namespace {

float activate(float v, const Attributes& a) {
  switch (a.activation) {
    case Activation::none: return v;
    case Activation::relu: return v > 0.0f ? v : 0.0f;
    case Activation::clip: return std::min(std::max(v, a.clip_min), a.clip_max);
  }
  return v;
}

void conv(const Node& n, const std::vector<Tensor>& v, Tensor& y) {
  const Attributes& a = n.attributes;
  const Tensor& x = v[n.inputs[0]];
  const Tensor& w = v[n.inputs[1]];
  const float* bias = n.inputs.size() == 3 ? v[n.inputs[2]].data() : nullptr;
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const int64_t M = w.dim(0), Cg = w.dim(1), KH = w.dim(2), KW = w.dim(3);
  const int64_t OH = y.dim(2), OW = y.dim(3), Mg = M / a.group;
  for (int64_t b = 0; b < N; ++b)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t c0 = (m / Mg) * Cg;
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          double sum = bias ? bias[m] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t kh = 0; kh < KH; ++kh)
              for (int64_t kw = 0; kw < KW; ++kw) {
                const int64_t ih = oh * a.stride[0] - a.pads[0] + kh * a.dilation[0];
                const int64_t iw = ow * a.stride[1] - a.pads[1] + kw * a.dilation[1];
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                sum += static_cast<double>(x.data()[((b * C + c0 + c) * H + ih) * W + iw]) *
                       w.data()[((m * Cg + c) * KH + kh) * KW + kw];
              }
          y.data()[((b * M + m) * OH + oh) * OW + ow] = activate(static_cast<float>(sum), a);
        }
    }
}

void batch_norm(const Node& n, const std::vector<Tensor>& v, Tensor& y) {
  const Tensor& x = v[n.inputs[0]];
  const float *scale = v[n.inputs[1]].data(), *shift = v[n.inputs[2]].data();
  const float *mean = v[n.inputs[3]].data(), *var = v[n.inputs[4]].data();
  const int64_t N = x.dim(0), C = x.dim(1), inner = x.numel() / std::max<int64_t>(1, N * C);
  for (int64_t b = 0; b < N; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t k = 0; k < inner; ++k) {
        const int64_t at = (b * C + c) * inner + k;
        const float normalized = (x.data()[at] - mean[c]) / std::sqrt(var[c] + n.attributes.epsilon);
        y.data()[at] = activate(normalized * scale[c] + shift[c], n.attributes);
      }
}

void pool(const Node& n, const Tensor& x, Tensor& y) {
  const Attributes& a = n.attributes;
  const bool is_max = n.op == OpKind::max_pool;
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3), OH = y.dim(2), OW = y.dim(3);
  for (int64_t p = 0; p < N * C; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double sum = 0.0;
        float best = -std::numeric_limits<float>::infinity();
        int64_t count = 0;
        for (int kh = 0; kh < a.kernel[0]; ++kh)
          for (int kw = 0; kw < a.kernel[1]; ++kw) {
            const int64_t ih = oh * a.stride[0] - a.pads[0] + kh, iw = ow * a.stride[1] - a.pads[1] + kw;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            const float value = x.data()[(p * H + ih) * W + iw];
            best = std::max(best, value);
            sum += value;
            ++count;
          }
        // Pads are smaller than the kernel, so every window holds at least one input pixel.
        const int64_t divisor = a.count_include_pad ? int64_t{a.kernel[0]} * a.kernel[1] : count;
        y.data()[(p * OH + oh) * OW + ow] = activate(is_max ? best : static_cast<float>(sum / divisor), a);
      }
}

void gemm(const Node& n, const std::vector<Tensor>& v, Tensor& y) {
  const Attributes& a = n.attributes;
  const Tensor &A = v[n.inputs[0]], &B = v[n.inputs[1]];
  const int64_t M = y.dim(0), N = y.dim(1), K = a.trans_a ? A.dim(0) : A.dim(1);
  const Tensor* C = n.inputs.size() == 3 ? &v[n.inputs[2]] : nullptr;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < K; ++k) {
        const float av = a.trans_a ? A.data()[k * M + i] : A.data()[i * K + k];
        const float bv = a.trans_b ? B.data()[j * K + k] : B.data()[k * N + j];
        sum += static_cast<double>(av) * bv;
      }
      double out = a.alpha * sum;
      if (C) {
        // C broadcasts to [M, N]: a scalar, [N], [1, N], [M, 1] or [M, N].
        const Shape& cs = C->shape();
        const int64_t rows = cs.size() == 2 ? cs[0] : 1, cols = cs.empty() ? 1 : cs.back();
        out += static_cast<double>(a.beta) * C->data()[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
      }
      y.data()[i * N + j] = activate(static_cast<float>(out), a);
    }
}

void matmul(const Node& n, const std::vector<Tensor>& v, Tensor& y) {
  const Tensor &A = v[n.inputs[0]], &B = v[n.inputs[1]];
  const int64_t K = B.dim(0), N = B.dim(1), rows = A.numel() / K;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0.0;
      for (int64_t k = 0; k < K; ++k) sum += static_cast<double>(A.data()[i * K + k]) * B.data()[k * N + j];
      y.data()[i * N + j] = activate(static_cast<float>(sum), n.attributes);
    }
}

void add(const Node& n, const std::vector<Tensor>& v, Tensor& y) {
  const Tensor &A = v[n.inputs[0]], &B = v[n.inputs[1]];
  for (int64_t i = 0; i < y.numel(); ++i)
    y.data()[i] = activate(A.data()[broadcast_index(i, y.shape(), A.shape())] +
                               B.data()[broadcast_index(i, y.shape(), B.shape())],
                           n.attributes);
}

void softmax(const Node& n, const Tensor& x, Tensor& y) {
  const int r = x.ndim();
  const int axis = n.attributes.axis < 0 ? n.attributes.axis + r : n.attributes.axis;
  int64_t outer = 1, inner = 1;
  for (int k = 0; k < axis; ++k) outer *= x.dim(k);
  for (int k = axis + 1; k < r; ++k) inner *= x.dim(k);
  const int64_t len = x.dim(axis);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      const float* src = x.data() + o * len * inner + in;
      float* dst = y.data() + o * len * inner + in;
      float top = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < len; ++k) top = std::max(top, src[k * inner]);
      double total = 0.0;
      for (int64_t k = 0; k < len; ++k) total += std::exp(static_cast<double>(src[k * inner] - top));
      for (int64_t k = 0; k < len; ++k)
        dst[k * inner] = activate(static_cast<float>(std::exp(static_cast<double>(src[k * inner] - top)) / total), n.attributes);
    }
}

}  // namespace

Tensor run_reference(const Graph& graph, const Tensor& input) {
  const int64_t batch = batch_of_input(graph, input.shape());
  const std::vector<Shape> shapes = infer_shapes(graph, batch);
  std::vector<Tensor> v(graph.values.size());
  for (size_t id = 0; id < graph.values.size(); ++id)
    if (graph.values[id].is_constant()) v[id] = graph.values[id].constant;
  v[graph.input] = input;
  for (const Node& n : graph.nodes) {
    Tensor y = Tensor::empty(shapes[n.output]);
    const Tensor& x = v[n.inputs[0]];
    switch (n.op) {
      case OpKind::conv: conv(n, v, y); break;
      case OpKind::batch_norm: batch_norm(n, v, y); break;
      case OpKind::relu:
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = std::max(x.data()[i], 0.0f);
        break;
      case OpKind::clip:
        for (int64_t i = 0; i < y.numel(); ++i)
          y.data()[i] = std::min(std::max(x.data()[i], n.attributes.clip_min), n.attributes.clip_max);
        break;
      case OpKind::max_pool:
      case OpKind::average_pool: pool(n, x, y); break;
      case OpKind::global_average_pool: {
        const int64_t plane = x.dim(2) * x.dim(3);
        for (int64_t p = 0; p < x.dim(0) * x.dim(1); ++p) {
          double sum = 0.0;
          for (int64_t k = 0; k < plane; ++k) sum += x.data()[p * plane + k];
          y.data()[p] = activate(static_cast<float>(sum / plane), n.attributes);
        }
        break;
      }
      case OpKind::gemm: gemm(n, v, y); break;
      case OpKind::matmul: matmul(n, v, y); break;
      case OpKind::add: add(n, v, y); break;
      case OpKind::flatten:
      case OpKind::reshape:
      case OpKind::identity:
        for (int64_t i = 0; i < y.numel(); ++i) y.data()[i] = activate(x.data()[i], n.attributes);
        break;
      case OpKind::softmax: softmax(n, x, y); break;
    }
    v[n.output] = y;
  }
  return v[graph.output];
}

}  // namespace sepnet::infer
