//===- DerivativesNN.cpp - VJPs and JVPs of layers ------------------------===//
//
// Convolution, linear algebra, batch normalisation and pooling. Each VJP
// builds the gradient ops of the dialect (the ones PyTorch's autograd calls);
// each JVP uses the op's (multi)linearity where it has it.
//
//===----------------------------------------------------------------------===//

#include "DerivativeUtils.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {
/// Fills `grads` with one null per operand.
void clearGrads(Operation *op, SmallVectorImpl<Value> &grads) {
  grads.assign(op->getNumOperands(), Value());
}

SmallVector<int64_t> shape(Value v) { return GradBuilder::shapeOf(v); }
} // namespace

//===----------------------------------------------------------------------===//
// Convolution
//===----------------------------------------------------------------------===//

LogicalResult Conv2dOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed,
                                 SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  Value g = resultGrads[0];
  if (!g)
    return success();
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = b.create<Conv2dBackwardInputOp>(
        getLoc(), g, getWeight(), shape(getInput()), getStride(), getPadding(),
        getDilation(), getGroups());
  if (needed[1]) {
    auto w = shape(getWeight());
    grads[1] = b.create<Conv2dBackwardFilterOp>(
        getLoc(), getInput(), g, ArrayRef<int64_t>{w[2], w[3]}, getStride(),
        getPadding(), getDilation(), getGroups());
  }
  if (getBias() && needed[2])
    grads[2] = gb.sumPerChannel(g);
  return success();
}

LogicalResult Conv2dOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                 SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value tb = getBias() ? t[2] : Value();
  Value y;
  if (t[0])
    y = b.create<Conv2dOp>(getLoc(), t[0], getWeight(), Value(), getStride(),
                           getPadding(), getDilation(), getGroups());
  if (t[1])
    y = gb.add(y,
               b.create<Conv2dOp>(getLoc(), getInput(), t[1], tb, getStride(),
                                  getPadding(), getDilation(), getGroups()));
  else if (tb)
    y = gb.add(y, gb.broadcastTo(gb.channel(tb, 4), shape(getResult())));
  results.push_back(y);
  return success();
}

LogicalResult ConvTranspose2dOp::buildVJP(OpBuilder &b,
                                          ArrayRef<Value> resultGrads,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  Value g = resultGrads[0];
  if (!g)
    return success();
  GradBuilder gb(b, getLoc());
  auto stride = getStride(), dilation = getDilation(),
       outputPadding = getOutputPadding();
  for (int i = 0; i < 2; ++i)
    if (outputPadding[i] >= stride[i])
      return emitOpError() << "has no VJP with output_padding >= stride "
                              "(output_padding "
                           << formatShape(outputPadding) << ", stride "
                           << formatShape(stride) << ")";
  // The adjoint of a transposed convolution is the convolution itself; its
  // weight gradient is conv2d's with the roles of input and output swapped.
  if (needed[0])
    grads[0] = b.create<Conv2dOp>(getLoc(), g, getWeight(), Value(), stride,
                                  getPadding(), dilation, getGroups());
  if (needed[1]) {
    auto w = shape(getWeight());
    grads[1] = b.create<Conv2dBackwardFilterOp>(
        getLoc(), g, getInput(), ArrayRef<int64_t>{w[2], w[3]}, stride,
        getPadding(), dilation, getGroups());
  }
  if (getBias() && needed[2])
    grads[2] = gb.sumPerChannel(g);
  return success();
}

LogicalResult ConvTranspose2dOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                          SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value tb = getBias() ? t[2] : Value();
  Value y;
  auto make = [&](Value x, Value w, Value bias) -> Value {
    return b.create<ConvTranspose2dOp>(getLoc(), x, w, bias, getStride(),
                                       getPadding(), getOutputPadding(),
                                       getDilation(), getGroups());
  };
  if (t[0])
    y = make(t[0], getWeight(), Value());
  if (t[1])
    y = gb.add(y, make(getInput(), t[1], tb));
  else if (tb)
    y = gb.add(y, gb.broadcastTo(gb.channel(tb, 4), shape(getResult())));
  results.push_back(y);
  return success();
}

//===----------------------------------------------------------------------===//
// Linear algebra
//===----------------------------------------------------------------------===//

