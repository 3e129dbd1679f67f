//===- MemoryPlan.cpp - arena planning from buffer lifetimes --------------===//

#include "d2lrt/MemoryPlan.h"

#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <random>

namespace d2lrt {

namespace {
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
bool liveTogether(const PlanRequest &a, const PlanRequest &b) {
  return a.first <= b.last && b.first <= a.last;
}
} // namespace

MemoryPlan planBounds(const std::vector<PlanRequest> &requests,
                      uint64_t alignment) {
  MemoryPlan plan;
  size_t n = requests.size();
  plan.offsets.assign(n, 0);
  for (size_t i = 0; i < n; ++i)
    plan.naiveBytes += alignUp(requests[i].bytes, alignment);
  // Lower bound: the peak of live bytes over the launches.
  std::map<int, int64_t> delta;
  for (size_t i = 0; i < n; ++i) {
    delta[requests[i].first] += int64_t(alignUp(requests[i].bytes, alignment));
    delta[requests[i].last + 1] -=
        int64_t(alignUp(requests[i].bytes, alignment));
  }
  int64_t live = 0;
  for (auto &[t, d] : delta) {
    live += d;
    plan.lowerBound = std::max(plan.lowerBound, uint64_t(live));
  }
  return plan;
}

MemoryPlan planMemory(const std::vector<PlanRequest> &requests,
                      uint64_t alignment) {
  MemoryPlan plan = planBounds(requests, alignment);
  size_t n = requests.size();
  std::vector<uint64_t> size(n);
  for (size_t i = 0; i < n; ++i)
    size[i] = alignUp(requests[i].bytes, alignment);

  // The buffers each buffer is live with (a sweep over first uses), so a
  // placement costs the number of such pairs, not n^2.
  std::vector<std::vector<size_t>> together(n);
  {
    std::vector<size_t> byFirst(n);
    std::iota(byFirst.begin(), byFirst.end(), 0);
    std::stable_sort(byFirst.begin(), byFirst.end(), [&](size_t a, size_t b) {
      return requests[a].first < requests[b].first;
    });
    for (size_t x = 0; x < n; ++x)
      for (size_t y = x + 1; y < n; ++y) {
        size_t i = byFirst[x], j = byFirst[y];
        if (requests[j].first > requests[i].last)
          break;
        together[i].push_back(j);
        together[j].push_back(i);
      }
  }
  uint64_t pairs = 0;
  for (const auto &t : together)
    pairs += t.size();
  // Greedy placement in a given order; each buffer at the smallest gap that
  // holds it among the buffers it is live with (best fit), else on top.
  std::vector<char> isPlaced(n);
  std::vector<std::pair<uint64_t, uint64_t>> busy;
  auto place = [&](const std::vector<size_t> &order,
                   std::vector<uint64_t> &offsets, bool firstFit = false) {
    uint64_t arena = 0;
    std::fill(isPlaced.begin(), isPlaced.end(), 0);
    for (size_t i : order) {
      busy.clear();
      for (size_t j : together[i])
        if (isPlaced[j])
          busy.push_back({offsets[j], offsets[j] + size[j]});
      std::sort(busy.begin(), busy.end());
      uint64_t best = UINT64_MAX, bestGap = UINT64_MAX, cursor = 0;
      for (auto [lo, hi] : busy) {
        if (lo > cursor) {
          uint64_t gap = lo - cursor;
          if (gap >= size[i] && gap < bestGap) {
            best = cursor;
            bestGap = firstFit ? 0 : gap;
          }
        }
        cursor = std::max(cursor, hi);
      }
      if (best == UINT64_MAX)
        best = cursor;
      offsets[i] = best;
      arena = std::max(arena, best + size[i]);
      isPlaced[i] = 1;
    }
    return arena;
  };
  // Several orders (the heuristics of TFLite's and MXNet's planners), the
  // best plan wins: largest first; longest-lived first; largest area
  // (bytes x lifetime) first; in order of first use.
  auto length = [&](size_t i) {
    return int64_t(requests[i].last) - int64_t(requests[i].first) + 1;
  };
  std::vector<std::function<bool(size_t, size_t)>> orders{
      [&](size_t a, size_t b) { return size[a] > size[b]; },
      [&](size_t a, size_t b) { return length(a) > length(b); },
      [&](size_t a, size_t b) {
        return double(size[a]) * double(length(a)) >
               double(size[b]) * double(length(b));
      },
      [&](size_t a, size_t b) { return requests[a].first < requests[b].first; },
  };
  plan.arenaBytes = UINT64_MAX;
  std::vector<size_t> bestOrder;
  bool bestFirstFit = false;
  for (auto &less : orders) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return less(a, b); });
    for (bool firstFit : {false, true}) {
      std::vector<uint64_t> offsets(n, 0);
      uint64_t arena = place(order, offsets, firstFit);
      if (arena < plan.arenaBytes) {
        plan.arenaBytes = arena;
        plan.offsets = offsets;
        bestOrder = order;
        bestFirstFit = firstFit;
      }
    }
    if (plan.arenaBytes == plan.lowerBound)
      break;
  }
  // Then a deterministic randomized search: shuffled, roughly largest-first
  // orders (sizes scaled by random factors), keeping the best plan: up to
  // 500 tries or about 2.5e8 pair visits.
  std::mt19937_64 rng(0x5eed);
  std::uniform_real_distribution<double> noise(0.3, 3.0);
  uint64_t tries = std::min<uint64_t>(500, 250000000ull / (pairs + n + 1) + 1);
  for (uint64_t attempt = 0;
       attempt < tries && plan.arenaBytes > plan.lowerBound; ++attempt) {
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), rng);
    std::vector<double> key(n);
    for (size_t i = 0; i < n; ++i)
      key[i] = double(size[i]) * noise(rng);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return key[a] > key[b]; });
    std::vector<uint64_t> offsets(n, 0);
    uint64_t arena = place(order, offsets, attempt % 2);
    if (arena < plan.arenaBytes) {
      plan.arenaBytes = arena;
      plan.offsets = offsets;
      bestOrder = order;
      bestFirstFit = attempt % 2;
    }
  }
  // Finally a local search from the best order, in two rounds: move a
  // buffer that reaches the top of the arena to an earlier place in the
  // order (so that it is placed before the buffers that pushed it up);
  // then swap two buffers. An order is kept when the arena does not grow.
  // Bounded work (a placement visits every pair of buffers live together),
  // so large graphs get fewer steps.
  for (int round = 0; round < 2; ++round) {
    if (n < 2 || plan.arenaBytes <= plan.lowerBound)
      break;
    bool swaps = round == 1;
    uint64_t steps = swaps ? 400000000ull / (uint64_t(n) * uint64_t(n) + 1)
                           : 500000000ull / (pairs + n + 1);
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    std::vector<size_t> order = bestOrder;
    std::vector<uint64_t> offsets(n, 0);
    uint64_t current = place(order, offsets, bestFirstFit);
    for (uint64_t step = 0; step < std::min<uint64_t>(steps, 3000) &&
                            plan.arenaBytes > plan.lowerBound;
         ++step) {
      std::vector<size_t> next = order;
      if (swaps) {
        size_t a = pick(rng), b = pick(rng);
        if (a == b)
          continue;
        std::swap(next[a], next[b]);
      } else {
        std::vector<size_t> top;
        for (size_t k = 0; k < n; ++k)
          if (offsets[order[k]] + size[order[k]] == current)
            top.push_back(k);
        size_t k = top[rng() % top.size()];
        if (k == 0)
          continue;
        size_t to = rng() % k;
        next.erase(next.begin() + long(k));
        next.insert(next.begin() + long(to), order[k]);
      }
      std::vector<uint64_t> tried(n, 0);
      uint64_t arena = place(next, tried, bestFirstFit);
      if (arena <= current) {
        current = arena;
        order = std::move(next);
        offsets = std::move(tried);
        if (arena < plan.arenaBytes) {
          plan.arenaBytes = arena;
          plan.offsets = offsets;
        }
      }
    }
    bestOrder = order;
  }
  if (n == 0)
    plan.arenaBytes = 0;
  return plan;
}

