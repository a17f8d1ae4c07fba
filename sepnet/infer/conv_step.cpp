#include "sepnet/infer/conv_step.h"

#include <algorithm>

#include "sepnet/infer/epilogue.h"
#include "sepnet/kernels/conv_direct.h"
#include "sepnet/kernels/conv_stem.h"
#include "sepnet/kernels/depthwise.h"
#include "sepnet/kernels/depthwise_nhwc.h"
#include "sepnet/kernels/gemm.h"
#include "sepnet/kernels/pointwise.h"
#include "sepnet/kernels/threads.h"

namespace sepnet::infer {

namespace {

struct ConvDims {
  int n, c, h, w, m, kh, kw, oh, ow;
};

ConvDims dims(const Step& s, const Shape& weight) {
  return {static_cast<int>(s.in_shape[0]), static_cast<int>(s.in_shape[1]), static_cast<int>(s.in_shape[2]),
          static_cast<int>(s.in_shape[3]), static_cast<int>(weight[0]),       static_cast<int>(weight[2]),
          static_cast<int>(weight[3]),     static_cast<int>(s.out_shape[2]),  static_cast<int>(s.out_shape[3])};
}

// A 1×1 conv over NHWC pixels is one GEMM [rows × C]·Wᵀ. sgemm has no epilogue hook, so when
// there are many rows and a small weight the GEMM is split into row blocks of about 256 KiB of
// output, one thread each (sgemm runs on the calling thread inside a parallel region), and each
// block gets its bias and activation while it is still in that core's cache. Few rows or a large
// weight (late layers at batch 1, where each block would pack the whole weight again): one
// multi-threaded GEMM, then the epilogue as a separate pass (small there).
void pointwise_nhwc(const float* x, const float* w, const float* bias, float* y, long rows, int c, int m,
                    const Epilogue& e) {
  const long block = std::max(64L, std::min(4096L, (64L << 10) / std::max(m, 1)) / 8 * 8);
  const long blocks = (rows + block - 1) / block;
  const int threads = kernels::available_threads();
  const bool small_weight = static_cast<long>(c) * m <= (64L << 10);
  if (!small_weight || blocks < 2L * threads) {
    kernels::sgemm(false, true, static_cast<int>(rows), m, c, 1.0f, x, c, w, c, 0.0f, y, m);
    apply_rows(y, rows, m, bias, e);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long b = 0; b < blocks; ++b) {
    const long r0 = b * block, nr = std::min(block, rows - r0);
    kernels::sgemm(false, true, static_cast<int>(nr), m, c, 1.0f, x + r0 * c, c, w, c, 0.0f, y + r0 * m, m);
    apply_rows(y + r0 * m, nr, m, bias, e);
  }
}

}  // namespace

void choose_conv(const Graph& g, const Node& n, Step& s, bool input_nhwc, bool channels_last) {
  const Attributes& a = n.attributes;
  const Shape& weight = g.values[n.inputs[1]].shape;
  const ConvDims d = dims(s, weight);
  s.kernel_h = d.kh;
  s.kernel_w = d.kw;
  s.kernel_taps = d.kh * d.kw;
  // The fast kernels take one pad for all four sides, one stride and no dilation.
  const bool plain = a.pads[0] == a.pads[1] && a.pads[0] == a.pads[2] && a.pads[0] == a.pads[3] &&
                     a.stride[0] == a.stride[1] && a.dilation[0] == 1 && a.dilation[1] == 1;
  const int pad = a.pads[0], stride = a.stride[0];
  const bool depthwise = plain && a.group == d.c && d.m == d.c && d.c > 1;
  const bool pointwise = d.kh == 1 && d.kw == 1 && a.group == 1 && stride == 1 && pad == 0 && plain;
  ConvChoice& c = s.conv;
  if (channels_last && input_nhwc && (depthwise || pointwise)) {
    c.kernel = depthwise ? ConvKernel::depthwise_nhwc : ConvKernel::pointwise_nhwc;
    c.input_nhwc = c.output_nhwc = true;
    if (depthwise) {
      c.weight_hwc.resize(static_cast<size_t>(d.c) * d.kh * d.kw);
      kernels::depthwise_weight_to_hwc(d.c, d.kh * d.kw, g.values[n.inputs[1]].constant.data(), c.weight_hwc.data());
    }
    return;
  }
  if (channels_last && plain && a.group == 1 &&
      kernels::stem_conv2d_suits({d.n, d.c, d.h, d.w, d.m, d.kh, d.kw, stride, pad})) {
    c.kernel = ConvKernel::stem;
    c.output_nhwc = true;
    return;
  }
  if (plain && a.group == 1 && stride == 1 && kernels::direct_conv2d_suits({d.n, d.c, d.h, d.w, d.m, d.kh, d.kw, pad}))
    c.kernel = ConvKernel::direct;
  else if (pointwise)
    c.kernel = ConvKernel::pointwise;
  else if (depthwise)
    c.kernel = ConvKernel::depthwise;
  else
    c.kernel = ConvKernel::im2col_gemm;
}

int64_t conv_scratch_floats(const Step& s) {
  if (s.conv.kernel != ConvKernel::im2col_gemm) return 0;
  const Attributes& a = s.node->attributes;
  const int64_t per_group = s.in_shape[1] / a.group;
  return per_group * s.kernel_taps * s.out_shape[2] * s.out_shape[3];
}

void run_conv(const Step& s, const float* const* in, float* y, float* scratch) {
  const Attributes& a = s.node->attributes;
  const float* x = in[0];
  const float* w = in[1];
  const float* bias = s.inputs.size() == 3 ? in[2] : nullptr;
  const ConvDims d{static_cast<int>(s.in_shape[0]), static_cast<int>(s.in_shape[1]), static_cast<int>(s.in_shape[2]),
                   static_cast<int>(s.in_shape[3]), static_cast<int>(s.out_shape[1]), s.kernel_h, s.kernel_w,
                   static_cast<int>(s.out_shape[2]), static_cast<int>(s.out_shape[3])};
  const Epilogue e = epilogue_of(a);
  const Epilogue clip_only = a.activation == Activation::clip ? e : Epilogue{};
  const bool relu = a.activation == Activation::relu;
  const long pixels = static_cast<long>(d.n) * d.oh * d.ow;
  const int pad = a.pads[0], stride = a.stride[0];
  switch (s.conv.kernel) {
    case ConvKernel::depthwise_nhwc:
      // The kernel fuses ReLU; a clip is applied to its output right after.
      kernels::depthwise_conv2d_nhwc_forward({d.n, d.c, d.h, d.w, d.kh, d.kw, stride, pad}, x, s.conv.weight_hwc.data(),
                                             bias, y, relu);
      apply_rows(y, pixels, d.m, nullptr, clip_only);
      return;
    case ConvKernel::pointwise_nhwc:
      pointwise_nhwc(x, w, bias, y, pixels, d.c, d.m, e);
      return;
    case ConvKernel::stem:
      kernels::stem_conv2d_forward({d.n, d.c, d.h, d.w, d.m, d.kh, d.kw, stride, pad}, x, w, bias, y);
      apply_rows(y, pixels, d.m, nullptr, e);
      return;
    case ConvKernel::direct:
      kernels::direct_conv2d_forward({d.n, d.c, d.h, d.w, d.m, d.kh, d.kw, pad}, x, w, bias, y);
      apply_planes(y, static_cast<int64_t>(d.n) * d.m, static_cast<int64_t>(d.oh) * d.ow, d.m, nullptr, e);
      return;
    case ConvKernel::pointwise:
      kernels::pointwise_conv2d_forward({d.n, d.c, d.m, d.h * d.w}, x, w, bias, y);
      apply_planes(y, static_cast<int64_t>(d.n) * d.m, static_cast<int64_t>(d.oh) * d.ow, d.m, nullptr, e);
      return;
    case ConvKernel::depthwise:
      kernels::depthwise_conv2d_forward({d.n, d.c, d.h, d.w, d.kh, d.kw, stride, pad}, x, w, bias, y, relu);
      apply_planes(y, static_cast<int64_t>(d.n) * d.m, static_cast<int64_t>(d.oh) * d.ow, d.m, nullptr, clip_only);
      return;
    case ConvKernel::im2col_gemm: break;
  }
  const int groups = a.group, cg = d.c / groups, mg = d.m / groups;
  const int k = cg * d.kh * d.kw, p = d.oh * d.ow;
  for (int b = 0; b < d.n; ++b)
    for (int grp = 0; grp < groups; ++grp) {
      const float* image = x + (static_cast<long>(b) * d.c + static_cast<long>(grp) * cg) * d.h * d.w;
      for (int c = 0; c < cg; ++c)
        for (int kh = 0; kh < d.kh; ++kh)
          for (int kw = 0; kw < d.kw; ++kw) {
            float* row = scratch + static_cast<long>((c * d.kh + kh) * d.kw + kw) * p;
            for (int oh = 0; oh < d.oh; ++oh) {
              const int ih = oh * a.stride[0] - a.pads[0] + kh * a.dilation[0];
              for (int ow = 0; ow < d.ow; ++ow) {
                const int iw = ow * a.stride[1] - a.pads[1] + kw * a.dilation[1];
                row[oh * d.ow + ow] = ih >= 0 && ih < d.h && iw >= 0 && iw < d.w
                                          ? image[(static_cast<long>(c) * d.h + ih) * d.w + iw] : 0.0f;
              }
            }
          }
      kernels::sgemm(false, false, mg, p, k, 1.0f, w + static_cast<long>(grp) * mg * k, k, scratch, p, 0.0f,
                     y + (static_cast<long>(b) * d.m + static_cast<long>(grp) * mg) * p, p);
    }
  apply_planes(y, static_cast<int64_t>(d.n) * d.m, p, d.m, bias, e);
}

}  // namespace sepnet::infer
