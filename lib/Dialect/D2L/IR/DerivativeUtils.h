//===- DerivativeUtils.h - helpers of the VJP and JVP builders --*- C++ -*-===//
//
// A thin wrapper of OpBuilder for writing derivatives: null Values are zeros
// and propagate (add(null, x) = x, mul(null, x) = null), and the broadcasting
// helpers reduce a gradient back to an operand's shape.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_LIB_DIALECT_D2L_IR_DERIVATIVEUTILS_H
#define D2L_LIB_DIALECT_D2L_IR_DERIVATIVEUTILS_H

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "mlir/IR/Builders.h"

namespace mlir::d2l {

class GradBuilder {
public:
  GradBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location location() const { return loc; }

  static RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  static SmallVector<int64_t> shapeOf(Value v) {
    return SmallVector<int64_t>(typeOf(v).getShape());
  }

  /// A 0-d constant of element type `et`.
  Value scalar(double v, Type et);
  /// A splat constant of `type`.
  Value splat(double v, Type type);
  /// `v`, or a zero tensor of `type` when `v` is null.
  Value materialize(Value v, Type type);

  // Null-aware arithmetic: a null operand is a zero.
  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y); // x may be null; y must not be
  Value neg(Value x);
  Value scale(Value x, double factor);

  Value reshape(Value x, ArrayRef<int64_t> shape);
  Value broadcastTo(Value x, ArrayRef<int64_t> shape);
  Value sum(Value x, ArrayRef<int64_t> dims, bool keepdim);
  Value mean(Value x, ArrayRef<int64_t> dims, bool keepdim);

  /// Sums a broadcast gradient back to `target`'s shape (the VJP of
  /// broadcasting).
  Value sumTo(Value g, RankedTensorType target);

  /// A per-channel vector [C] viewed as [1, C, 1, ...] of rank `rank`, to
  /// broadcast against an NC... tensor.
  Value channel(Value vec, int64_t rank);
  /// Sums over every dimension but 1 (the channel): [N, C, ...] -> [C].
  Value sumPerChannel(Value x);
  /// The dimensions of an NC... tensor other than the channel.
  static SmallVector<int64_t> nonChannelDims(int64_t rank);

private:
  OpBuilder &b;
  Location loc;
};

} // namespace mlir::d2l

#endif // D2L_LIB_DIALECT_D2L_IR_DERIVATIVEUTILS_H
