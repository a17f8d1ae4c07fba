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
  int64_t peak_live_bytes;     // high-water mark of live_bytes since the last reset
  int64_t peak_held_bytes;     // high-water mark of live + cached bytes (the allocator's footprint)
};
AllocatorStats allocator_stats();
// Starts the high-water marks again from the current values.
void reset_allocator_peaks();

// While alive, a Storage that would take live bytes more than `max_live_bytes` above what was
// live when the limit was set throws std::length_error instead of allocating. Used where a file's claims decide sizes (a model
// built from a checkpoint's metadata cannot need more memory than the checkpoint holds), so a
// few hostile bytes cannot make sepnet allocate gigabytes. Not nestable; one at a time.
class AllocationLimit {
 public:
  explicit AllocationLimit(int64_t max_live_bytes);
  ~AllocationLimit();
  AllocationLimit(const AllocationLimit&) = delete;
  AllocationLimit& operator=(const AllocationLimit&) = delete;
};
// Returns all cached blocks to the system.
void release_cached_memory();

}  // namespace sepnet
