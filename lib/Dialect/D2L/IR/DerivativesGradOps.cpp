//===- DerivativesGradOps.cpp - derivatives of the gradient ops -----------===//
//
// The gradient ops are differentiable too, so that a gradient function can
// itself be differentiated (Hessian-vector products). Most are linear in
// their incoming gradient, whose VJP is the forward op again.
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
} // namespace

//===----------------------------------------------------------------------===//
// Activation gradients: f(dy, y)
//===----------------------------------------------------------------------===//

LogicalResult ReluBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  // Linear in dy with a mask that is piecewise constant in y.
  clearGrads(*this, grads);
  if (needed[0] && rg[0])
    grads[0] = b.create<ReluBackwardOp>(getLoc(), rg[0], getOutput());
  return success();
}

LogicalResult ReluBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                       SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<ReluBackwardOp>(getLoc(), t[0], getOutput())
                         : Value());
  return success();
}

LogicalResult SigmoidBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  // r = dy y (1 - y): dr/ddy = y (1 - y), dr/dy = dy (1 - 2y).
  clearGrads(*this, grads);
  if (!rg[0])
    return success();
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = b.create<SigmoidBackwardOp>(getLoc(), rg[0], getOutput());
  if (needed[1]) {
    Type et = GradBuilder::typeOf(getOutput()).getElementType();
    Value oneMinus2y = gb.sub(gb.scalar(1.0, et), gb.scale(getOutput(), 2.0));
    grads[1] = gb.mul(gb.mul(rg[0], getGradOutput()), oneMinus2y);
  }
  return success();
}

LogicalResult SigmoidBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                          SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value r;
  if (t[0])
    r = b.create<SigmoidBackwardOp>(getLoc(), t[0], getOutput());
  if (t[1]) {
    Type et = GradBuilder::typeOf(getOutput()).getElementType();
    Value oneMinus2y = gb.sub(gb.scalar(1.0, et), gb.scale(getOutput(), 2.0));
    r = gb.add(r, gb.mul(gb.mul(t[1], getGradOutput()), oneMinus2y));
  }
  results.push_back(r);
  return success();
}

LogicalResult TanhBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  // r = dy (1 - y²): dr/ddy = 1 - y², dr/dy = -2 dy y.
  clearGrads(*this, grads);
  if (!rg[0])
    return success();
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = b.create<TanhBackwardOp>(getLoc(), rg[0], getOutput());
  if (needed[1])
    grads[1] =
        gb.scale(gb.mul(gb.mul(rg[0], getGradOutput()), getOutput()), -2.0);
  return success();
}

LogicalResult TanhBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                       SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value r;
  if (t[0])
    r = b.create<TanhBackwardOp>(getLoc(), t[0], getOutput());
  if (t[1])
    r = gb.add(
        r, gb.scale(gb.mul(gb.mul(t[1], getGradOutput()), getOutput()), -2.0));
  results.push_back(r);
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax gradients
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  // r = y (dy - s), s = Σ dy y. dr/ddy is symmetric; dr/dy applied to g:
  // g (dy - s) - Σ(g y) dy.
  clearGrads(*this, grads);
  Value g = rg[0];
  if (!g)
    return success();
  GradBuilder gb(b, getLoc());
  Value y = getOutput(), dy = getGradOutput();
  int64_t dim = getDim();
  if (needed[0])
    grads[0] = b.create<SoftmaxBackwardOp>(getLoc(), g, y, getDimAttr());
  if (needed[1]) {
    Value s = gb.sum(gb.mul(dy, y), {dim}, true);
    Value gy = gb.sum(gb.mul(g, y), {dim}, true);
    grads[1] = gb.sub(gb.mul(g, gb.sub(dy, s)), gb.mul(gy, dy));
  }
  return success();
}

LogicalResult SoftmaxBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                          SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value y = getOutput(), dy = getGradOutput();
  int64_t dim = getDim();
  Value r;
  if (t[0])
    r = b.create<SoftmaxBackwardOp>(getLoc(), t[0], y, getDimAttr());
  if (t[1]) {
    Value s = gb.sum(gb.mul(dy, y), {dim}, true);
    Value ds = gb.sum(gb.mul(dy, t[1]), {dim}, true);
    r = gb.add(r, gb.sub(gb.mul(t[1], gb.sub(dy, s)), gb.mul(y, ds)));
  }
  results.push_back(r);
  return success();
}

