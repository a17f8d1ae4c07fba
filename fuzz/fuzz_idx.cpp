// libFuzzer harness for the IDX reader. The first input byte picks what to do with the rest:
//   bit 0: 0 = read_idx_images, 1 = read_idx_labels;
//   bit 1: 1 = gzip the rest first, so headers and payloads are also explored behind valid gzip
//          (the rest may itself start with the gzip magic, which fuzzes the inflater directly).
// The file is read from disk, as in use. Any input either reads or throws std::runtime_error
// naming the file; what reads is consistent with its header.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <zlib.h>

#include "fuzz_common.h"
#include "sepnet/core/data/idx.h"

namespace {

std::string gzip(std::string_view in) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    sepnet::fuzz::finding("deflateInit2 failed");
  std::string out(deflateBound(&zs, static_cast<uLong>(in.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) sepnet::fuzz::finding("deflate failed");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const sepnet::fuzz::ScratchFile scratch("idx");
  if (size == 0) return 0;
  const bool labels = data[0] & 1, compress = data[0] & 2;
  const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::string& path = scratch.write(compress ? gzip(rest) : std::string(rest));
  try {
    if (labels) {
      const auto l = sepnet::read_idx_labels(path);
      if (l.labels.empty()) sepnet::fuzz::finding("read an empty label file");
    } else {
      const auto im = sepnet::read_idx_images(path);
      if (im.count <= 0 || im.rows <= 0 || im.cols <= 0 ||
          im.pixels.size() != uint64_t(im.count) * uint64_t(im.rows) * uint64_t(im.cols))
        sepnet::fuzz::finding("images inconsistent with their header");
    }
  } catch (const std::runtime_error& e) {
    sepnet::fuzz::check_names_file(e.what(), path);
  }
  return 0;
}
