// Helpers shared by the libFuzzer harnesses in this directory.
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace sepnet::fuzz {

// Stops the run as a finding (libFuzzer saves the input) after saying why.
[[noreturn]] inline void finding(const std::string& why) {
  std::fprintf(stderr, "FINDING: %s\n", why.c_str());
  std::abort();
}

// Readers must name the file first in every error.
inline void check_names_file(const std::string& message, const std::string& path) {
  if (message.rfind(path + ": ", 0) != 0) finding("error does not start with \"" + path + ": \": " + message);
}

// A file of this process's own for readers that take a path, rewritten for every input and
// removed at exit. /dev/shm keeps it in memory where available.
class ScratchFile {
 public:
  explicit ScratchFile(const std::string& tag) {
    const char* tmp = std::getenv("TMPDIR");
    const char* dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp ? tmp : "/tmp";
    path_ = std::string(dir) + "/sepnet_fuzz_" + tag + "_" + std::to_string(::getpid());
  }
  ~ScratchFile() { ::unlink(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  const std::string& write(std::string_view bytes) const {
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) finding("cannot create scratch file " + path_);
    for (size_t done = 0; done < bytes.size();) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) finding("cannot write scratch file " + path_);
      done += static_cast<size_t>(n);
    }
    ::close(fd);
    return path_;
  }

 private:
  std::string path_;
};

}  // namespace sepnet::fuzz