LogicalResult LinearOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed,
                                 SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  Value g = resultGrads[0];
  if (!g)
    return success();
  GradBuilder gb(b, getLoc());
  auto w = shape(getWeight());
  int64_t out = w[0], in = w[1];
  int64_t rows = GradBuilder::typeOf(getInput()).getNumElements() / in;
  // Work on [rows, features] matrices.
  Value g2 = gb.reshape(g, {rows, out});
  if (needed[0]) {
    Value dx = b.create<MatmulOp>(getLoc(), g2, getWeight(), false, false);
    grads[0] = gb.reshape(dx, shape(getInput()));
  }
  if (needed[1]) {
    Value x2 = gb.reshape(getInput(), {rows, in});
    grads[1] = b.create<MatmulOp>(getLoc(), g2, x2, /*transpose_lhs=*/true,
                                  /*transpose_rhs=*/false);
  }
  if (getBias() && needed[2]) {
    SmallVector<int64_t> dims;
    for (int64_t i = 0, r = GradBuilder::typeOf(g).getRank() - 1; i < r; ++i)
      dims.push_back(i);
    grads[2] = dims.empty() ? g : gb.sum(g, dims, false);
  }
  return success();
}

LogicalResult LinearOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                 SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value tb = getBias() ? t[2] : Value();
  Value y;
  if (t[0])
    y = b.create<LinearOp>(getLoc(), t[0], getWeight(), Value());
  if (t[1])
    y = gb.add(y, b.create<LinearOp>(getLoc(), getInput(), t[1], tb));
  else if (tb)
    y = gb.add(y, gb.broadcastTo(tb, shape(getResult())));
  results.push_back(y);
  return success();
}

/// The VJP of C = op(A) op(B) (op transposes when its flag is set), shared
/// by matmul and batch_matmul.
template <typename MatOp>
static void matmulVJP(OpBuilder &b, MatOp op, Value g, ArrayRef<bool> needed,
                      SmallVectorImpl<Value> &grads) {
  Location loc = op.getLoc();
  Value a = op.getLhs(), bm = op.getRhs();
  bool ta = op.getTransposeLhs(), tb = op.getTransposeRhs();
  auto mm = [&](Value x, Value y, bool tx, bool ty) -> Value {
    return b.create<MatOp>(loc, x, y, tx, ty);
  };
  if (needed[0])
    grads[0] = !ta ? mm(g, bm, false, !tb) : mm(bm, g, tb, true);
  if (needed[1])
    grads[1] = !tb ? mm(a, g, !ta, false) : mm(g, a, true, ta);
}

template <typename MatOp>
static Value matmulJVP(OpBuilder &b, MatOp op, ArrayRef<Value> t) {
  GradBuilder gb(b, op.getLoc());
  Value y;
  bool ta = op.getTransposeLhs(), tb = op.getTransposeRhs();
  if (t[0])
    y = b.create<MatOp>(op.getLoc(), t[0], op.getRhs(), ta, tb);
  if (t[1])
    y = gb.add(y, b.create<MatOp>(op.getLoc(), op.getLhs(), t[1], ta, tb));
  return y;
}

LogicalResult MatmulOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                 ArrayRef<bool> needed,
                                 SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (resultGrads[0])
    matmulVJP(b, *this, resultGrads[0], needed, grads);
  return success();
}

LogicalResult MatmulOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                 SmallVectorImpl<Value> &results) {
  results.push_back(matmulJVP(b, *this, t));
  return success();
}

LogicalResult BatchMatmulOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (resultGrads[0])
    matmulVJP(b, *this, resultGrads[0], needed, grads);
  return success();
}

LogicalResult BatchMatmulOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                      SmallVectorImpl<Value> &results) {
  results.push_back(matmulJVP(b, *this, t));
  return success();
}

//===----------------------------------------------------------------------===//
// Batch normalisation
//===----------------------------------------------------------------------===//

