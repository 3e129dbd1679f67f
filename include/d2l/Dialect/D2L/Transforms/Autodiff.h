//===- Autodiff.h - symbolic differentiation over d2l IR --------*- C++ -*-===//
//
// The engines behind --d2l-grad, --d2l-vjp, --d2l-jvp and --d2l-train-step.
// They are generic over DifferentiableOpInterface: the ops build their own
// derivatives; the engines decide which derivatives are needed (activity
// analysis), accumulate cotangents and keep zeros symbolic (null Values).
//
//===----------------------------------------------------------------------===//

#ifndef D2L_DIALECT_D2L_TRANSFORMS_AUTODIFF_H
#define D2L_DIALECT_D2L_TRANSFORMS_AUTODIFF_H

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

#include <string>

namespace mlir::d2l {

/// Reverse mode over the ops of `body` that precede the builder's insertion
/// point: builds, at the insertion point, the cotangents of `wrt` for the
/// function Σ <seeds[i], outputs[i]>. Returns one cotangent per `wrt` value
/// (null when it is zero). Differentiating through an op without a derivative
/// is an error at that op.
FailureOr<SmallVector<Value>> buildReverseMode(OpBuilder &builder, Block &body,
                                               ArrayRef<Value> outputs,
                                               ArrayRef<Value> seeds,
                                               ArrayRef<Value> wrt);

/// Forward mode: builds, right after each op of `body` that has an operand
/// with a tangent, the tangents of its results. `tangents` maps values to
/// their tangents (initially the arguments') and receives the results'.
LogicalResult buildForwardMode(OpBuilder &builder, Block &body,
                               llvm::DenseMap<Value, Value> &tangents);

/// The name of argument `i` of `func` (its d2l.param, d2l.state or d2l.input
/// name, else "arg<i>").
std::string argumentName(func::FuncOp func, unsigned i);
/// The name of result `i` (d2l.output, d2l.param or d2l.state, else
/// "result<i>").
std::string resultName(func::FuncOp func, unsigned i);

/// The returned values of `func` that are new values of its parameters or
/// states (a result named like a d2l.param or d2l.state argument, of its
/// type, not the argument itself), each with the argument it updates; a
/// value returned more than once is left out.
llvm::DenseMap<Value, BlockArgument> updatedArguments(func::FuncOp func);

/// "<prefix>.<name>", or "<prefix>2.<name>", "<prefix>3.<name>", ... when
/// the function already names an argument or result so (a gradient of a
/// gradient function gets grad2.*).
std::string freshName(func::FuncOp func, StringRef prefix, StringRef name);

/// Resolves `names` (argument names or indices) to argument indices; the
/// default (empty `names`) is every d2l.param argument. Errors name what was
/// not found and what exists.
FailureOr<SmallVector<unsigned>> selectArguments(func::FuncOp func,
                                                 ArrayRef<std::string> names,
                                                 StringRef option);

/// Clones `func` as `name` right after it; fails if `name` exists.
FailureOr<func::FuncOp> cloneFunction(func::FuncOp func, StringRef name);

/// Sets the function's return values, result types and result attributes.
void setResults(func::FuncOp func, ArrayRef<Value> values,
                ArrayRef<NamedAttribute> attrs);

/// The forward ops of a training function: those its result 0, a scalar
/// loss, depends on; empty when result 0 is not a 0-d tensor.
llvm::DenseSet<Operation *> lossCone(func::FuncOp func);

/// The bytes of a tensor value (0 for anything that is not a ranked
/// tensor).
int64_t tensorBytes(Value v);

/// The value whose storage each value of `func`'s body uses: a view
/// (reshape, flatten) shares its source's; any other value, and each
/// argument, has its own.
llvm::DenseMap<Value, Value> storageRoots(func::FuncOp func);

/// Marks the forward values that the backward pass uses: in a function whose
/// result 0 is a scalar loss, the forward ops are those the loss depends on;
/// each forward op whose results feed other ops gets `d2l.saved` = the
/// indices of those results. Returns the number of saved values.
unsigned markSavedValues(func::FuncOp func);

/// Rematerialisation of elementwise values in a training step: a forward
/// value that the backward pass reads and that elementwise ops compute from
/// values the backward pass keeps anyway (arguments, constants, and forward
/// results that are saved regardless) is recomputed right before its first
/// backward use instead of being saved; a value whose recomputation would
/// need more newly saved bytes than it has is kept. Decided in program
/// order, so chains of residual blocks recompute from the last saved value.
/// Returns the number of values no longer saved.
unsigned rematerializeElementwise(func::FuncOp func);

/// The backward pass of a conv + BatchNorm + ReLU + max-pool whose input
/// needs no gradient (a network's stem), as one
/// d2l.conv_bn_relu_pool_backward that recomputes the activations inside
/// the kernel (FuseStemBackward.cpp). Returns the number of stems fused.
unsigned fuseStemBackward(func::FuncOp func);

} // namespace mlir::d2l

#endif // D2L_DIALECT_D2L_TRANSFORMS_AUTODIFF_H
