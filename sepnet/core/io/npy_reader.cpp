#include "sepnet/core/io/npy_reader.h"

#include <cstring>
#include <regex>
#include <stdexcept>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet {
namespace {
[[noreturn]] void fail(const std::string& path, const std::string& message) {
  throw std::runtime_error(path + ": " + message);
}
}  // namespace

Tensor load_npy_f32(const std::string& path) {
  const std::string bytes = read_file_bytes(path, uint64_t{1} << 32);
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) fail(path, "not a .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | static_cast<size_t>(static_cast<unsigned char>(bytes[9])) << 8;
    start = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) fail(path, "truncated header");
    for (int i = 0; i < 4; ++i) header_len |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i])) << (8 * i);
    start = 12;
  } else {
    fail(path, "unsupported .npy format version " + std::to_string(major));
  }
  if (header_len > bytes.size() - start) fail(path, "truncated header");
  const std::string header = bytes.substr(start, header_len);
  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) fail(path, "header has no 'descr'");
  if (m[1] != "<f4") fail(path, "dtype '" + m[1].str() + "' is not supported (float32, '<f4', only)");
  if (!std::regex_search(header, std::regex(R"('fortran_order'\s*:\s*False)"))) fail(path, "Fortran order is not supported");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) fail(path, "header has no 'shape'");
  Shape shape;
  const std::string dims = m[1];
  const std::regex number(R"(\d+)");
  uint64_t n = 1;
  for (auto it = std::sregex_iterator(dims.begin(), dims.end(), number); it != std::sregex_iterator(); ++it) {
    const std::string digits = it->str();
    if (digits.size() > 9) fail(path, "dimension " + digits + " is too large");
    const uint64_t d = std::stoull(digits);
    n *= d;
    if (n > bytes.size()) n = bytes.size() + 1;  // saturate: the size check below refuses it
    shape.push_back(static_cast<int64_t>(d));
  }
  const size_t data = start + header_len;
  if (n * 4 != bytes.size() - data)
    fail(path, "holds " + std::to_string(bytes.size() - data) + " bytes of data but its shape " + shape_to_string(shape) +
                   " needs " + std::to_string(n * 4));
  Tensor t = Tensor::empty(shape);
  if (n > 0) std::memcpy(t.data(), bytes.data() + data, n * 4);
  return t;
}

}  // namespace sepnet