LogicalResult BatchNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  GradBuilder gb(b, getLoc());
  Value gy = rg[0], gMean = rg[1], gInvstd = rg[2], gRm = rg[3], gRv = rg[4];
  int64_t rank = GradBuilder::typeOf(getInput()).getRank();
  auto xType = GradBuilder::typeOf(getInput());
  double n = double(xType.getNumElements() / xType.getDimSize(1));
  double m = getMomentum().convertToDouble();
  Value dx, dg, db;
  if (gy) {
    auto bwd =
        b.create<BatchNormBackwardOp>(getLoc(), gy, getInput(), getWeight(),
                                      getBatchMean(), getBatchInvstd());
    dx = bwd.getGradInput();
    dg = bwd.getGradWeight();
    db = bwd.getGradBias();
  }
  // Cotangents of the batch statistics and the running statistics flow into
  // x through mean = Σx / n and var = Σ(x - mean)² / n (PyTorch keeps
  // running statistics out of autograd; these terms are only built when a
  // function returns or uses them).
  Value cMean = gb.add(gMean, gb.scale(gRm, m));
  Value invstd = getBatchInvstd();
  Value invstd3 = gInvstd ? gb.mul(gb.mul(invstd, invstd), invstd) : Value();
  Value cVar = gb.add(gb.scale(gb.mul(gInvstd, invstd3), -0.5),
                      gb.scale(gRv, m * n / (n - 1)));
  if (needed[0] && (cMean || cVar)) {
    Value extra = gb.broadcastTo(gb.channel(gb.scale(cMean, 1.0 / n), rank),
                                 shape(getInput()));
    if (cVar) {
      Value centred = gb.sub(getInput(), gb.channel(getBatchMean(), rank));
      extra = gb.add(
          extra, gb.mul(centred, gb.channel(gb.scale(cVar, 2.0 / n), rank)));
    }
    dx = gb.add(dx, extra);
  }
  grads[0] = needed[0] ? dx : Value();
  grads[1] = needed[1] ? dg : Value();
  grads[2] = needed[2] ? db : Value();
  grads[3] = needed[3] ? gb.scale(gRm, 1 - m) : Value();
  grads[4] = needed[4] ? gb.scale(gRv, 1 - m) : Value();
  return success();
}

LogicalResult BatchNormOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                    SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value tx = t[0], tg = t[1], tb = t[2], trm = t[3], trv = t[4];
  auto xType = GradBuilder::typeOf(getInput());
  int64_t rank = xType.getRank();
  double n = double(xType.getNumElements() / xType.getDimSize(1));
  double m = getMomentum().convertToDouble();
  auto dims = GradBuilder::nonChannelDims(rank);
  auto xShape = shape(getInput());
  Value invstd = getBatchInvstd();
  Value centred = gb.sub(getInput(), gb.channel(getBatchMean(), rank));
  Value dMu, dVar, dInv;
  if (tx) {
    dMu = gb.mean(tx, dims, false);
    dVar = gb.scale(gb.mean(gb.mul(centred, tx), dims, false), 2.0);
    Value invstd3 = gb.mul(gb.mul(invstd, invstd), invstd);
    dInv = gb.scale(gb.mul(invstd3, dVar), -0.5);
  }
  // y = g (x - mean) invstd + b
  Value ty;
  if (tx) {
    Value dxhat = gb.add(
        gb.mul(gb.sub(tx, gb.channel(dMu, rank)), gb.channel(invstd, rank)),
        gb.mul(centred, gb.channel(dInv, rank)));
    ty = gb.mul(dxhat, gb.channel(getWeight(), rank));
  }
  if (tg)
    ty = gb.add(ty, gb.mul(gb.mul(centred, gb.channel(invstd, rank)),
                           gb.channel(tg, rank)));
  if (tb)
    ty = gb.add(ty, gb.broadcastTo(gb.channel(tb, rank), xShape));
  results.push_back(ty);
  results.push_back(dMu);
  results.push_back(dInv);
  results.push_back(gb.add(gb.scale(trm, 1 - m), gb.scale(dMu, m)));
  results.push_back(
      gb.add(gb.scale(trv, 1 - m), gb.scale(dVar, m * n / (n - 1))));
  return success();
}

/// 1 / sqrt(running_var + eps), per channel.
static Value inferenceInvstd(GradBuilder &gb, BatchNormInferenceOp op) {
  Type et = GradBuilder::typeOf(op.getRunningVar()).getElementType();
  Value var =
      gb.add(op.getRunningVar(), gb.scalar(op.getEps().convertToDouble(), et));
  return gb.div(gb.scalar(1.0, et),
                gb.builder().create<SqrtOp>(gb.location(), var));
}

