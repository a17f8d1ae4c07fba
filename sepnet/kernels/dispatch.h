// Kernel dispatch: one pattern for every family with per-ISA copies (docs/adding-a-kernel.md).
//
//  * Each per-ISA translation unit of a family (<family>_scalar.cpp, _avx2.cpp, _avx512.cpp)
//    exports ONE object: the family's Entry struct (its entry points, function pointers to the
//    bodies that unit compiled with its own -m flags).
//  * The family's dispatch file (<family>.cpp) lists them in a table, one Variant per ISA in
//    Isa order, and answers each public call with
//        selected_variant(kVariants, <family>_isa_for, op, shape).entry->op(...)
//    i.e. the active ISA's row, unless the family's rule function <family>_isa_for(active, op,
//    shape) — the one place where shape decides the variant — names another.
//  * Tests run every row of the table (kernel_check.h, for_each_variant) and benchmarks name
//    their per-variant rows after it (bench/bench_common.h, register_variants); both force a
//    row with ScopedIsa(isa, /*exact=*/true), which also skips the rule.
// The cost per kernel call: one relaxed atomic load, the inlined rule and an indirect call.
#pragma once
#include <cstddef>
#include <span>

#include "sepnet/kernels/isa.h"

namespace sepnet::kernels {

// One compiled copy of a kernel family.
template <class Entry>
struct Variant {
  Isa isa;            // the instruction set its translation unit is built for
  const char* name;   // for tests and benchmark names: "avx2", or with its register tile "avx2_6x16"
  const Entry* entry; // its entry points
};

// A family's table, as tests and benchmarks see it (<family>_variants()).
template <class Entry>
using VariantTable = std::span<const Variant<Entry>>;

// A table has one row per Isa, in Isa order (scalar, avx2, avx512), so a row is found by index.
template <class Entry, std::size_t N>
constexpr bool one_row_per_isa(const Variant<Entry> (&table)[N]) {
  if (N != 3) return false;
  for (std::size_t i = 0; i < N; ++i)
    // (Only the order: whether an extern Entry's address is null is not a constant expression
    // under -fsanitize=undefined, and the address of an object is never null.)
    if (static_cast<std::size_t>(table[i].isa) != i) return false;
  return true;
}

// The row built for `isa`.
template <class Table>
constexpr const auto& variant_for(const Table& table, Isa isa) {
  return table[static_cast<std::size_t>(isa)];
}

// The row the active ISA selects (families without a shape rule).
template <class Table>
const auto& active_variant(const Table& table) {
  return variant_for(table, active_isa());
}

// The row that runs `op` on `shape` now: `rule(active ISA, op, shape)`'s, or exactly the active
// ISA's while a ScopedIsa(isa, /*exact=*/true) forces it.
template <class Table, class Rule, class Op, class Shape>
const auto& selected_variant(const Table& table, Rule rule, Op op, const Shape& shape) {
  const IsaChoice choice = isa_choice();
  return variant_for(table, choice.exact ? choice.isa : rule(choice.isa, op, shape));
}

}  // namespace sepnet::kernels
