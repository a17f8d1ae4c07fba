// Dispatcher. (Temporary: reference path until the vectorized version lands.)
#include "kernels/im2col.h"

namespace sepnet::kernels {

void im2col(const ConvGeometry& g, const float* image, float* columns) { im2col_reference(g, image, columns); }
void col2im_accumulate(const ConvGeometry& g, const float* columns, float* image_grad) {
  col2im_accumulate_reference(g, columns, image_grad);
}

}  // namespace sepnet::kernels
