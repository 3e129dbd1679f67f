//===- CacheTest.cpp - the compile cache and NVRTC ------------------------===//

#include "d2lrt/Compiler.h"
#include "d2lrt/Error.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>
#include <unistd.h>

using namespace d2lrt;

namespace {

std::string tempDir(const char *name) {
  std::string d = std::string(::testing::TempDir()) + "d2lrt-" + name + "-" +
                  std::to_string(::getpid());
  std::string cmd = "rm -rf '" + d + "'";
  (void)std::system(cmd.c_str());
  return d;
}

TEST(CompileCache, StoreLoadAndCorruption) {
  CompileCache cache(tempDir("cache"));
  std::string key = CompileCache::key({"source", "sm_90"});
  EXPECT_EQ(key.size(), 32u);
  EXPECT_NE(key, CompileCache::key({"source", "sm_80"}));
  EXPECT_NE(key, CompileCache::key({"sourcesm_90"}));
  EXPECT_FALSE(cache.load(key, ".bin"));
  std::vector<uint8_t> payload{1, 2, 3, 4, 5};
  cache.store(key, ".bin", payload);
  auto got = cache.load(key, ".bin");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, payload);
  // Flip a byte: the entry is detected as corrupt and removed.
  {
    std::fstream f(cache.path(key, ".bin"),
                   std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(2);
    f.put(char(99));
  }
  bool corrupt = false;
  EXPECT_FALSE(cache.load(key, ".bin", &corrupt));
  EXPECT_TRUE(corrupt);
  EXPECT_FALSE(cache.load(key, ".bin", &corrupt));
  EXPECT_FALSE(corrupt); // removed: now simply missing
  // A truncated entry too.
  cache.store(key, ".bin", payload);
  ASSERT_EQ(::truncate(cache.path(key, ".bin").c_str(), 10), 0);
  EXPECT_FALSE(cache.load(key, ".bin", &corrupt));
  EXPECT_TRUE(corrupt);
}

const char *kKernel = R"(
extern "C" __global__ void scale(float *x, float s) {
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  x[i] *= s;
}
)";

TEST(Nvrtc, CompilesCachesAndReportsErrors) {
  std::unique_ptr<NvrtcCompiler> nvrtc;
  try {
    nvrtc = std::make_unique<NvrtcCompiler>();
  } catch (const Error &e) {
    GTEST_SKIP() << e.what();
  }
  CompileCache cache(tempDir("nvrtc"));
  CompileResult a = nvrtc->compile(kKernel, "k.cu", "sm_80", cache);
  EXPECT_FALSE(a.cacheHit);
  ASSERT_GT(a.binary.size(), 100u);
  EXPECT_EQ(a.binary[1], 'E'); // ELF
  CompileResult b = nvrtc->compile(kKernel, "k.cu", "sm_80", cache);
  EXPECT_TRUE(b.cacheHit);
  EXPECT_EQ(a.binary, b.binary);
  // Another architecture or option is another entry.
  EXPECT_FALSE(nvrtc->compile(kKernel, "k.cu", "sm_90", cache).cacheHit);
  EXPECT_FALSE(
      nvrtc->compile(kKernel, "k.cu", "sm_80", cache, {"-lineinfo"}).cacheHit);
  // PTX for a virtual architecture.
  CompileResult p = nvrtc->compile(kKernel, "k.cu", "compute_90", cache);
  std::string ptx(p.binary.begin(), p.binary.end());
  EXPECT_NE(ptx.find(".entry scale"), std::string::npos);
  // A corrupt entry is rebuilt.
  {
    std::ofstream f(a.path, std::ios::binary | std::ios::trunc);
    f << "garbage";
  }
  CompileResult c = nvrtc->compile(kKernel, "k.cu", "sm_80", cache);
  EXPECT_FALSE(c.cacheHit);
  EXPECT_EQ(c.binary, a.binary);
  // Compile errors carry the program log.
  try {
    nvrtc->compile("extern \"C\" __global__ void f() { undefined_thing(); }",
                   "bad.cu", "sm_80", cache);
    FAIL() << "expected an error";
  } catch (const Error &e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("NVRTC failed to compile bad.cu"), std::string::npos);
    EXPECT_NE(msg.find("undefined_thing"), std::string::npos) << msg;
  }
}

TEST(Nvrtc, ConcurrentCompilesAreSafe) {
  try {
    NvrtcCompiler probe;
  } catch (const Error &e) {
    GTEST_SKIP() << e.what();
  }
  CompileCache cache(tempDir("concurrent"));
  std::vector<std::vector<uint8_t>> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      NvrtcCompiler nvrtc;
      results[i] = nvrtc.compile(kKernel, "k.cu", "sm_86", cache).binary;
    });
  for (std::thread &t : threads)
    t.join();
  for (int i = 1; i < 4; ++i)
    EXPECT_EQ(results[i], results[0]);
  NvrtcCompiler nvrtc;
  EXPECT_TRUE(nvrtc.compile(kKernel, "k.cu", "sm_86", cache).cacheHit);
}

} // namespace
