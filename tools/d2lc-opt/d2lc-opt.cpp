//===- d2lc-opt.cpp - run d2l passes one at a time, like mlir-opt ---------===//
//
// Registers only the dialects a d2l model uses (d2l, func) and the d2l passes,
// plus the generic canonicalize and cse passes.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/IR/D2L.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::d2l::D2LDialect, mlir::func::FuncDialect>();
  mlir::d2l::registerD2LPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "d2lc-opt: the d2l dialect's pass driver\n", registry));
}
