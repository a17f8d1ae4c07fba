// im2col / col2im for NCHW convolution of ONE image (the caller loops over the batch).
// columns is a row-major (C·KH·KW) × (OH·OW) matrix: row (c, ki, kj), column (oy, ox) holds
// input[c][oy·stride + ki − pad][ox·stride + kj − pad], or 0 outside the image.
#pragma once

namespace sepnet::kernels {

struct ConvGeometry {
  int channels, in_h, in_w;
  int kernel_h, kernel_w;
  int stride, pad;
  int out_h() const { return (in_h + 2 * pad - kernel_h) / stride + 1; }
  int out_w() const { return (in_w + 2 * pad - kernel_w) / stride + 1; }
  long column_rows() const { return static_cast<long>(channels) * kernel_h * kernel_w; }
  long column_cols() const { return static_cast<long>(out_h()) * out_w(); }
};

// columns = im2col(image)  (overwrites)
void im2col(const ConvGeometry& g, const float* image, float* columns);
// image_grad += col2im(columns)  (accumulates: overlapping windows sum)
void col2im_accumulate(const ConvGeometry& g, const float* columns, float* image_grad);

// The same with a row stride ld >= column_cols(): lets a caller lay several images' columns
// side by side ([rows × (images·OH·OW)]) and run one GEMM over a whole batch.
void im2col(const ConvGeometry& g, const float* image, float* columns, long ld);
void col2im_accumulate(const ConvGeometry& g, const float* columns, long ld, float* image_grad);

void im2col_reference(const ConvGeometry& g, const float* image, float* columns);
void col2im_accumulate_reference(const ConvGeometry& g, const float* columns, float* image_grad);

}  // namespace sepnet::kernels
