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
#include <string_view>
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

// The bytes save_safetensors writes, with the same checks; errors start with `name_for_errors`.
std::string serialize_safetensors(const SafetensorsFile& file, const std::string& name_for_errors);

// Loads and fully validates a file; a FIFO, device or directory is refused before reading (see
// read_file_bytes). Every problem throws std::runtime_error naming `path`.
SafetensorsFile load_safetensors(const std::string& path);

// Parses and fully validates the bytes of a file already in memory; every problem throws
// std::runtime_error starting "<name_for_errors>: ". Checks, in the order a reader meets them:
//   - the 8-byte length field is present, the header length is 1..100'000'000 bytes (the reference
//     implementation's cap) and fits in the file;
//   - the header is JSON (valid UTF-8, no NUL bytes, numbers in range) and an object whose keys are
//     unique at every level;
//   - "__metadata__", if present, is an object of string values;
//   - every other key is a tensor: an object with "dtype" (a safetensors dtype; only F32 loads),
//     "shape" (non-negative integers whose product times 4 bytes does not overflow 64 bits) and
//     "data_offsets" ([begin, end] with begin <= end and end - begin equal to the shape's bytes);
//     other fields are ignored, as the reference implementation does;
//   - sorted by begin, the tensors tile the data buffer exactly: the first starts at 0, each starts
//     where the previous ends, the last ends at the end of the file (no gaps, overlaps or trailing bytes).
// Memory: nothing proportional to a declared size is allocated before these checks pass; the
// tensors then take exactly the data buffer's size, and parsing the header holds no JSON tree.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& name_for_errors);

}  // namespace sepnet