LogicalResult LogSoftmaxBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                             ArrayRef<bool> needed,
                                             SmallVectorImpl<Value> &grads) {
  // r = dy - p Σdy with p = exp(y): dr/ddy applied to g is g - Σ(g p);
  // dr/dy applied to g is -g p Σdy.
  clearGrads(*this, grads);
  Value g = rg[0];
  if (!g)
    return success();
  GradBuilder gb(b, getLoc());
  int64_t dim = getDim();
  Value p = b.create<ExpOp>(getLoc(), getOutput());
  if (needed[0])
    grads[0] = gb.sub(g, gb.sum(gb.mul(g, p), {dim}, true));
  if (needed[1])
    grads[1] =
        gb.neg(gb.mul(gb.mul(g, p), gb.sum(getGradOutput(), {dim}, true)));
  return success();
}

LogicalResult LogSoftmaxBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                             SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  int64_t dim = getDim();
  Value p = b.create<ExpOp>(getLoc(), getOutput());
  Value r;
  if (t[0])
    r = gb.sub(t[0], gb.mul(p, gb.sum(t[0], {dim}, true)));
  if (t[1])
    r = gb.sub(r,
               gb.mul(gb.mul(p, t[1]), gb.sum(getGradOutput(), {dim}, true)));
  results.push_back(r);
  return success();
}

LogicalResult CrossEntropyBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  // r = gL (softmax(z) - onehot) / M. dr/dgL applied to g: Σ g r / gL;
  // dr/dz applied to g: gL / M softmax_backward(g, softmax(z)).
  clearGrads(*this, grads);
  Value g = rg[0];
  if (!g)
    return success();
  if (needed[2])
    return emitOpError() << "cannot be differentiated with respect to its "
                            "labels: they are integers";
  GradBuilder gb(b, getLoc());
  Type et = GradBuilder::typeOf(getLogits()).getElementType();
  auto z = GradBuilder::typeOf(getLogits());
  double count = double(z.getNumElements() / z.getDimSize(1));
  if (needed[0]) {
    Value unit = b.create<CrossEntropyBackwardOp>(getLoc(), gb.scalar(1.0, et),
                                                  getLogits(), getLabels());
    grads[0] = gb.sum(gb.mul(g, unit), {}, false);
  }
  if (needed[1]) {
    Value p = b.create<SoftmaxOp>(getLoc(), getLogits(), int64_t(1));
    Value sb = b.create<SoftmaxBackwardOp>(getLoc(), g, p, int64_t(1));
    grads[1] = gb.mul(gb.scale(getGradLoss(), 1.0 / count), sb);
  }
  return success();
}

LogicalResult
CrossEntropyBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                 SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  auto z = GradBuilder::typeOf(getLogits());
  double count = double(z.getNumElements() / z.getDimSize(1));
  Value r;
  if (t[0])
    r = b.create<CrossEntropyBackwardOp>(getLoc(), t[0], getLogits(),
                                         getLabels());
  if (t[1]) {
    Value p = b.create<SoftmaxOp>(getLoc(), getLogits(), int64_t(1));
    Value sb = b.create<SoftmaxBackwardOp>(getLoc(), t[1], p, int64_t(1));
    r = gb.add(r, gb.mul(gb.scale(getGradLoss(), 1.0 / count), sb));
  }
  results.push_back(r);
  return success();
}

//===----------------------------------------------------------------------===//
// Convolution gradients (bilinear)
//===----------------------------------------------------------------------===//

LogicalResult Conv2dBackwardInputOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                              ArrayRef<bool> needed,
                                              SmallVectorImpl<Value> &grads) {
  // r = conv2d_backward_input(dy, w): the adjoint in dy is conv2d(g, w); in
  // w it is conv2d_backward_filter(g, dy).
  clearGrads(*this, grads);
  Value g = rg[0];
  if (!g)
    return success();
  if (needed[0])
    grads[0] =
        b.create<Conv2dOp>(getLoc(), g, getWeight(), Value(), getStride(),
                           getPadding(), getDilation(), getGroups());
  if (needed[1]) {
    auto w = shape(getWeight());
    grads[1] = b.create<Conv2dBackwardFilterOp>(
        getLoc(), g, getGradOutput(), ArrayRef<int64_t>{w[2], w[3]},
        getStride(), getPadding(), getDilation(), getGroups());
  }
  return success();
}

LogicalResult Conv2dBackwardInputOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                              SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value r;
  if (t[0])
    r = b.create<Conv2dBackwardInputOp>(
        getLoc(), t[0], getWeight(), getInputShape(), getStride(), getPadding(),
        getDilation(), getGroups());
  if (t[1])
    r = gb.add(r, b.create<Conv2dBackwardInputOp>(
                      getLoc(), getGradOutput(), t[1], getInputShape(),
                      getStride(), getPadding(), getDilation(), getGroups()));
  results.push_back(r);
  return success();
}

