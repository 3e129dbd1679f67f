//===- DerivativeUtils.cpp - helpers of the VJP and JVP builders ----------===//

#include "DerivativeUtils.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::d2l;

Value GradBuilder::scalar(double v, Type et) {
  return splat(v, RankedTensorType::get({}, et));
}

Value GradBuilder::splat(double v, Type type) {
  auto t = cast<RankedTensorType>(type);
  auto attr = DenseElementsAttr::get(t, b.getFloatAttr(t.getElementType(), v));
  return b.create<ConstantOp>(loc, attr);
}

Value GradBuilder::materialize(Value v, Type type) {
  return v ? v : splat(0.0, type);
}

Value GradBuilder::add(Value x, Value y) {
  if (!x)
    return y;
  if (!y)
    return x;
  return b.create<AddOp>(loc, x, y);
}

Value GradBuilder::sub(Value x, Value y) {
  if (!y)
    return x;
  if (!x)
    return neg(y);
  return b.create<SubOp>(loc, x, y);
}

Value GradBuilder::mul(Value x, Value y) {
  if (!x || !y)
    return Value();
  return b.create<MulOp>(loc, x, y);
}

Value GradBuilder::div(Value x, Value y) {
  if (!x)
    return Value();
  return b.create<DivOp>(loc, x, y);
}

Value GradBuilder::neg(Value x) {
  if (!x)
    return Value();
  return b.create<NegOp>(loc, x);
}

Value GradBuilder::scale(Value x, double factor) {
  if (!x)
    return Value();
  if (factor == 1.0)
    return x;
  return b.create<MulOp>(loc, x, scalar(factor, typeOf(x).getElementType()));
}

Value GradBuilder::reshape(Value x, ArrayRef<int64_t> shape) {
  if (!x || typeOf(x).getShape() == shape)
    return x;
  return b.create<ReshapeOp>(loc, x, b.getDenseI64ArrayAttr(shape));
}

Value GradBuilder::broadcastTo(Value x, ArrayRef<int64_t> shape) {
  if (!x || typeOf(x).getShape() == shape)
    return x;
  return b.create<BroadcastToOp>(loc, x, b.getDenseI64ArrayAttr(shape));
}

Value GradBuilder::sum(Value x, ArrayRef<int64_t> dims, bool keepdim) {
  if (!x)
    return x;
  return b.create<SumOp>(loc, x, b.getDenseI64ArrayAttr(dims),
                         b.getBoolAttr(keepdim));
}

Value GradBuilder::mean(Value x, ArrayRef<int64_t> dims, bool keepdim) {
  if (!x)
    return x;
  return b.create<MeanOp>(loc, x, b.getDenseI64ArrayAttr(dims),
                          b.getBoolAttr(keepdim));
}

Value GradBuilder::sumTo(Value g, RankedTensorType target) {
  if (!g || typeOf(g) == target)
    return g;
  auto shape = typeOf(g).getShape();
  auto want = target.getShape();
  size_t lead = shape.size() - want.size();
  SmallVector<int64_t> dims;
  for (size_t i = 0; i < shape.size(); ++i)
    if (i < lead || (want[i - lead] == 1 && shape[i] != 1))
      dims.push_back(int64_t(i));
  Value reduced = dims.empty() ? g : sum(g, dims, /*keepdim=*/true);
  return reshape(reduced, want);
}

Value GradBuilder::channel(Value vec, int64_t rank) {
  if (!vec)
    return vec;
  SmallVector<int64_t> shape(rank, 1);
  shape[1] = typeOf(vec).getDimSize(0);
  return reshape(vec, shape);
}

SmallVector<int64_t> GradBuilder::nonChannelDims(int64_t rank) {
  SmallVector<int64_t> dims;
  for (int64_t i = 0; i < rank; ++i)
    if (i != 1)
      dims.push_back(i);
  return dims;
}

Value GradBuilder::sumPerChannel(Value x) {
  if (!x)
    return x;
  return sum(x, nonChannelDims(typeOf(x).getRank()), /*keepdim=*/false);
}