LogicalResult BatchNormInferenceOp::buildVJP(OpBuilder &b,
                                             ArrayRef<Value> resultGrads,
                                             ArrayRef<bool> needed,
                                             SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  Value gy = resultGrads[0];
  if (!gy)
    return success();
  GradBuilder gb(b, getLoc());
  int64_t rank = GradBuilder::typeOf(getInput()).getRank();
  Value r = inferenceInvstd(gb, *this);
  Value scale = gb.mul(getWeight(), r);
  Value centred = gb.sub(getInput(), gb.channel(getRunningMean(), rank));
  if (needed[0])
    grads[0] = gb.mul(gy, gb.channel(scale, rank));
  Value sumGy = (needed[2] || needed[3]) ? gb.sumPerChannel(gy) : Value();
  Value sumGyC = (needed[1] || needed[4])
                     ? gb.sumPerChannel(gb.mul(gy, centred))
                     : Value();
  if (needed[1])
    grads[1] = gb.mul(sumGyC, r);
  if (needed[2])
    grads[2] = sumGy;
  if (needed[3])
    grads[3] = gb.neg(gb.mul(sumGy, scale));
  if (needed[4]) {
    Value r3 = gb.mul(gb.mul(r, r), r);
    grads[4] = gb.scale(gb.mul(gb.mul(sumGyC, getWeight()), r3), -0.5);
  }
  return success();
}

LogicalResult BatchNormInferenceOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                             SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value tx = t[0], tg = t[1], tb = t[2], trm = t[3], trv = t[4];
  int64_t rank = GradBuilder::typeOf(getInput()).getRank();
  Value r = inferenceInvstd(gb, *this);
  Value ty;
  // d[(x - rm) s] with s = g r: (dx - drm) s + (x - rm) ds.
  Value dCentred = gb.sub(tx, gb.channel(trm, rank));
  if (dCentred)
    ty = gb.mul(gb.broadcastTo(dCentred, shape(getInput())),
                gb.channel(gb.mul(getWeight(), r), rank));
  Value ds = gb.mul(tg, r);
  if (trv) {
    Value r3 = gb.mul(gb.mul(r, r), r);
    ds = gb.add(ds, gb.scale(gb.mul(gb.mul(getWeight(), r3), trv), -0.5));
  }
  if (ds) {
    Value centred = gb.sub(getInput(), gb.channel(getRunningMean(), rank));
    ty = gb.add(ty, gb.mul(centred, gb.channel(ds, rank)));
  }
  if (tb)
    ty = gb.add(ty, gb.broadcastTo(gb.channel(tb, rank), shape(getInput())));
  results.push_back(ty);
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (resultGrads[0] && needed[0])
    grads[0] = b.create<MaxPool2dBackwardOp>(getLoc(), resultGrads[0],
                                             getInput(), getKernelSizeAttr(),
                                             getStrideAttr(), getPaddingAttr());
  return success();
}

LogicalResult MaxPool2dOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                    SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<MaxPool2dSelectOp>(
                               getLoc(), getInput(), t[0], getKernelSizeAttr(),
                               getStrideAttr(), getPaddingAttr())
                         : Value());
  return success();
}

LogicalResult AvgPool2dOp::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (resultGrads[0] && needed[0])
    grads[0] = b.create<AvgPool2dBackwardOp>(
        getLoc(), resultGrads[0], b.getDenseI64ArrayAttr(shape(getInput())),
        getKernelSizeAttr(), getStrideAttr(), getPaddingAttr(),
        getCountIncludePadAttr());
  return success();
}

LogicalResult AvgPool2dOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                    SmallVectorImpl<Value> &results) {
  results.push_back(
      t[0] ? b.create<AvgPool2dOp>(getLoc(), t[0], getKernelSizeAttr(),
                                   getStrideAttr(), getPaddingAttr(),
                                   getCountIncludePadAttr())
           : Value());
  return success();
}

LogicalResult AdaptiveAvgPool2dOp::buildVJP(OpBuilder &b,
                                            ArrayRef<Value> resultGrads,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (resultGrads[0] && needed[0])
    grads[0] = b.create<AdaptiveAvgPool2dBackwardOp>(getLoc(), resultGrads[0],
                                                     shape(getInput()));
  return success();
}

LogicalResult AdaptiveAvgPool2dOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                            SmallVectorImpl<Value> &results) {
  results.push_back(
      t[0] ? b.create<AdaptiveAvgPool2dOp>(getLoc(), t[0], getOutputSizeAttr())
           : Value());
  return success();
}
