#include "sepnet/core/io/atomic_file.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sepnet/core/io/directory_ops.h"
#include "sepnet/core/io/fault_point.h"

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
  if (::fchmod(guard.fd, 0666 & ~mask) != 0) fail(path, "cannot set permissions of temporary file " + templ, errno);

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
  fault_point("temporary file written");
  if (::fsync(guard.fd) != 0) fail(path, "fsync of temporary file " + guard.temp_path + " failed", errno);
  const int fd = guard.fd;
  guard.fd = -1;
  if (::close(fd) != 0) fail(path, "closing temporary file " + guard.temp_path + " failed", errno);

  if (::rename(guard.temp_path.c_str(), path.c_str()) != 0)
    fail(path, "cannot rename temporary file " + guard.temp_path + " into place", errno);
  guard.temp_path.clear();  // now owned by `path`

  fault_point("file renamed into place");
  // Persist the rename itself: until the directory is synced, a power loss may undo it.
  fsync_directory(parent_dir(path));
}

namespace {

const char* file_type_text(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

[[noreturn]] void refuse_type(const std::string& path, mode_t mode) {
  throw std::runtime_error(path + ": not a regular file (" + file_type_text(mode) + ")");
}

}  // namespace

InputFile::InputFile(const std::string& path) : path_(path) {
  // Checked before opening too: opening a device can have side effects, and a socket cannot be opened at all.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) refuse_type(path, st.st_mode);
  fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd_ < 0) fail(path, "cannot open for reading", errno);
  if (::fstat(fd_, &st) != 0) {
    const int err = errno;
    ::close(fd_);
    fail(path, "cannot stat", err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd_);
    refuse_type(path, st.st_mode);
  }
  // O_NONBLOCK only guarded the open; plain blocking reads are what a regular file wants.
  const int flags = ::fcntl(fd_, F_GETFL);
  if (flags >= 0) ::fcntl(fd_, F_SETFL, flags & ~O_NONBLOCK);
  size_ = static_cast<uint64_t>(st.st_size);
}

InputFile::~InputFile() { ::close(fd_); }

size_t InputFile::read_some(void* out, size_t n) {
  for (;;) {
    const ssize_t got = ::read(fd_, out, n);
    if (got >= 0) return static_cast<size_t>(got);
    if (errno != EINTR) fail(path_, "read error", errno);
  }
}

size_t InputFile::read_up_to(void* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    const size_t got = read_some(static_cast<char*>(out) + done, n - done);
    if (got == 0) break;
    done += got;
  }
  return done;
}

std::string read_file_bytes(const std::string& path, uint64_t max_bytes) {
  InputFile file(path);
  auto too_large = [&](const std::string& size) {
    throw std::runtime_error(path + ": file is " + size + " bytes, more than the limit of " +
                             std::to_string(max_bytes) + " bytes");
  };
  if (file.size() > max_bytes) too_large(std::to_string(file.size()));
  std::string out;
  out.reserve(static_cast<size_t>(file.size()));
  char buf[1 << 16];
  for (;;) {
    const size_t n = file.read_some(buf, sizeof buf);
    if (n == 0) break;
    if (n > max_bytes - out.size()) too_large("at least " + std::to_string(out.size() + n));
    out.append(buf, n);
  }
  return out;
}

}  // namespace sepnet
