//===- CudaBackend.cpp - run model.cu on an NVIDIA GPU --------------------===//
//
// The driver API is loaded with dlopen("libcuda.so.1") through a small symbol
// table, so the runtime starts on machines without a GPU and reports "no CUDA
// driver" instead of failing to load. Kernels are compiled by NVRTC to a
// CUBIN for the device's architecture (cached).
//
//===----------------------------------------------------------------------===//

#include "Backend.h"
#include "DynamicLibrary.h"

#include "d2lrt/Error.h"

#include <fmt/format.h>

#include <cstdint>

namespace d2lrt {

namespace {

using CUresult = int;
using CUdevice = int;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUdeviceptr = unsigned long long;

constexpr int kAttrComputeCapabilityMajor = 75;
constexpr int kAttrComputeCapabilityMinor = 76;

/// The driver API symbols d2lrt uses.
struct CudaDriver {
  DynamicLibrary lib;
  CUresult (*cuInit)(unsigned);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemcpyDtoD)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);

  CudaDriver() {
    if (!lib.open("libcuda.so.1"))
      throw Error("no CUDA driver: libcuda.so.1 cannot be loaded (" +
                  lib.error() +
                  "); use the host backend (--backend host) on machines "
                  "without an NVIDIA GPU");
    lib.symbol("cuInit", cuInit);
    lib.symbol("cuGetErrorString", cuGetErrorString);
    lib.symbol("cuDeviceGetCount", cuDeviceGetCount);
    lib.symbol("cuDeviceGet", cuDeviceGet);
    lib.symbol("cuDeviceGetName", cuDeviceGetName);
    lib.symbol("cuDeviceGetAttribute", cuDeviceGetAttribute);
    lib.symbol("cuDevicePrimaryCtxRetain", cuDevicePrimaryCtxRetain);
    lib.symbol("cuDevicePrimaryCtxRelease", cuDevicePrimaryCtxRelease);
    lib.symbol("cuCtxSetCurrent", cuCtxSetCurrent);
    lib.symbol("cuCtxSynchronize", cuCtxSynchronize);
    lib.symbol("cuModuleLoadData", cuModuleLoadData);
    lib.symbol("cuModuleUnload", cuModuleUnload);
    lib.symbol("cuModuleGetFunction", cuModuleGetFunction);
    lib.symbol("cuMemAlloc_v2", cuMemAlloc);
    lib.symbol("cuMemFree_v2", cuMemFree);
    lib.symbol("cuMemcpyHtoD_v2", cuMemcpyHtoD);
    lib.symbol("cuMemcpyDtoH_v2", cuMemcpyDtoH);
    lib.symbol("cuMemcpyDtoD_v2", cuMemcpyDtoD);
    lib.symbol("cuLaunchKernel", cuLaunchKernel);
  }

  void check(CUresult r, const char *what) const {
    if (r == 0)
      return;
    const char *s = nullptr;
    cuGetErrorString(r, &s);
    throw Error(
        fmt::format("CUDA error in {}: {} ({})", what, s ? s : "unknown", r));
  }
};

class CudaBackend : public Backend {
public:
  explicit CudaBackend(int ordinal) {
    CUresult r = driver.cuInit(0);
    if (r != 0) {
      const char *s = nullptr;
      driver.cuGetErrorString(r, &s);
      throw Error(fmt::format("no CUDA driver: cuInit failed: {} ({}); use "
                              "the host backend (--backend host)",
                              s ? s : "unknown", r));
    }
    int count = 0;
    driver.check(driver.cuDeviceGetCount(&count), "cuDeviceGetCount");
    if (ordinal < 0 || ordinal >= count)
      throw Error(fmt::format("no CUDA device {} (this machine has {})",
                              ordinal, count));
    driver.check(driver.cuDeviceGet(&device, ordinal), "cuDeviceGet");
    char name[256] = {0};
    driver.check(driver.cuDeviceGetName(name, sizeof name - 1, device),
                 "cuDeviceGetName");
    int major = 0, minor = 0;
    driver.check(driver.cuDeviceGetAttribute(
                     &major, kAttrComputeCapabilityMajor, device),
                 "cuDeviceGetAttribute");
    driver.check(driver.cuDeviceGetAttribute(
                     &minor, kAttrComputeCapabilityMinor, device),
                 "cuDeviceGetAttribute");
    arch = fmt::format("sm_{}{}", major, minor);
    deviceLabel = name;
    driver.check(driver.cuDevicePrimaryCtxRetain(&context, device),
                 "cuDevicePrimaryCtxRetain");
    driver.check(driver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }

  ~CudaBackend() override {
    if (module)
      driver.cuModuleUnload(module);
    driver.cuDevicePrimaryCtxRelease(device);
  }

  std::string deviceName() const override {
    return fmt::format("cuda ({}, {})", deviceLabel, arch);
  }

  CompileResult loadModule(const std::string &source, const std::string &name,
                           const std::vector<std::string> &kernelNames,
                           const CompileCache &cache) override {
    NvrtcCompiler nvrtc;
    CompileResult result = nvrtc.compile(source, name, arch, cache);
    driver.check(driver.cuModuleLoadData(&module, result.binary.data()),
                 "cuModuleLoadData");
    for (const std::string &k : kernelNames) {
      CUfunction f = nullptr;
      driver.check(driver.cuModuleGetFunction(&f, module, k.c_str()),
                   ("cuModuleGetFunction(" + k + ")").c_str());
      functions.push_back(f);
    }
    return result;
  }

  void *allocate(size_t bytes) override {
    CUdeviceptr p = 0;
    driver.check(driver.cuMemAlloc(&p, std::max<size_t>(bytes, 1)),
                 "cuMemAlloc");
    return reinterpret_cast<void *>(p);
  }
  void release(void *ptr) override {
    driver.cuMemFree(reinterpret_cast<CUdeviceptr>(ptr));
  }
  void upload(void *dst, const void *src, size_t n) override {
    driver.check(
        driver.cuMemcpyHtoD(reinterpret_cast<CUdeviceptr>(dst), src, n),
        "cuMemcpyHtoD");
  }
  void download(void *dst, const void *src, size_t n) override {
    driver.check(
        driver.cuMemcpyDtoH(dst, reinterpret_cast<CUdeviceptr>(src), n),
        "cuMemcpyDtoH");
  }
  void copy(void *dst, const void *src, size_t n) override {
    driver.check(driver.cuMemcpyDtoD(reinterpret_cast<CUdeviceptr>(dst),
                                     reinterpret_cast<CUdeviceptr>(src), n),
                 "cuMemcpyDtoD");
  }
  void launch(int kernel, const LaunchSpec &s, void **args) override {
    // cuLaunchKernel takes pointers to the argument values.
    std::vector<void *> params(s.args.size());
    for (size_t i = 0; i < s.args.size(); ++i)
      params[i] = &args[i];
    driver.check(driver.cuLaunchKernel(functions[kernel], s.grid[0], s.grid[1],
                                       s.grid[2], s.block[0], s.block[1],
                                       s.block[2], 0, nullptr, params.data(),
                                       nullptr),
                 "cuLaunchKernel");
  }
  void synchronize() override {
    driver.check(driver.cuCtxSynchronize(), "cuCtxSynchronize");
  }

private:
  CudaDriver driver;
  CUdevice device = 0;
  CUcontext context = nullptr;
  CUmodule module = nullptr;
  std::vector<CUfunction> functions;
  std::string arch, deviceLabel;
};

} // namespace

std::unique_ptr<Backend> createCudaBackend(int ordinal) {
  return std::make_unique<CudaBackend>(ordinal);
}

} // namespace d2lrt