LogicalResult Conv2dBackwardFilterOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                               ArrayRef<bool> needed,
                                               SmallVectorImpl<Value> &grads) {
  // r = Σ dy x: the adjoint in x is conv2d_backward_input(dy, g), in dy it is
  // conv2d(x, g).
  clearGrads(*this, grads);
  Value g = rg[0];
  if (!g)
    return success();
  if (needed[0])
    grads[0] = b.create<Conv2dBackwardInputOp>(
        getLoc(), getGradOutput(), g, shape(getInput()), getStride(),
        getPadding(), getDilation(), getGroups());
  if (needed[1])
    grads[1] = b.create<Conv2dOp>(getLoc(), getInput(), g, Value(), getStride(),
                                  getPadding(), getDilation(), getGroups());
  return success();
}

LogicalResult
Conv2dBackwardFilterOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                 SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value r;
  if (t[0])
    r = b.create<Conv2dBackwardFilterOp>(
        getLoc(), t[0], getGradOutput(), getKernelSize(), getStride(),
        getPadding(), getDilation(), getGroups());
  if (t[1])
    r = gb.add(r, b.create<Conv2dBackwardFilterOp>(
                      getLoc(), getInput(), t[1], getKernelSize(), getStride(),
                      getPadding(), getDilation(), getGroups()));
  results.push_back(r);
  return success();
}

//===----------------------------------------------------------------------===//
// Pooling and slicing gradients (linear in their incoming gradient)
//===----------------------------------------------------------------------===//

LogicalResult MaxPool2dBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0])
    grads[0] = b.create<MaxPool2dSelectOp>(getLoc(), getInput(), rg[0],
                                           getKernelSizeAttr(), getStrideAttr(),
                                           getPaddingAttr());
  return success();
}

LogicalResult MaxPool2dBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                            SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<MaxPool2dBackwardOp>(
                               getLoc(), t[0], getInput(), getKernelSizeAttr(),
                               getStrideAttr(), getPaddingAttr())
                         : Value());
  return success();
}

LogicalResult MaxPool2dSelectOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                          ArrayRef<bool> needed,
                                          SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[1] && rg[0])
    grads[1] = b.create<MaxPool2dBackwardOp>(getLoc(), rg[0], getInput(),
                                             getKernelSizeAttr(),
                                             getStrideAttr(), getPaddingAttr());
  return success();
}

LogicalResult MaxPool2dSelectOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                          SmallVectorImpl<Value> &results) {
  results.push_back(t[1] ? b.create<MaxPool2dSelectOp>(
                               getLoc(), getInput(), t[1], getKernelSizeAttr(),
                               getStrideAttr(), getPaddingAttr())
                         : Value());
  return success();
}

LogicalResult AvgPool2dBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0])
    grads[0] = b.create<AvgPool2dOp>(getLoc(), rg[0], getKernelSizeAttr(),
                                     getStrideAttr(), getPaddingAttr(),
                                     getCountIncludePadAttr());
  return success();
}

LogicalResult AvgPool2dBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                            SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<AvgPool2dBackwardOp>(
                               getLoc(), t[0], getInputShapeAttr(),
                               getKernelSizeAttr(), getStrideAttr(),
                               getPaddingAttr(), getCountIncludePadAttr())
                         : Value());
  return success();
}

LogicalResult
AdaptiveAvgPool2dBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                      ArrayRef<bool> needed,
                                      SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0]) {
    auto out = shape(getGradOutput());
    grads[0] = b.create<AdaptiveAvgPool2dOp>(getLoc(), rg[0],
                                             ArrayRef<int64_t>{out[2], out[3]});
  }
  return success();
}

LogicalResult
AdaptiveAvgPool2dBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                      SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<AdaptiveAvgPool2dBackwardOp>(
                               getLoc(), t[0], getInputShapeAttr())
                         : Value());
  return success();
}

LogicalResult SliceBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0]) {
    int64_t count = shape(getGradOutput())[getDim()];
    int64_t end = getStart() + (count - 1) * getStep() + 1;
    grads[0] = b.create<SliceOp>(getLoc(), rg[0], getDim(), getStart(), end,
                                 getStep());
  }
  return success();
}

LogicalResult SliceBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                        SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<SliceBackwardOp>(
                               getLoc(), t[0], getInputShapeAttr(),
                               getDimAttr(), getStartAttr(), getStepAttr())
                         : Value());
  return success();
}

