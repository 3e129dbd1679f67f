//===- Evaluator.h - the reference evaluator of d2l functions ---*- C++ -*-===//
//
// Interprets a d2l function op by op with plain C++ kernels, in float or in
// double. It is the IR-level oracle: passes are checked by evaluating a
// function before and after them, and the evaluator itself is checked against
// PyTorch.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_EVAL_EVALUATOR_H
#define D2L_EVAL_EVALUATOR_H

#include "d2l/Eval/Tensor.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "d2lrt/Safetensors.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::d2l::eval {

/// Evaluates `func` on `args` (one per function argument, in order). A
/// failure (an op the evaluator does not know, a label out of range) is
/// emitted as a diagnostic at the failing op.
template <typename T>
FailureOr<std::vector<Tensor<T>>> evaluate(func::FuncOp func,
                                           std::vector<Tensor<T>> args);

/// What a function argument is, from its d2l.* attributes.
struct ArgumentInfo {
  enum Kind { Param, State, Input, Unnamed } kind = Unnamed;
  std::string name;
  std::string init; // empty when none
  RankedTensorType type;
};

/// The arguments of `func` with their names ("arg<i>" when unnamed).
std::vector<ArgumentInfo> describeArguments(func::FuncOp func);

/// The names of `func`'s results: d2l.output, d2l.param or d2l.state, else
/// "result<i>".
std::vector<std::string> resultNames(func::FuncOp func);

/// Builds the argument list of `func` from the named tensors of `file`:
/// every argument found there is checked against its type (shape, and dtype
/// F32 for f32 evaluation, F32 or F64 for f64; integers as I64 or I32); a
/// parameter or state that is absent is initialised from its d2l.init with
/// `seed`. On error returns a message naming the tensor. `unused` receives the
/// names in `file` that no argument took.
template <typename T>
std::string bindArguments(func::FuncOp func, const d2lrt::TensorFile &file,
                          uint64_t seed, std::vector<Tensor<T>> &args,
                          std::vector<std::string> *unused = nullptr);

/// Converts an evaluator tensor to a safetensors tensor: F32 or F64 (as T) for
/// floating point, I64 for integers.
template <typename T> d2lrt::HostTensor toHost(const Tensor<T> &tensor);

} // namespace mlir::d2l::eval

#endif // D2L_EVAL_EVALUATOR_H
