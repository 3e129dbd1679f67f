//===- D2L.h - the d2l dialect and its ops ----------------------*- C++ -*-===//
//
// Include this header to use the d2l dialect: it declares the dialect, its
// traits, the shared shape rules and every op.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_DIALECT_D2L_IR_D2L_H
#define D2L_DIALECT_D2L_IR_D2L_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

#include "d2l/Dialect/D2L/IR/D2LDialect.h.inc"

namespace mlir::d2l {

/// Names of the argument and result attributes that name a model's tensors.
constexpr llvm::StringLiteral kParamAttr = "d2l.param";
constexpr llvm::StringLiteral kStateAttr = "d2l.state";
constexpr llvm::StringLiteral kInputAttr = "d2l.input";
constexpr llvm::StringLiteral kInitAttr = "d2l.init";
constexpr llvm::StringLiteral kOutputAttr = "d2l.output";

/// Shape rule of the broadcasting binary ops (PyTorch/NumPy broadcasting).
LogicalResult inferBroadcastResult(std::optional<Location> loc,
                                   StringRef opName, Type lhs, Type rhs,
                                   SmallVectorImpl<Type> &results);

/// Shape rule of sum/mean over `dims` (all dimensions when empty).
LogicalResult inferReduceResult(std::optional<Location> loc, StringRef opName,
                                Type input, ArrayRef<int64_t> dims,
                                bool keepdim, SmallVectorImpl<Type> &results);

/// The broadcast of two shapes, or failure when they are incompatible.
FailureOr<SmallVector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b);

/// The stride of a pooling op, which defaults to its kernel size.
inline SmallVector<int64_t, 2>
strideOrKernel(std::optional<ArrayRef<int64_t>> stride,
               ArrayRef<int64_t> kernel) {
  return SmallVector<int64_t, 2>(stride ? *stride : kernel);
}

/// "[6, 1, 5, 5]"
std::string formatShape(ArrayRef<int64_t> shape);

/// "models/lenet.mlir:5:10" for an op with a file location, "" otherwise
/// (the place the memory report and the kernel comments name).
std::string formatLocation(Operation *op);

namespace trait {

/// Checks the declared result types of `op` against the inferred ones.
LogicalResult verifyResultTypes(Operation *op, TypeRange inferred);

/// Runs the op's shape rules with diagnostics enabled and compares the
/// declared result types with the inferred ones, before (and instead of) the
/// generic InferTypeOpInterface check, so that each problem gets exactly one
/// message naming what was expected and what was found.
template <typename ConcreteType>
class ShapeChecked
    : public mlir::OpTrait::TraitBase<ConcreteType, ShapeChecked> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    SmallVector<Type, 4> types;
    if (failed(ConcreteType::inferReturnTypes(
            op->getContext(), op->getLoc(),
            typename ConcreteType::Adaptor(cast<ConcreteType>(op)), types)))
      return failure();
    return verifyResultTypes(op, types);
  }
};

/// Marks elementwise ops (one scalar function per element after
/// broadcasting); fusion passes look for it.
template <typename ConcreteType>
class D2LElementwise
    : public mlir::OpTrait::TraitBase<ConcreteType, D2LElementwise> {};

} // namespace trait
} // namespace mlir::d2l

#include "d2l/Dialect/D2L/IR/D2LInterfaces.h.inc"

#define GET_OP_CLASSES
#include "d2l/Dialect/D2L/IR/D2LOps.h.inc"

namespace mlir::d2l {
/// Whether `op` computes each output element from the same element of its
/// (broadcast) operands, so that fusion can chain it per element.
bool isFusibleElementwise(Operation *op);
/// Whether `op` is a GEMM-like op whose output stores can carry an
/// elementwise epilogue (conv2d, conv_transpose2d, conv2d_backward_input,
/// conv2d_backward_filter, linear, matmul, batch_matmul).
bool isEpilogueRoot(Operation *op);

/// The sections of a `multi` group, each computed by its own range of
/// blocks: results whose chains read a common input of more than one
/// element are in one section (computed together, element by element, all
/// inputs read before any result is stored: the optimizer update of a
/// parameter and of its momentum), the others alone. A section whose results
/// would differ in type is split into single results. In order of first
/// result.
SmallVector<SmallVector<unsigned>> multiSections(FusedOp op);
/// The block arguments of `op`'s body that result `r`'s chain reads.
llvm::SmallSetVector<unsigned, 8> multiInputsOf(FusedOp op, unsigned r);
} // namespace mlir::d2l

#endif // D2L_DIALECT_D2L_IR_D2L_H
