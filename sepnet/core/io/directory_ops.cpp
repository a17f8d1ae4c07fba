#include "sepnet/core/io/directory_ops.h"

#include <cerrno>
#include <cstring>
#include <random>
#include <stdexcept>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace sepnet {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& what, int err) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(err));
}

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

void fsync_directory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail(dir, "cannot open directory to sync it", errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  // Some file systems (tmpfs on old kernels, some FUSE) refuse fsync on directories; their
  // entries are as durable as they get, so only real I/O errors count.
  if (rc != 0 && err != EINVAL && err != ENOTSUP) fail(dir, "fsync of directory failed", err);
}

void make_new_directory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0777) != 0) fail(dir, "cannot create directory", errno);
}

void replace_symlink(const std::string& link, const std::string& target) {
  const std::string temp = link + ".tmp-" + random_hex(8);
  if (::symlink(target.c_str(), temp.c_str()) != 0) fail(temp, "cannot create symlink", errno);
  if (::rename(temp.c_str(), link.c_str()) != 0) {
    const int err = errno;
    ::unlink(temp.c_str());
    fail(link, "cannot replace with a symlink to " + target, err);
  }
  fsync_directory(parent_of(link));
}

void rename_durably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) fail(to, "cannot rename " + from + " to it", errno);
  fsync_directory(parent_of(to));
}

std::string random_hex(int digits) {
  static thread_local std::mt19937_64 engine{std::random_device{}() ^ static_cast<uint64_t>(::getpid()) << 32};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(static_cast<size_t>(digits), '0');
  for (char& c : s) c = kHex[engine() & 15];
  return s;
}

DirectoryLock::DirectoryLock(const std::string& dir) {
  const std::string path = dir + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd_ < 0) fail(path, "cannot open the run directory's lock file", errno);
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK) throw std::runtime_error(dir + ": another sepnet process is writing to this run directory");
    fail(path, "cannot lock", err);
  }
}

DirectoryLock::DirectoryLock(DirectoryLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

DirectoryLock& DirectoryLock::operator=(DirectoryLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace sepnet
