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

#include <string>
#include <vector>

/// Accepts the short form --d2l-set-batch=N for --d2l-set-batch=batch=N.
static std::vector<std::string> expandShortOptions(int argc, char **argv) {
  std::vector<std::string> args(argv, argv + argc);
  const std::string prefix = "--d2l-set-batch=";
  for (std::string &a : args)
    if (a.rfind(prefix, 0) == 0 && a.size() > prefix.size() &&
        a.find_first_not_of("0123456789", prefix.size()) == std::string::npos)
      a = prefix + "batch=" + a.substr(prefix.size());
  return args;
}

int main(int argc, char **argv) {
  std::vector<std::string> expanded = expandShortOptions(argc, argv);
  std::vector<char *> args;
  for (std::string &a : expanded)
    args.push_back(a.data());
  argc = int(args.size());
  argv = args.data();

  mlir::DialectRegistry registry;
  registry.insert<mlir::d2l::D2LDialect, mlir::func::FuncDialect>();
  mlir::d2l::registerD2LPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "d2lc-opt: the d2l dialect's pass driver\n", registry));
}
