#include "sepnet/core/storage.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace sepnet {

namespace {
constexpr std::size_t kAlignment = 64;
constexpr int64_t kMaxCachedBytes = int64_t{4} << 30;

struct CachingAllocator {
  std::mutex mutex;
  std::unordered_map<std::size_t, std::vector<void*>> free_blocks;  // by rounded byte size
  int64_t live_bytes = 0, cached_bytes = 0, system_allocations = 0;
  int64_t peak_live = 0, peak_held = 0;
  int64_t limit = -1;  // AllocationLimit; -1: none

  void note_peaks() {
    peak_live = std::max(peak_live, live_bytes);
    peak_held = std::max(peak_held, live_bytes + cached_bytes);
  }

  static std::size_t rounded(int64_t count) {
    std::size_t bytes = static_cast<std::size_t>(count > 0 ? count : 1) * sizeof(float);
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  void* allocate(std::size_t bytes) {
    {
      std::lock_guard lock(mutex);
      if (limit >= 0 && live_bytes + static_cast<int64_t>(bytes) > limit)
        throw std::length_error("allocation of " + std::to_string(bytes) + " bytes would exceed the limit of " +
                                std::to_string(limit) + " live bytes");
      live_bytes += static_cast<int64_t>(bytes);
      auto it = free_blocks.find(bytes);
      if (it != free_blocks.end() && !it->second.empty()) {
        void* p = it->second.back();
        it->second.pop_back();
        cached_bytes -= static_cast<int64_t>(bytes);
        note_peaks();
        return p;
      }
      ++system_allocations;
      note_peaks();
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void deallocate(void* p, std::size_t bytes) {
    std::lock_guard lock(mutex);
    live_bytes -= static_cast<int64_t>(bytes);
    if (cached_bytes + static_cast<int64_t>(bytes) > kMaxCachedBytes) {
      std::free(p);
      return;
    }
    free_blocks[bytes].push_back(p);
    cached_bytes += static_cast<int64_t>(bytes);
  }
  void release() {
    std::lock_guard lock(mutex);
    for (auto& [size, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
    free_blocks.clear();
    cached_bytes = 0;
  }
};

CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator();  // never destroyed: outlives statics
  return *instance;
}
}  // namespace

Storage::Storage(int64_t count)
    : data_(static_cast<float*>(allocator().allocate(CachingAllocator::rounded(count)))), count_(count) {}

Storage::~Storage() { allocator().deallocate(data_, CachingAllocator::rounded(count_)); }

std::shared_ptr<Storage> make_storage(int64_t count, bool zero) {
  auto s = std::make_shared<Storage>(count);
  if (zero && count > 0) std::memset(s->data(), 0, static_cast<std::size_t>(count) * sizeof(float));
  return s;
}

AllocatorStats allocator_stats() {
  auto& a = allocator();
  std::lock_guard lock(a.mutex);
  return {a.live_bytes, a.cached_bytes, a.system_allocations, a.peak_live, a.peak_held};
}

AllocationLimit::AllocationLimit(int64_t max_live_bytes) {
  auto& a = allocator();
  std::lock_guard lock(a.mutex);
  a.limit = a.live_bytes + max_live_bytes;
}

AllocationLimit::~AllocationLimit() {
  auto& a = allocator();
  std::lock_guard lock(a.mutex);
  a.limit = -1;
}

void reset_allocator_peaks() {
  auto& a = allocator();
  std::lock_guard lock(a.mutex);
  a.peak_live = a.live_bytes;
  a.peak_held = a.live_bytes + a.cached_bytes;
}

void release_cached_memory() { allocator().release(); }

}  // namespace sepnet
