//===- cuda_host.h - run d2lc's generated CUDA on the CPU -------*- C++ -*-===//
//
// The host backend compiles a model.cu with the system C++ compiler and this
// header (-include d2lrt/cuda_host.h). Generated kernels are written in a
// phased style that has two readings:
//
//   D2L_THREADS { ... }   GPU: the code every thread runs.
//                         CPU: a loop over the block's threads, so the
//                         compiler sees (and vectorises) a plain loop.
//   D2L_BARRIER           GPU: __syncthreads().
//                         CPU: nothing: phases are separate loops, which is
//                         exactly a barrier.
//   D2L_PRIVATE(t, n, c, threads) / D2L_P(n)
//                         per-thread values that live across barriers:
//                         registers on the GPU, one row per thread on the CPU.
//   D2L_SHARED            shared memory on the GPU; a local array of the
//                         block function on the CPU (a block runs whole on
//                         one worker thread).
//
// Code outside D2L_THREADS is uniform across the block (it may read blockIdx,
// not threadIdx); threadIdx only exists inside D2L_THREADS on the CPU, so a
// kernel that breaks the discipline does not compile here.
//
// Each kernel K also gets an entry point K_d2l_host(ctx, args, first, last)
// (D2L_HOST_ENTRY) that runs blocks [first, last) of a launch; the runtime
// spreads block ranges over its worker threads.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_CUDA_HOST_H
#define D2LRT_CUDA_HOST_H

#include <math.h>

#include <cstdint>
#include <cstring>
#include <limits>

namespace d2l {

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};

/// The launch of the block being run by this worker thread.
struct LaunchContext {
  unsigned grid[3];
  unsigned block[3];
};

inline thread_local dim3 blockIdx_;
inline thread_local dim3 gridDim_;
inline thread_local dim3 blockDim_;

inline unsigned blockThreads() {
  return blockDim_.x * blockDim_.y * blockDim_.z;
}

inline dim3 threadIndex(unsigned tid) {
  dim3 t;
  t.x = tid % blockDim_.x;
  t.y = (tid / blockDim_.x) % blockDim_.y;
  t.z = tid / (blockDim_.x * blockDim_.y);
  return t;
}

/// Sets the thread-local launch context for blocks of one launch.
inline void enterLaunch(const LaunchContext *ctx) {
  gridDim_ = {ctx->grid[0], ctx->grid[1], ctx->grid[2]};
  blockDim_ = {ctx->block[0], ctx->block[1], ctx->block[2]};
}

inline void enterBlock(unsigned long long linear) {
  blockIdx_.x = unsigned(linear % gridDim_.x);
  blockIdx_.y = unsigned((linear / gridDim_.x) % gridDim_.y);
  blockIdx_.z =
      unsigned(linear / (gridDim_.x * (unsigned long long)gridDim_.y));
}

template <typename T> inline T atomicAddImpl(T *address, T value) {
  T old;
  __atomic_load(address, &old, __ATOMIC_RELAXED);
  while (true) {
    T desired = old + value;
    if (__atomic_compare_exchange(address, &old, &desired, false,
                                  __ATOMIC_RELAXED, __ATOMIC_RELAXED))
      return old;
  }
}

} // namespace d2l

#define blockIdx (::d2l::blockIdx_)
#define gridDim (::d2l::gridDim_)
#define blockDim (::d2l::blockDim_)

#define D2L_GLOBAL static inline
#define D2L_LAUNCH_BOUNDS(n)
#define D2L_DEVICE static inline
#define D2L_SHARED
#define D2L_THREADS                                                            \
  for (unsigned d2l_tid = 0, d2l_nt = ::d2l::blockThreads(); d2l_tid < d2l_nt; \
       ++d2l_tid)                                                              \
    if (const ::d2l::dim3 threadIdx = ::d2l::threadIndex(d2l_tid); true)
#define D2L_BARRIER ((void)0)
#define D2L_PRIVATE(type, name, count, threads)                                \
  type d2l_private_##name[threads][count]
#define D2L_P(name) d2l_private_##name[d2l_tid]
#define D2L_INF (std::numeric_limits<float>::infinity())
#define D2L_NAN (std::numeric_limits<float>::quiet_NaN())
#define D2L_HOST_ENTRY(name, ...)                                              \
  extern "C" void name##_d2l_host(const ::d2l::LaunchContext *ctx,             \
                                  void **args, unsigned long long first,       \
                                  unsigned long long last) {                   \
    ::d2l::enterLaunch(ctx);                                                   \
    for (unsigned long long b = first; b < last; ++b) {                        \
      ::d2l::enterBlock(b);                                                    \
      name(__VA_ARGS__);                                                       \
    }                                                                          \
  }

typedef long long d2l_i64;

inline float atomicAdd(float *address, float value) {
  return ::d2l::atomicAddImpl(address, value);
}
inline double atomicAdd(double *address, double value) {
  return ::d2l::atomicAddImpl(address, value);
}
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }

/// The ABI version of this header; the generated file checks it.
#define D2LRT_HOST_ABI 1

#endif // D2LRT_CUDA_HOST_H
