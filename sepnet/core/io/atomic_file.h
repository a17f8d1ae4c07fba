#pragma once
// Small file helpers shared by the savers/loaders in core/io and core/data.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace sepnet {

// Writes `bytes` to `path` so that `path` holds either its old content or the complete new
// content, never a mix: the data goes to a temporary file in the same directory, is fsync'ed and
// then renamed over `path` (the directory is fsync'ed too). On any failure the temporary file is
// removed and std::runtime_error names `path` and the failing step.
void write_file_atomically(const std::string& path, std::string_view bytes);

inline constexpr uint64_t kNoSizeLimit = std::numeric_limits<uint64_t>::max();

// A regular file opened for reading. Anything else (FIFO, character or block device, directory,
// socket) is refused with "<path>: not a regular file (a FIFO)" etc. before a byte is read: the
// type is checked with stat() before opening, the open uses O_NONBLOCK so a FIFO swapped in
// meanwhile cannot block it, and fstat() on the open descriptor decides. Errors are
// std::runtime_error naming the path.
class InputFile {
 public:
  explicit InputFile(const std::string& path);
  ~InputFile();
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;

  const std::string& path() const { return path_; }
  // The size fstat() reported at open; a file that changes while being read can differ from it.
  uint64_t size() const { return size_; }
  // Reads up to `n` bytes into `out`; returns how many, 0 only at end of file.
  size_t read_some(void* out, size_t n);
  // Reads until `n` bytes or end of file; returns how many were read.
  size_t read_up_to(void* out, size_t n);

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

// Reads a whole regular file into memory. Throws std::runtime_error naming `path` if it cannot be
// opened or read (missing, permission denied, I/O error), is not a regular file (see InputFile),
// or holds more than `max_bytes` (checked against its size before reading, and again while
// reading in case it grows).
std::string read_file_bytes(const std::string& path, uint64_t max_bytes = kNoSizeLimit);

}  // namespace sepnet
