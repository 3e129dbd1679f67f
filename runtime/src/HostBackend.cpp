//===- HostBackend.cpp - run model.cu on the CPU --------------------------===//
//
// The model is compiled with the system C++ compiler and d2lrt/cuda_host.h
// into a shared library; each kernel's K_d2l_host entry runs a range of
// blocks. A launch splits its blocks over a pool of worker threads (a block
// runs whole on one worker, its threads as loops: see cuda_host.h).
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "DynamicLibrary.h"

#include "d2lrt/Error.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <thread>

namespace d2lrt {

namespace {

struct LaunchContext {
  unsigned grid[3];
  unsigned block[3];
};
using HostKernel = void (*)(const LaunchContext *, void **, unsigned long long,
                            unsigned long long);

/// A fixed pool of workers that run one parallel loop at a time.
class ThreadPool {
public:
  explicit ThreadPool(unsigned n) {
    for (unsigned i = 1; i < n; ++i)
      workers.emplace_back([this] { work(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      stopping = true;
      ++generation;
    }
    wake.notify_all();
    for (std::thread &t : workers)
      t.join();
  }
  unsigned size() const { return unsigned(workers.size()) + 1; }

  /// Calls fn(first, last) over chunks of [0, count), on all workers and the
  /// calling thread, and returns when every chunk is done.
  void parallelFor(
      unsigned long long count,
      const std::function<void(unsigned long long, unsigned long long)> &fn) {
    unsigned long long chunks =
        std::min<unsigned long long>(count, (unsigned long long)size() * 4);
    if (workers.empty() || count <= 1) {
      fn(0, count);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex);
      task = &fn;
      total = count;
      chunkCount = chunks;
      nextChunk = 0;
      pending = workers.size();
      ++generation;
    }
    wake.notify_all();
    runChunks();
    std::unique_lock<std::mutex> lock(mutex);
    done.wait(lock, [this] { return pending == 0; });
    task = nullptr;
  }

private:
  void runChunks() {
    while (true) {
      unsigned long long c = nextChunk.fetch_add(1);
      if (c >= chunkCount)
        return;
      unsigned long long first = total * c / chunkCount;
      unsigned long long last = total * (c + 1) / chunkCount;
      if (first < last)
        (*task)(first, last);
    }
  }

  void work() {
    unsigned long long seen = 0;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex);
        wake.wait(lock, [&] { return generation != seen; });
        seen = generation;
        if (stopping)
          return;
      }
      runChunks();
      {
        std::lock_guard<std::mutex> lock(mutex);
        if (--pending == 0)
          done.notify_one();
      }
    }
  }

  std::vector<std::thread> workers;
  std::mutex mutex;
  std::condition_variable wake, done;
  const std::function<void(unsigned long long, unsigned long long)> *task =
      nullptr;
  unsigned long long total = 0, chunkCount = 0, generation = 0;
  std::atomic<unsigned long long> nextChunk{0};
  size_t pending = 0;
  bool stopping = false;
};

class HostBackend : public Backend {
public:
  explicit HostBackend(unsigned threads)
      : pool(threads ? threads
                     : std::max(1u, std::thread::hardware_concurrency())) {}

  std::string deviceName() const override {
    return fmt::format("host ({} threads)", pool.size());
  }

  CompileResult loadModule(const std::string &source, const std::string &name,
                           const std::vector<std::string> &kernelNames,
                           const CompileCache &cache) override {
    HostCompiler compiler;
    CompileResult result = compiler.compile(source, cache);
    if (!library.open(result.path))
      throw Error("cannot load the compiled model " + result.path + ": " +
                  library.error());
    for (const std::string &k : kernelNames) {
      HostKernel fn;
      library.symbol((k + "_d2l_host").c_str(), fn);
      kernels.push_back(fn);
    }
    return result;
  }

  void *allocate(size_t bytes) override {
    void *p = nullptr;
    if (::posix_memalign(&p, 256, std::max<size_t>(bytes, 1)) != 0)
      throw Error(fmt::format("out of host memory allocating {} bytes", bytes));
    return p;
  }
  void release(void *ptr) override { std::free(ptr); }
  void upload(void *dst, const void *src, size_t n) override {
    std::memcpy(dst, src, n);
  }
  void download(void *dst, const void *src, size_t n) override {
    std::memcpy(dst, src, n);
  }
  void copy(void *dst, const void *src, size_t n) override {
    std::memmove(dst, src, n);
  }

  void launch(int kernel, const LaunchSpec &spec, void **args) override {
    LaunchContext ctx{{spec.grid[0], spec.grid[1], spec.grid[2]},
                      {spec.block[0], spec.block[1], spec.block[2]}};
    unsigned long long blocks =
        (unsigned long long)spec.grid[0] * spec.grid[1] * spec.grid[2];
    HostKernel fn = kernels[kernel];
    pool.parallelFor(blocks,
                     [&](unsigned long long first, unsigned long long last) {
                       fn(&ctx, args, first, last);
                     });
  }
  void synchronize() override {}

private:
  ThreadPool pool;
  DynamicLibrary library;
  std::vector<HostKernel> kernels;
};

} // namespace

std::unique_ptr<Backend> createHostBackend(unsigned threads) {
  return std::make_unique<HostBackend>(threads);
}

} // namespace d2lrt
