#pragma once
// Writer for NumPy .npy files (format version 1.0, https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html).

#include <cstdint>
#include <string>
#include <vector>

namespace sepnet {

// Saves a C-order float32 array ('<f4') of the given shape; `data` holds product(shape) floats
// (an empty shape is a 0-d scalar with one element). The header is space-padded and ends in '\n'
// so the data starts at a multiple of 64 bytes. Written atomically; throws std::runtime_error
// naming `path` on a negative dimension or a write failure.
void save_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);

}  // namespace sepnet
