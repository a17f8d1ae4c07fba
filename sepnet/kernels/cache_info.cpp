#include "sepnet/kernels/cache_info.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#ifdef SEPNET_HAVE_CPUINFO
#include <cpuinfo.h>
#endif

namespace sepnet::kernels {
namespace {

// Parses sysfs sizes such as "48K" / "1024K" / "32M".
long read_sysfs_size(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return 0;
  char buf[64] = {0};
  long value = 0;
  if (std::fgets(buf, sizeof buf, f) != nullptr) {
    char* end = nullptr;
    value = std::strtol(buf, &end, 10);
    if (end != nullptr && (*end == 'K' || *end == 'k')) value *= 1024;
    if (end != nullptr && (*end == 'M' || *end == 'm')) value *= 1024 * 1024;
  }
  std::fclose(f);
  return value;
}

std::string read_sysfs_string(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return {};
  char buf[64] = {0};
  std::string s;
  if (std::fgets(buf, sizeof buf, f) != nullptr) s = buf;
  std::fclose(f);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

CacheSizes detect() {
  // Conservative defaults (Zen 4 per core: 32 KiB L1d, 1 MiB L2; a modest shared L3).
  CacheSizes sizes{32 * 1024, 1024 * 1024, 16 * 1024 * 1024};
#ifdef SEPNET_HAVE_CPUINFO
  if (cpuinfo_initialize()) {
    if (cpuinfo_get_l1d_caches_count() > 0) sizes.l1d = cpuinfo_get_l1d_cache(0)->size;
    if (cpuinfo_get_l2_caches_count() > 0) sizes.l2 = cpuinfo_get_l2_cache(0)->size;
    if (cpuinfo_get_l3_caches_count() > 0) sizes.l3 = cpuinfo_get_l3_cache(0)->size;
    return sizes;
  }
#endif
  for (int index = 0; index < 8; ++index) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/";
    std::string type = read_sysfs_string(dir + "type");
    if (type.empty()) break;
    std::string level = read_sysfs_string(dir + "level");
    long size = read_sysfs_size(dir + "size");
    if (size <= 0 || type == "Instruction") continue;
    if (level == "1") sizes.l1d = size;
    if (level == "2") sizes.l2 = size;
    if (level == "3") sizes.l3 = size;
  }
  return sizes;
}

}  // namespace

const CacheSizes& cache_sizes() {
  static const CacheSizes sizes = detect();
  return sizes;
}

}  // namespace sepnet::kernels
