#include "sepnet/core/io/npy.h"

#include <bit>
#include <stdexcept>
#include <string>

#include "sepnet/core/io/atomic_file.h"

namespace sepnet {

static_assert(std::endian::native == std::endian::little, "npy writer stores host floats as '<f4'");

void save_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data) {
  uint64_t elements = 1;
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] < 0) throw std::runtime_error(path + ": cannot save .npy: negative dimension " + std::to_string(shape[i]));
    if (__builtin_mul_overflow(elements, static_cast<uint64_t>(shape[i]), &elements))
      throw std::runtime_error(path + ": cannot save .npy: shape overflows");
    shape_text += (i ? ", " : "") + std::to_string(shape[i]);
  }
  shape_text += shape.size() == 1 ? ",)" : ")";  // Python tuple syntax: (5,) vs (2, 3) vs ()
  if (elements > 0 && data == nullptr) throw std::runtime_error(path + ": cannot save .npy: null data pointer");

  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_text + ", }";
  constexpr size_t kPrefix = 10;  // magic (6) + version (2) + header length (2)
  const size_t total = (kPrefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - kPrefix - header.size() - 1, ' ');
  header.push_back('\n');
  if (header.size() > 0xFFFF) throw std::runtime_error(path + ": cannot save .npy: header too long for format 1.0");

  std::string out;
  out.reserve(total + elements * sizeof(float));
  out.append("\x93NUMPY\x01\x00", 8);
  out.push_back(static_cast<char>(header.size() & 0xFF));
  out.push_back(static_cast<char>(header.size() >> 8));
  out += header;
  if (elements > 0) out.append(reinterpret_cast<const char*>(data), elements * sizeof(float));
  write_file_atomically(path, out);
}

}  // namespace sepnet
