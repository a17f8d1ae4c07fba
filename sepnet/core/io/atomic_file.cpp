#include "sepnet/core/io/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sepnet {
namespace {

std::string errno_text(int err) { return std::strerror(err); }

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw std::runtime_error(path + ": " + what + ": " + errno_text(err));
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Removes the temporary file unless released; keeps failure paths from leaking half-written files.
struct TempFileGuard {
  std::string temp_path;
  int fd = -1;
  ~TempFileGuard() {
    if (fd >= 0) ::close(fd);
    if (!temp_path.empty()) ::unlink(temp_path.c_str());
  }
};

}  // namespace

void write_file_atomically(const std::string& path, std::string_view bytes) {
  if (path.empty()) throw std::runtime_error("write_file_atomically: empty path");
  if (path.back() == '/') throw std::runtime_error(path + ": cannot write: path names a directory");

  TempFileGuard guard;
  std::string templ = path + ".tmp.XXXXXX";
  guard.fd = ::mkstemp(templ.data());
  if (guard.fd < 0) fail(path, "cannot create temporary file " + templ + " in the target directory", errno);
  guard.temp_path = templ;

  // mkstemp creates 0600; give the file the usual permissions (subject to umask) like a plain open would.
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(guard.fd, 0666 & ~mask);

  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = ::write(guard.fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, "writing temporary file " + guard.temp_path + " failed after " +
                     std::to_string(bytes.size() - left) + " of " + std::to_string(bytes.size()) + " bytes",
           errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(guard.fd) != 0) fail(path, "fsync of temporary file " + guard.temp_path + " failed", errno);
  const int fd = guard.fd;
  guard.fd = -1;
  if (::close(fd) != 0) fail(path, "closing temporary file " + guard.temp_path + " failed", errno);

  if (::rename(guard.temp_path.c_str(), path.c_str()) != 0)
    fail(path, "cannot rename temporary file " + guard.temp_path + " into place", errno);
  guard.temp_path.clear();  // now owned by `path`

  // Persist the rename itself; failure here cannot lose data already visible, so it is not fatal.
  const int dir_fd = ::open(parent_dir(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

std::string read_file_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(path, "cannot open for reading", errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) fail(path, "cannot stat", errno);
  if (S_ISDIR(st.st_mode)) throw std::runtime_error(path + ": cannot read: is a directory");

  std::string out;
  if (S_ISREG(st.st_mode)) out.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(path, "read error after " + std::to_string(out.size()) + " bytes", errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace sepnet
