//===- CUDAEmitter.h - print a scheduled d2l module as CUDA -----*- C++ -*-===//
//
// Prints one self-contained model.cu: a preamble of macros (CUDA under
// NVRTC/nvcc, or the runtime's host emulation header), one kernel per
// distinct launch of --d2l-schedule, and the manifest. The emitter only
// prints: every decision is an attribute set by --d2l-schedule.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_TARGET_CUDA_CUDAEMITTER_H
#define D2L_TARGET_CUDA_CUDAEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::d2l {

struct CUDAEmitOptions {
  std::string modelName = "model";
  std::string arch = "sm_80";
};

/// Prints the module (after --d2l-schedule). Fails, with a diagnostic at the
/// op, on what it cannot print.
LogicalResult emitCUDA(ModuleOp module, llvm::raw_ostream &os,
                       const CUDAEmitOptions &options);

} // namespace mlir::d2l

#endif // D2L_TARGET_CUDA_CUDAEMITTER_H
