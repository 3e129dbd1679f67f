//===- MemoryReport.h - memory of a scheduled function ----------*- C++ -*-===//
//
// What `d2lc --mem-report` prints, computed from the schedule (d2l.buffers)
// before any code runs, with the runtime's own planner (d2lrt_plan), so the
// arena printed is the arena the runtime will allocate.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_ANALYSIS_MEMORYREPORT_H
#define D2L_ANALYSIS_MEMORYREPORT_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::d2l {

struct SavedValue {
  std::string op;       // the op (a fused group lists its ops)
  unsigned result;      // result index
  std::string location; // file:line:col or ""
  int64_t bytes;
};

struct FunctionMemory {
  std::string function;
  std::vector<SavedValue> saved;
  // Bytes by kind (sums over buffers, not peaks).
  int64_t parameters = 0, optimizerState = 0, batchNormState = 0, inputs = 0,
          savedBytes = 0, activations = 0, gradients = 0, workspace = 0,
          outputs = 0, constants = 0;
  // The runtime's plan of the arena (every kind but parameters, state and
  // constants), its liveness lower bound and the sum without reuse.
  uint64_t arena = 0, lowerBound = 0, naive = 0;
  /// Buffers that share another value's bytes (in-place).
  int64_t inPlace = 0;
  /// The most arena bytes one launch reads and writes (distinct buffers):
  /// no order of these launches, and no recomputation, needs less.
  uint64_t largestLaunch = 0;
  std::string largestLaunchOp;
};

/// The memory of a function after --d2l-schedule; fails without a schedule.
FailureOr<FunctionMemory> analyzeMemory(func::FuncOp func);

/// The report of every scheduled function (format in the README).
LogicalResult printMemoryReport(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::d2l

#endif // D2L_ANALYSIS_MEMORYREPORT_H