//===----------------------------------------------------------------------===//
// BatchNorm gradient: dx = w s / n (n dy - S1 - x̂ S2), dw = S2, db = S1,
// with x̂ = (x - m) s, S1 = Σdy and S2 = Σ dy x̂ per channel (m and s are
// operands: their dependence on x is the forward op's business).
//===----------------------------------------------------------------------===//

namespace {
/// The per-channel pieces shared by batch_norm_backward's derivatives.
struct BatchNormBackwardTerms {
  int64_t rank;
  double n;
  Value s, xc, xhat, s1, s2, k, a;
};

BatchNormBackwardTerms bnTerms(GradBuilder &gb, BatchNormBackwardOp op) {
  BatchNormBackwardTerms t;
  auto xType = GradBuilder::typeOf(op.getInput());
  t.rank = xType.getRank();
  t.n = double(xType.getNumElements() / xType.getDimSize(1));
  Value dy = op.getGradOutput();
  t.s = gb.channel(op.getBatchInvstd(), t.rank);
  t.xc = gb.sub(op.getInput(), gb.channel(op.getBatchMean(), t.rank));
  t.xhat = gb.mul(t.xc, t.s);
  t.s1 = gb.channel(gb.sumPerChannel(dy), t.rank);
  t.s2 = gb.channel(gb.sumPerChannel(gb.mul(dy, t.xhat)), t.rank);
  t.k = gb.scale(gb.mul(gb.channel(op.getWeight(), t.rank), t.s), 1.0 / t.n);
  // A = n dy - S1 - x̂ S2, so that dx = k A.
  t.a = gb.sub(gb.sub(gb.scale(dy, t.n), t.s1), gb.mul(t.xhat, t.s2));
  return t;
}
} // namespace

LogicalResult BatchNormBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  Value gdx = rg[0], gdw = rg[1], gdb = rg[2];
  if (!gdx && !gdw && !gdb)
    return success();
  GradBuilder gb(b, getLoc());
  auto t = bnTerms(gb, *this);
  Value dy = getGradOutput();
  Value gDy, gXhat, gW, gS;
  if (gdx) {
    // Through k = w s / n.
    Value ga = gb.sumPerChannel(gb.mul(gdx, t.a));
    gW = gb.scale(gb.mul(ga, getBatchInvstd()), 1.0 / t.n);
    gS = gb.scale(gb.mul(ga, getWeight()), 1.0 / t.n);
    // Through A: with G = k gdx, ∂A/∂dy gives n G - ΣG - x̂ Σ(G x̂) and
    // ∂A/∂x̂ gives -G S2 - dy Σ(G x̂).
    Value g = gb.mul(t.k, gdx);
    Value sumG = gb.channel(gb.sumPerChannel(g), t.rank);
    Value sumGx = gb.channel(gb.sumPerChannel(gb.mul(g, t.xhat)), t.rank);
    gDy = gb.sub(gb.sub(gb.scale(g, t.n), sumG), gb.mul(t.xhat, sumGx));
    gXhat = gb.neg(gb.add(gb.mul(g, t.s2), gb.mul(dy, sumGx)));
  }
  if (gdw) {
    Value c = gb.channel(gdw, t.rank);
    gDy = gb.add(gDy, gb.mul(t.xhat, c));
    gXhat = gb.add(gXhat, gb.mul(dy, c));
  }
  if (gdb)
    gDy = gb.add(gDy, gb.broadcastTo(gb.channel(gdb, t.rank), shape(dy)));
  // x̂ = (x - m) s.
  if (needed[0])
    grads[0] = gDy;
  if (needed[1] && gXhat)
    grads[1] = gb.mul(gXhat, t.s);
  if (needed[2])
    grads[2] = gW;
  if (needed[3] && gXhat)
    grads[3] = gb.neg(gb.sumPerChannel(gb.mul(gXhat, t.s)));
  if (needed[4])
    grads[4] =
        gb.add(gS, gXhat ? gb.sumPerChannel(gb.mul(gXhat, t.xc)) : Value());
  return success();
}

