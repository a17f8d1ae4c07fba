#include "sepnet/kernels/isa.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace sepnet::kernels {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

std::optional<Isa> parse_isa(std::string_view name) {
  if (name == "scalar") return Isa::scalar;
  if (name == "avx2") return Isa::avx2;
  if (name == "avx512") return Isa::avx512;
  return std::nullopt;
}

bool isa_supported(Isa isa) {
  // __builtin_cpu_supports also checks that the OS saves the wider registers (XGETBV).
  switch (isa) {
    case Isa::scalar: return true;
    case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             isa_supported(Isa::avx2);
  }
  return false;
}

Isa best_supported_isa() {
  if (isa_supported(Isa::avx512)) return Isa::avx512;
  if (isa_supported(Isa::avx2)) return Isa::avx2;
  return Isa::scalar;
}

namespace {
Isa isa_from_environment() {
  const char* env = std::getenv("SEPNET_ISA");
  if (env == nullptr || *env == '\0') return best_supported_isa();
  auto isa = parse_isa(env);
  if (!isa) {
    std::fprintf(stderr, "sepnet: SEPNET_ISA='%s' is not one of scalar, avx2, avx512\n", env);
    std::exit(2);
  }
  if (!isa_supported(*isa)) {
    std::fprintf(stderr, "sepnet: SEPNET_ISA=%s is not supported by this CPU (best: %s)\n", env,
                 isa_name(best_supported_isa()));
    std::exit(2);
  }
  return *isa;
}

// The ISA in the low bits, kExact set when it is forced exactly: one load answers both.
constexpr int kExact = 1 << 8;

std::atomic<int>& active_slot() {
  static std::atomic<int> slot{static_cast<int>(isa_from_environment())};
  return slot;
}
}  // namespace

Isa active_isa() { return static_cast<Isa>(active_slot().load(std::memory_order_relaxed) & (kExact - 1)); }

IsaChoice isa_choice() {
  const int slot = active_slot().load(std::memory_order_relaxed);
  return {static_cast<Isa>(slot & (kExact - 1)), (slot & kExact) != 0};
}

void set_isa_choice(IsaChoice choice) {
  if (!isa_supported(choice.isa))
    throw std::invalid_argument(std::string("ISA '") + isa_name(choice.isa) + "' is not supported by this CPU");
  active_slot().store(static_cast<int>(choice.isa) | (choice.exact ? kExact : 0), std::memory_order_relaxed);
}

void set_active_isa(Isa isa) { set_isa_choice({isa, false}); }

}  // namespace sepnet::kernels
