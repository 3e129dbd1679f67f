//===- D2LInterfaces.td - interfaces of the d2l dialect ----*- tablegen -*-===//

#ifndef D2L_INTERFACES_TD
#define D2L_INTERFACES_TD

include "mlir/IR/OpBase.td"

def D2L_DifferentiableOpInterface : OpInterface<"DifferentiableOpInterface"> {
  let cppNamespace = "::mlir::d2l";
  let description = [{
    An op that knows its derivatives as IR builders, so that differentiation
    is symbol-to-symbol: `--d2l-grad`, `--d2l-vjp`, `--d2l-train-step` (reverse
    mode) and `--d2l-jvp` (forward mode) are generic over this interface.

    A null Value stands for a zero tangent or cotangent, so zeros propagate
    structurally instead of being materialised. Both builders insert at the
    builder's insertion point and may use the op's operands and results
    (the forward values that the backward pass then keeps alive).
  }];
  let methods = [
    InterfaceMethod<[{
        Builds the vector-Jacobian product. `resultGrads` holds one cotangent
        per result (null: zero). Appends one cotangent per operand to
        `operandGrads` (null: zero or not requested); cotangents are only
        needed for operands with `needed[i]`. Fails, with an error at the op,
        when a needed operand has no derivative.
      }],
      "::llvm::LogicalResult", "buildVJP",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$resultGrads,
           "::llvm::ArrayRef<bool>":$needed,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$operandGrads)>,
    InterfaceMethod<[{
        Builds the Jacobian-vector product. `operandTangents` holds one
        tangent per operand (null: zero). Appends one tangent per result to
        `resultTangents` (null: zero).
      }],
      "::llvm::LogicalResult", "buildJVP",
      (ins "::mlir::OpBuilder &":$builder,
           "::llvm::ArrayRef<::mlir::Value>":$operandTangents,
           "::llvm::SmallVectorImpl<::mlir::Value> &":$resultTangents)>,
  ];
}

#endif // D2L_INTERFACES_TD