LogicalResult BatchNormBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> tv,
                                            SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  auto t = bnTerms(gb, *this);
  Value tdy = tv[0], tx = tv[1], tw = tv[2], tm = tv[3], ts = tv[4];
  Value dy = getGradOutput();
  Value tsB = gb.channel(ts, t.rank);
  // t_x̂ = (tx - tm) s + (x - m) ts
  Value txhat = gb.add(gb.mul(gb.sub(tx, gb.channel(tm, t.rank)), t.s),
                       gb.mul(t.xc, tsB));
  if (txhat)
    txhat = gb.broadcastTo(txhat, shape(dy));
  Value tS1 = gb.sumPerChannel(tdy);
  Value tS2 = gb.sumPerChannel(gb.add(gb.mul(tdy, t.xhat), gb.mul(dy, txhat)));
  // t_k = (tw s + w ts) / n
  Value tk = gb.scale(gb.add(gb.mul(gb.channel(tw, t.rank), t.s),
                             gb.mul(gb.channel(getWeight(), t.rank), tsB)),
                      1.0 / t.n);
  // t_A = n tdy - tS1 - t_x̂ S2 - x̂ tS2
  Value tA = gb.sub(
      gb.sub(gb.scale(tdy, t.n), gb.channel(tS1, t.rank)),
      gb.add(gb.mul(txhat, t.s2), gb.mul(t.xhat, gb.channel(tS2, t.rank))));
  Value tdx = gb.add(gb.mul(tk, t.a), gb.mul(t.k, tA));
  if (tdx)
    tdx = gb.broadcastTo(tdx, shape(dy));
  results.push_back(tdx);
  results.push_back(tS2);
  results.push_back(tS1);
  return success();
}

//===----------------------------------------------------------------------===//
// embedding, embedding_backward: linear in the table (and in grad_output)
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0])
    return emitOpError() << "cannot be differentiated with respect to its "
                            "indices: they are integers";
  if (needed[1] && rg[0])
    grads[1] = b.create<EmbeddingBackwardOp>(
        getLoc(), rg[0], getIndices(),
        b.getI64IntegerAttr(shape(getWeight())[0]));
  return success();
}

LogicalResult EmbeddingOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                    SmallVectorImpl<Value> &results) {
  results.push_back(t[1] ? b.create<EmbeddingOp>(getLoc(), getIndices(), t[1])
                         : Value());
  return success();
}

LogicalResult EmbeddingBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[1])
    return emitOpError() << "cannot be differentiated with respect to its "
                            "indices: they are integers";
  if (needed[0] && rg[0])
    grads[0] = b.create<EmbeddingOp>(getLoc(), getIndices(), rg[0]);
  return success();
}

LogicalResult EmbeddingBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                            SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<EmbeddingBackwardOp>(getLoc(), t[0],
                                                         getIndices(),
                                                         getNumEmbeddingsAttr())
                         : Value());
  return success();
}

//===----------------------------------------------------------------------===//
// masked_softmax: its Jacobian on the valid positions is diag(y) - y yᵀ
// (symmetric), and the masked positions do not depend on the input
//===----------------------------------------------------------------------===//

LogicalResult MaskedSoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                        ArrayRef<bool> needed,
                                        SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[1])
    return emitOpError() << "cannot be differentiated with respect to its "
                            "valid lengths: they are integers";
  if (needed[0] && rg[0])
    grads[0] = b.create<MaskedSoftmaxBackwardOp>(getLoc(), rg[0], getResult(),
                                                 getValidLens());
  return success();
}

LogicalResult MaskedSoftmaxOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                        SmallVectorImpl<Value> &results) {
  results.push_back(t[0] ? b.create<MaskedSoftmaxBackwardOp>(
                               getLoc(), t[0], getResult(), getValidLens())
                         : Value());
  return success();
}

LogicalResult MaskedSoftmaxBackwardOp::buildVJP(OpBuilder &b,
                                                ArrayRef<Value> rg,
                                                ArrayRef<bool> needed,
                                                SmallVectorImpl<Value> &grads) {
  // dx = M (y ⊙ (g - <g, y>)) with M the valid positions: linear in g with
  // a symmetric matrix; the derivative through y is not built.
  clearGrads(*this, grads);
  if (needed[1] || needed[2])
    return emitOpError() << "is differentiable with respect to grad_output "
                            "only";
  if (needed[0] && rg[0])
    grads[0] = b.create<MaskedSoftmaxBackwardOp>(getLoc(), rg[0], getOutput(),
                                                 getValidLens());
  return success();
}

LogicalResult
MaskedSoftmaxBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                  SmallVectorImpl<Value> &results) {
  if (t[1])
    return emitOpError() << "is differentiable with respect to grad_output "
                            "only";
  results.push_back(t[0] ? b.create<MaskedSoftmaxBackwardOp>(
                               getLoc(), t[0], getOutput(), getValidLens())
                         : Value());
  return success();
}
