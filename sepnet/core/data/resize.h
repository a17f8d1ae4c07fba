// Bilinear resizing of 8-bit image planes to float, the way PyTorch's
// F.interpolate(mode="bilinear", align_corners=False, antialias=False) does it: output pixel
// (y, x) samples the input at ((y + 0.5)·in/out − 0.5, (x + 0.5)·in/out − 0.5), clamped to the
// image, from its 2×2 neighbours. Upsampling (MNIST's 28 → 32, 64, 96) is exact interpolation;
// downsampling reads only those 2×2 neighbours, so detail finer than the output grid aliases
// rather than being averaged away (no antialiasing filter), as in PyTorch without antialias.
#pragma once
#include <cstdint>
#include <vector>

namespace sepnet::data {

class BilinearResize {
 public:
  BilinearResize(int64_t in_rows, int64_t in_cols, int64_t out_rows, int64_t out_cols);
  int64_t out_rows() const { return out_rows_; }
  int64_t out_cols() const { return out_cols_; }
  // One plane: out[y·out_cols + x] = scale·bilinear(in)(y, x) + shift. The affine map commutes
  // with interpolation (its weights sum to 1), so normalizing after resizing is the same as before.
  void apply(const uint8_t* in, float* out, float scale, float shift) const;

 private:
  struct Tap {
    int32_t lo, hi;  // neighbouring input indices
    float w_hi;      // weight of hi; lo gets 1 − w_hi
  };
  static std::vector<Tap> taps(int64_t in, int64_t out);
  int64_t in_cols_, out_rows_, out_cols_;
  std::vector<Tap> row_taps_, col_taps_;
};

}  // namespace sepnet::data
