//===- DerivativesShape.cpp - VJPs and JVPs of data movement --------------===//
//
// Reshapes, permutations, concatenation, slicing, broadcasting, reductions
// and constants: all linear, so each JVP applies the op to the tangent and
// each VJP applies the adjoint data movement.
//
//===----------------------------------------------------------------------===//

#include "DerivativeUtils.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {
void clearGrads(Operation *op, SmallVectorImpl<Value> &grads) {
  grads.assign(op->getNumOperands(), Value());
}
SmallVector<int64_t> shape(Value v) { return GradBuilder::shapeOf(v); }
int64_t normalise(int64_t dim, int64_t rank) {
  return dim < 0 ? dim + rank : dim;
}
} // namespace

LogicalResult FlattenOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                  ArrayRef<bool> needed,
                                  SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0])
    grads[0] = GradBuilder(b, getLoc()).reshape(rg[0], shape(getInput()));
  return success();
}

LogicalResult FlattenOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                  SmallVectorImpl<Value> &results) {
  results.push_back(GradBuilder(b, getLoc()).reshape(t[0], shape(getResult())));
  return success();
}

LogicalResult ReshapeOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                  ArrayRef<bool> needed,
                                  SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0])
    grads[0] = GradBuilder(b, getLoc()).reshape(rg[0], shape(getInput()));
  return success();
}

LogicalResult ReshapeOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                  SmallVectorImpl<Value> &results) {
  results.push_back(GradBuilder(b, getLoc()).reshape(t[0], shape(getResult())));
  return success();
}

LogicalResult TransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (!needed[0] || !rg[0])
    return success();
  auto perm = getPermutation();
  SmallVector<int64_t> inverse(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inverse[p] = int64_t(i);
  grads[0] = b.create<TransposeOp>(getLoc(), rg[0], inverse);
  return success();
}

LogicalResult TransposeOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                    SmallVectorImpl<Value> &results) {
  results.push_back(
      t[0] ? b.create<TransposeOp>(getLoc(), t[0], getPermutationAttr())
           : Value());
  return success();
}

LogicalResult ConcatOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                 ArrayRef<bool> needed,
                                 SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (!rg[0])
    return success();
  int64_t rank = GradBuilder::typeOf(getResult()).getRank();
  int64_t dim = normalise(getDim(), rank);
  int64_t offset = 0;
  for (auto [i, v] : llvm::enumerate(getInputs())) {
    int64_t size = GradBuilder::typeOf(v).getDimSize(dim);
    if (needed[i])
      grads[i] =
          b.create<SliceOp>(getLoc(), rg[0], dim, offset, offset + size, 1);
    offset += size;
  }
  return success();
}

LogicalResult ConcatOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                 SmallVectorImpl<Value> &results) {
  if (llvm::all_of(t, [](Value v) { return !v; })) {
    results.push_back(Value());
    return success();
  }
  GradBuilder gb(b, getLoc());
  SmallVector<Value> parts;
  for (auto [v, tv] : llvm::zip(getInputs(), t))
    parts.push_back(gb.materialize(tv, v.getType()));
  results.push_back(b.create<ConcatOp>(getLoc(), parts, getDimAttr()));
  return success();
}

LogicalResult SliceOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                ArrayRef<bool> needed,
                                SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (!needed[0] || !rg[0])
    return success();
  auto in = shape(getInput());
  int64_t dim = normalise(getDim(), int64_t(in.size()));
  int64_t start = getStart();
  if (start < 0)
    start += in[dim];
  start = std::clamp<int64_t>(start, 0, in[dim]);
  grads[0] =
      b.create<SliceBackwardOp>(getLoc(), rg[0], in, dim, start, getStep());
  return success();
}

LogicalResult SliceOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<SliceOp>(getLoc(), t[0], getDimAttr(),
                                             getStartAttr(), getEndAttr(),
                                             getStepAttr())
                         : Value());
  return success();
}

LogicalResult BroadcastToOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0])
    grads[0] =
        GradBuilder(b, getLoc()).sumTo(rg[0], GradBuilder::typeOf(getInput()));
  return success();
}

LogicalResult BroadcastToOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                      SmallVectorImpl<Value> &results) {
  results.push_back(
      GradBuilder(b, getLoc()).broadcastTo(t[0], shape(getResult())));
  return success();
}

LogicalResult ConstantOp::buildVJP(OpBuilder &, ArrayRef<Value>, ArrayRef<bool>,
                                   SmallVectorImpl<Value> &grads) {
  grads.clear();
  return success();
}

LogicalResult ConstantOp::buildJVP(OpBuilder &, ArrayRef<Value>,
                                   SmallVectorImpl<Value> &results) {
  results.push_back(Value());
  return success();
}

/// The shape of a reduction's result with the reduced dimensions kept as 1.
template <typename OpT> static SmallVector<int64_t> keptShape(OpT op) {
  auto in = shape(op.getInput());
  SmallVector<int64_t> kept(in);
  int64_t rank = int64_t(in.size());
  if (op.getDims().empty())
    kept.assign(rank, 1);
  for (int64_t d : op.getDims())
    kept[normalise(d, rank)] = 1;
  return kept;
}

template <typename OpT>
static Value reduceVJP(OpBuilder &b, OpT op, Value g, double factor) {
  GradBuilder gb(b, op.getLoc());
  Value kept = gb.reshape(g, keptShape(op));
  return gb.scale(gb.broadcastTo(kept, shape(op.getInput())), factor);
}

LogicalResult SumOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                              ArrayRef<bool> needed,
                              SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0])
    grads[0] = reduceVJP(b, *this, rg[0], 1.0);
  return success();
}

LogicalResult SumOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                              SmallVectorImpl<Value> &results) {
  results.push_back(
      t[0] ? b.create<SumOp>(getLoc(), t[0], getDimsAttr(), getKeepdimAttr())
           : Value());
  return success();
}

LogicalResult MeanOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                               ArrayRef<bool> needed,
                               SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (!needed[0] || !rg[0])
    return success();
  double count = double(GradBuilder::typeOf(getInput()).getNumElements()) /
                 double(GradBuilder::typeOf(getResult()).getNumElements());
  grads[0] = reduceVJP(b, *this, rg[0], 1.0 / count);
  return success();
}

LogicalResult MeanOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                               SmallVectorImpl<Value> &results) {
  results.push_back(
      t[0] ? b.create<MeanOp>(getLoc(), t[0], getDimsAttr(), getKeepdimAttr())
           : Value());
  return success();
}
