#pragma once
// Small file helpers shared by the savers/loaders in core/io and core/data.

#include <string>
#include <string_view>

namespace sepnet {

// Writes `bytes` to `path` so that `path` holds either its old content or the complete new
// content, never a mix: the data goes to a temporary file in the same directory, is fsync'ed and
// then renamed over `path` (the directory is fsync'ed too). On any failure the temporary file is
// removed and std::runtime_error names `path` and the failing step.
void write_file_atomically(const std::string& path, std::string_view bytes);

// Reads a whole file into memory. Throws std::runtime_error naming `path` if it cannot be opened
// or read (missing, a directory, permission denied, I/O error).
std::string read_file_bytes(const std::string& path);

}  // namespace sepnet
