//===- MemoryPlanTest.cpp - the arena planner on random lifetimes ---------===//

#include "d2lrt/MemoryPlan.h"

#include <gtest/gtest.h>

#include <random>

using namespace d2lrt;

namespace {

TEST(MemoryPlan, DisjointLifetimesShare) {
  std::vector<PlanRequest> r{{1000, 0, 1}, {1000, 2, 3}, {1000, 4, 5}};
  MemoryPlan p = planMemory(r, 256);
  EXPECT_EQ(p.arenaBytes, 1024u);
  EXPECT_EQ(p.lowerBound, 1024u);
  EXPECT_EQ(p.naiveBytes, 3072u);
  EXPECT_EQ(checkMemoryPlan(r, p), "");
}

TEST(MemoryPlan, OverlappingLifetimesDoNot) {
  std::vector<PlanRequest> r{{512, 0, 2}, {512, 1, 3}, {512, 2, 4}};
  MemoryPlan p = planMemory(r, 256);
  EXPECT_EQ(p.arenaBytes, 1536u);
  EXPECT_EQ(p.lowerBound, 1536u);
  EXPECT_EQ(checkMemoryPlan(r, p), "");
}

TEST(MemoryPlan, CheckerFindsOverlap) {
  std::vector<PlanRequest> r{{512, 0, 2}, {512, 1, 3}};
  MemoryPlan bad;
  bad.offsets = {0, 256};
  bad.arenaBytes = 1024;
  EXPECT_NE(checkMemoryPlan(r, bad).find("overlap"), std::string::npos);
  bad.offsets = {0, 768};
  EXPECT_NE(checkMemoryPlan(r, bad).find("past the arena"), std::string::npos);
}

// Property test: random sizes and lifetimes; every plan is valid, at least
// the liveness bound, at most the naive sum.
TEST(MemoryPlan, RandomLifetimes) {
  std::mt19937 rng(1234);
  double worst = 1.0;
  for (int trial = 0; trial < 300; ++trial) {
    int n = 1 + int(rng() % 60), steps = 1 + int(rng() % 40);
    std::vector<PlanRequest> r;
    for (int i = 0; i < n; ++i) {
      int a = int(rng() % steps), b = int(rng() % steps);
      uint64_t bytes = 1 + rng() % (rng() % 2 ? 4096 : 1 << 20);
      r.push_back({bytes, std::min(a, b), std::max(a, b)});
    }
    MemoryPlan p = planMemory(r, 256);
    ASSERT_EQ(checkMemoryPlan(r, p), "") << "trial " << trial;
    ASSERT_GE(p.arenaBytes, p.lowerBound);
    ASSERT_LE(p.arenaBytes, p.naiveBytes);
    worst = std::max(worst, double(p.arenaBytes) / double(p.lowerBound));
  }
  // Greedy best fit is not optimal on adversarial inputs, but stays close.
  EXPECT_LT(worst, 2.0);
}

} // namespace
