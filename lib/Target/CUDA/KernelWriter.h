//===- KernelWriter.h - what a kernel family printer gets -------*- C++ -*-===//

#ifndef D2L_LIB_TARGET_CUDA_KERNELWRITER_H
#define D2L_LIB_TARGET_CUDA_KERNELWRITER_H

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::d2l::cuda {

/// One launch to print: its op, its schedule attributes, and the buffers of
/// its parameters (a0, a1, ... in order; the last `outputs` are written).
struct Launch {
  Operation *op;
  DictionaryAttr attrs;
  std::vector<RankedTensorType> params;
  int64_t outputs;

  StringRef family() const;
  StringRef role() const;
  int64_t intAttr(StringRef name) const;
  ArrayRef<int64_t> arrayAttr(StringRef name) const;
  std::string paramName(size_t i) const { return "a" + std::to_string(i); }
  /// "float", "double" or "d2l_i64".
  std::string scalar(size_t i) const;
  size_t numInputs() const { return params.size() - outputs; }
};

/// The scalar C type of an element type; fails on types the backend lacks.
std::string scalarType(Type t);
/// A math function for the element type: mathFn("exp", f32) = "expf".
std::string mathFn(StringRef name, Type t);
/// A floating literal of the element type.
std::string literal(double v, Type t);
/// ReLU of the expression `x` (NaN passes through, as PyTorch's).
std::string reluExpr(StringRef x, Type t);
/// The condition under which value `v` replaces the running maximum
/// (`best` < 0 before the first value, `bestValue`): PyTorch's max-pool
/// rule, the first maximum of the window, a NaN beating any number. Every
/// kernel that finds a window's maximum uses it, so they agree.
std::string firstMaxCondition(StringRef v);

/// Row-major strides of a shape.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape);

/// Prints statements that decompose the flat index `index` of a tensor of
/// `shape` and set `offsets[k]` to the offset into operand k, whose shape is
/// broadcast to `shape` (right-aligned, size-1 dims stretched).
void printBroadcastOffsets(llvm::raw_ostream &os, StringRef indent,
                           StringRef index, ArrayRef<int64_t> shape,
                           ArrayRef<SmallVector<int64_t>> operandShapes,
                           ArrayRef<std::string> offsets);

/// The C expression of elementwise op `op` on operand expressions `args`,
/// for element `index` (dropout draws its mask from the index).
FailureOr<std::string>
elementwiseExpr(Operation *op, ArrayRef<std::string> args, StringRef index);

/// Prints the body of fused group `fused` for element `index` of the
/// iteration space `space`: the selected ops, with inputs loaded from the
/// parameters a<input> (broadcast), the `root` op's value given as
/// `rootValue`, and the selected results stored to a<inputs + result>.
LogicalResult printFusedElement(llvm::raw_ostream &os, StringRef indent,
                                FusedOp fused, StringRef index,
                                RankedTensorType space,
                                const llvm::SmallPtrSetImpl<Operation *> &ops,
                                ArrayRef<unsigned> results, Operation *root,
                                StringRef rootValue);

/// Prints the whole body of epilogue group `fused` for element `index` of
/// its root's result, the root's value given as `rootValue`: the chain on
/// that element and every result of the group stored.
LogicalResult printEpilogueElement(llvm::raw_ostream &os, StringRef indent,
                                   FusedOp fused, StringRef index,
                                   StringRef rootValue);

// Kernel body printers, one per family file. Each prints the statements of
// the kernel (between the braces) for `l`, or fails with a diagnostic.
LogicalResult printPointwise(llvm::raw_ostream &os, const Launch &l);
LogicalResult printGemmFamily(llvm::raw_ostream &os, const Launch &l);
LogicalResult printPool(llvm::raw_ostream &os, const Launch &l);
LogicalResult printNorm(llvm::raw_ostream &os, const Launch &l);
LogicalResult printReduce(llvm::raw_ostream &os, const Launch &l);
LogicalResult printSoftmaxFamily(llvm::raw_ostream &os, const Launch &l);
LogicalResult printMovement(llvm::raw_ostream &os, const Launch &l);
LogicalResult printFused(llvm::raw_ostream &os, const Launch &l);

} // namespace mlir::d2l::cuda

#endif // D2L_LIB_TARGET_CUDA_KERNELWRITER_H
