//===- MemoryPlan.h - one arena for the buffers of a step -------*- C++ -*-===//
//
// Every buffer of a run that is not a parameter, state or constant lives in
// one arena. Offsets come from lifetimes (first and last launch that touch a
// buffer): buffers whose lifetimes are disjoint may share bytes. Placement is
// greedy by size with best fit (the largest buffers first, each at the
// smallest gap that holds it among the buffers it is live with), the scheme
// of TFLite's and MXNet's planners.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_MEMORYPLAN_H
#define D2LRT_MEMORYPLAN_H

#include <cstdint>
#include <string>
#include <vector>

namespace d2lrt {

struct PlanRequest {
  uint64_t bytes = 0;
  int first = 0, last = 0; // inclusive
};

struct MemoryPlan {
  std::vector<uint64_t> offsets; // one per request
  uint64_t arenaBytes = 0;
  /// The largest total of simultaneously live bytes: no plan is smaller.
  uint64_t lowerBound = 0;
  /// The sum of all buffers: a plan without reuse.
  uint64_t naiveBytes = 0;
};

/// Bytes are rounded up to `alignment` (a power of two).
MemoryPlan planMemory(const std::vector<PlanRequest> &requests,
                      uint64_t alignment = 256);

/// The lower bound and the naive sum only (no placement).
MemoryPlan planBounds(const std::vector<PlanRequest> &requests,
                      uint64_t alignment = 256);

/// An independent check: no two requests that are live at the same time
/// overlap in the arena, and every one fits in it. Returns "" or the first
/// conflict.
std::string checkMemoryPlan(const std::vector<PlanRequest> &requests,
                            const MemoryPlan &plan);

} // namespace d2lrt

#endif // D2LRT_MEMORYPLAN_H
