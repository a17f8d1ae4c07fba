// Runtime instruction-set dispatch.
//
// Every SIMD kernel family is compiled three times: a scalar reference (baseline x86-64),
// an AVX2+FMA translation unit (*_avx2.cpp) and an AVX-512 one (*_avx512.cpp). The
// dispatcher picks the best path the CPU supports at start-up; SEPNET_ISA=scalar|avx2|avx512
// or set_active_isa() forces one, so every path can be tested on one machine.
#pragma once
#include <optional>
#include <string_view>

namespace sepnet::kernels {

enum class Isa { scalar = 0, avx2 = 1, avx512 = 2 };

const char* isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);

// True if this CPU (and OS) can run the given path.
bool isa_supported(Isa isa);
// The best path this CPU supports.
Isa best_supported_isa();

// The path kernels use now: SEPNET_ISA if set (an unsupported or unknown value is a fatal,
// clearly reported error), else best_supported_isa().
Isa active_isa();
// Forces a path (tests, --isa flag). Throws std::invalid_argument if unsupported here.
// Families still apply their shape rules (kernels/dispatch.h) on top of it.
void set_active_isa(Isa isa);

// The active path and whether it is forced exactly: then every family runs that ISA's variant
// for every shape, skipping its shape rule (tests and per-variant benchmarks, dispatch.h).
struct IsaChoice {
  Isa isa;
  bool exact;
};
IsaChoice isa_choice();
// Throws std::invalid_argument if choice.isa is unsupported here.
void set_isa_choice(IsaChoice choice);

// RAII: force a path for a scope (exactly: also past the families' shape rules), restoring the
// previous choice after.
class ScopedIsa {
 public:
  explicit ScopedIsa(Isa isa, bool exact = false) : previous_(isa_choice()) { set_isa_choice({isa, exact}); }
  ~ScopedIsa() { set_isa_choice(previous_); }
  ScopedIsa(const ScopedIsa&) = delete;
  ScopedIsa& operator=(const ScopedIsa&) = delete;

 private:
  IsaChoice previous_;
};

}  // namespace sepnet::kernels
