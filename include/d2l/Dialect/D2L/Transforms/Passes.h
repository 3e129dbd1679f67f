//===- Passes.h - passes of the d2l dialect ---------------------*- C++ -*-===//

#ifndef D2L_DIALECT_D2L_TRANSFORMS_PASSES_H
#define D2L_DIALECT_D2L_TRANSFORMS_PASSES_H

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::d2l {

#define GEN_PASS_DECL
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

/// Fails with an error on the first d2l.scan under `root`: `what` (a pass
/// or an analysis) needs the steps unrolled (--d2l-unroll).
LogicalResult expectUnrolled(Operation *root, StringRef what);

#define GEN_PASS_REGISTRATION
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

} // namespace mlir::d2l

#endif // D2L_DIALECT_D2L_TRANSFORMS_PASSES_H
