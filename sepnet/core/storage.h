// Float storage: 64-byte aligned (one cache line, one AVX-512 vector), from a caching
// allocator. Training allocates the same activation sizes every step, so freed blocks are kept
// per size and reused: no page faults or mmap/munmap churn per step, and memory stays flat.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace sepnet {

class Storage {
 public:
  // Uninitialised storage of `count` floats.
  explicit Storage(int64_t count);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  float* data() { return data_; }
  const float* data() const { return data_; }
  int64_t size() const { return count_; }

 private:
  float* data_;
  int64_t count_;
};

std::shared_ptr<Storage> make_storage(int64_t count, bool zero);

struct AllocatorStats {
  int64_t live_bytes;    // held by live Storage objects
  int64_t cached_bytes;  // freed, kept for reuse
  int64_t system_allocations;  // calls that reached the system allocator
};
AllocatorStats allocator_stats();
// Returns all cached blocks to the system.
void release_cached_memory();

}  // namespace sepnet
