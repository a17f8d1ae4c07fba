#pragma once
// Reader/writer for the safetensors format (https://github.com/huggingface/safetensors):
//   u64 little-endian N | N bytes of JSON header, space-padded so 8 + N is a multiple of 8 |
//   data buffer (raw little-endian elements; each tensor's "data_offsets" [begin, end) are
//   relative to the start of this buffer).
// Header: {"__metadata__": {str: str}, "<name>": {"dtype": "F32", "shape": [...],
// "data_offsets": [begin, end]}, ...}. Only F32 tensors are supported; counters such as optimizer
// step counts belong in the metadata as strings.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sepnet {

struct NamedArray {
  std::vector<int64_t> shape;  // empty = scalar (one element)
  std::vector<float> data;     // row-major, product(shape) elements
};

struct SafetensorsFile {
  std::map<std::string, std::string> metadata;
  std::map<std::string, NamedArray> tensors;
};

// Writes atomically (see write_file_atomically): a failed save leaves any previous file intact.
// Tensors are laid out contiguously in name order. Throws std::runtime_error naming `path` if a
// tensor's shape does not match its data size, a dimension is negative, a name is empty or
// "__metadata__", or a string is not valid UTF-8.
void save_safetensors(const std::string& path, const SafetensorsFile& file);

// Loads and fully validates a file: header length, JSON syntax, required fields and their types,
// dtype (F32 only), shape vs. byte size, offsets in range, contiguous and non-overlapping, no
// trailing bytes, no duplicate names. Every problem throws std::runtime_error naming `path`.
SafetensorsFile load_safetensors(const std::string& path);

}  // namespace sepnet
