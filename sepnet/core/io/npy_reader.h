#pragma once
// Reader for NumPy .npy files holding a C-order float32 array (the inputs of `sepnet run`).
#include <string>

#include "sepnet/core/tensor.h"

namespace sepnet {

// Loads a '<f4' array, format version 1.0 to 3.0, C order. Throws std::runtime_error naming
// `path` and the problem (another dtype, Fortran order, a header that does not parse, data
// shorter or longer than the shape says) before allocating more than the file holds.
Tensor load_npy_f32(const std::string& path);

}  // namespace sepnet
