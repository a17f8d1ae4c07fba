#pragma once
// Places text labels along one axis so that no two overlap: each stays as near its wanted
// position as the others allow. The SVG charts stack their reference-line labels with it.

#include <vector>

namespace sepnet {

// Positions for labels wanted at `wanted` (any order; the result keeps that order) such that
// any two are at least `min_gap` apart and, where the room allows, all lie within [lo, hi].
// Labels keep their wanted order along the axis. When [lo, hi] is shorter than the stack,
// the stack starts at lo and runs past hi.
std::vector<double> spread_labels(const std::vector<double>& wanted, double min_gap, double lo, double hi);

}  // namespace sepnet
