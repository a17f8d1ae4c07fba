// The definitions of im2col / col2im: one element at a time.
#include "sepnet/kernels/im2col.h"

namespace sepnet::kernels {

void im2col_reference(const ConvGeometry& g, const float* image, float* columns) {
  const int oh = g.out_h(), ow = g.out_w();
  long row = 0;
  for (int c = 0; c < g.channels; ++c)
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj, ++row)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox) {
            int y = oy * g.stride + ki - g.pad, x = ox * g.stride + kj - g.pad;
            bool inside = y >= 0 && y < g.in_h && x >= 0 && x < g.in_w;
            columns[row * oh * ow + static_cast<long>(oy) * ow + ox] =
                inside ? image[(static_cast<long>(c) * g.in_h + y) * g.in_w + x] : 0.0f;
          }
}

void col2im_accumulate_reference(const ConvGeometry& g, const float* columns, float* image_grad) {
  const int oh = g.out_h(), ow = g.out_w();
  long row = 0;
  for (int c = 0; c < g.channels; ++c)
    for (int ki = 0; ki < g.kernel_h; ++ki)
      for (int kj = 0; kj < g.kernel_w; ++kj, ++row)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox) {
            int y = oy * g.stride + ki - g.pad, x = ox * g.stride + kj - g.pad;
            if (y >= 0 && y < g.in_h && x >= 0 && x < g.in_w)
              image_grad[(static_cast<long>(c) * g.in_h + y) * g.in_w + x] +=
                  columns[row * oh * ow + static_cast<long>(oy) * ow + ox];
          }
}

}  // namespace sepnet::kernels
