// Directory-level steps of crash-consistent saving: durable directory entries, atomic symlink
// replacement and an exclusive lock. Every failure throws std::runtime_error naming the path,
// the step and the system's reason. None of these follows a symlink it did not create.
#pragma once
#include <string>

namespace sepnet {

// Makes a new directory's entry (and those renamed into or out of it) survive a power loss.
void fsync_directory(const std::string& dir);

// Creates `dir` (mode 0777 minus umask); fails if anything already has that name.
void make_new_directory(const std::string& dir);

// Points `link` at `target` in one atomic step: a new symlink under a temporary name in the same
// directory is renamed over `link`, so a reader sees the old target or the new one, never
// neither. Replaces a symlink or a regular file at `link`, never writes through it.
void replace_symlink(const std::string& link, const std::string& target);

// Renames `from` to `to` (same file system), then makes the change durable.
void rename_durably(const std::string& from, const std::string& to);

// A random lowercase hexadecimal string of `digits` characters (for unique file names).
std::string random_hex(int digits);

// An exclusive advisory lock on `dir` (flock on dir/.lock), released when the object dies.
// A second sepnet writing into the same directory fails at once instead of mixing files.
class DirectoryLock {
 public:
  DirectoryLock() = default;
  explicit DirectoryLock(const std::string& dir);
  DirectoryLock(DirectoryLock&& other) noexcept;
  DirectoryLock& operator=(DirectoryLock&& other) noexcept;
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  ~DirectoryLock();

 private:
  int fd_ = -1;
};

}  // namespace sepnet
