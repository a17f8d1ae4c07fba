// Internal: runtime count → compile-time template argument, for kernels that instantiate a
// register tile per size (the depthwise row tails, the GEMM's tall-skinny tail tiles and
// vector counts). Header-only and ISA-neutral: each caller's lambda type makes its own
// instantiation, so per-ISA translation units never share one.
#pragma once
#include <utility>

namespace sepnet::kernels {

// Calls f.template operator()<N>() for the runtime n in [1, Max]; nothing for other n.
template <int Max, class F>
inline void with_count(int n, F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    ((n == I + 1 ? f.template operator()<I + 1>() : void()), ...);
  }(std::make_integer_sequence<int, Max>{});
}

}  // namespace sepnet::kernels
