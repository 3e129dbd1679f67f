//===- Backend.h - where kernels run: the GPU or the CPU --------*- C++ -*-===//

#ifndef D2LRT_BACKEND_H
#define D2LRT_BACKEND_H

#include "d2lrt/Compiler.h"
#include "d2lrt/Manifest.h"

#include <memory>
#include <string>
#include <vector>

namespace d2lrt {

class Backend {
public:
  virtual ~Backend() = default;
  /// "host (2 threads)" or "cuda (NVIDIA H100 80GB HBM3, sm_90)".
  virtual std::string deviceName() const = 0;
  /// Compiles (or loads from the cache) the model and resolves its kernels.
  virtual CompileResult loadModule(const std::string &source,
                                   const std::string &name,
                                   const std::vector<std::string> &kernels,
                                   const CompileCache &cache) = 0;
  virtual void *allocate(size_t bytes) = 0;
  virtual void release(void *ptr) = 0;
  virtual void upload(void *dst, const void *src, size_t bytes) = 0;
  virtual void download(void *dst, const void *src, size_t bytes) = 0;
  virtual void copy(void *dst, const void *src, size_t bytes) = 0;
  /// Runs kernel `kernel` (an index into the loaded list) with pointer
  /// arguments.
  virtual void launch(int kernel, const LaunchSpec &launch, void **args) = 0;
  virtual void synchronize() = 0;
};

/// The host backend: `threads` workers (0: one per core).
std::unique_ptr<Backend> createHostBackend(unsigned threads);
/// The CUDA backend on device `ordinal`; throws Error("no CUDA driver ...")
/// when libcuda.so.1 or a GPU is missing.
std::unique_ptr<Backend> createCudaBackend(int ordinal);

} // namespace d2lrt

#endif // D2LRT_BACKEND_H