std::string checkMemoryPlan(const std::vector<PlanRequest> &requests,
                            const MemoryPlan &plan) {
  if (plan.offsets.size() != requests.size())
    return "the plan has " + std::to_string(plan.offsets.size()) +
           " offsets for " + std::to_string(requests.size()) + " buffers";
  for (size_t i = 0; i < requests.size(); ++i) {
    if (plan.offsets[i] + requests[i].bytes > plan.arenaBytes)
      return "buffer " + std::to_string(i) + " ends past the arena";
    for (size_t j = i + 1; j < requests.size(); ++j) {
      if (!liveTogether(requests[i], requests[j]) || !requests[i].bytes ||
          !requests[j].bytes)
        continue;
      uint64_t a0 = plan.offsets[i], a1 = a0 + requests[i].bytes;
      uint64_t b0 = plan.offsets[j], b1 = b0 + requests[j].bytes;
      if (a0 < b1 && b0 < a1)
        return "buffers " + std::to_string(i) + " and " + std::to_string(j) +
               " are live together (launches " +
               std::to_string(requests[i].first) + ".." +
               std::to_string(requests[i].last) + " and " +
               std::to_string(requests[j].first) + ".." +
               std::to_string(requests[j].last) + ") and overlap in the arena";
    }
  }
  return "";
}

} // namespace d2lrt
