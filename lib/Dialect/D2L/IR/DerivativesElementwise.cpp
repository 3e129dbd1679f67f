//===- DerivativesElementwise.cpp - VJPs and JVPs of pointwise ops --------===//
//
// Elementwise ops, dropout, softmax and the losses. Activations differentiate
// through their outputs (sigmoid_backward(dy, y) = dy y (1 - y)), so the
// backward pass keeps the activation, not the pre-activation.
//
//===----------------------------------------------------------------------===//

#include "DerivativeUtils.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {
void clearGrads(Operation *op, SmallVectorImpl<Value> &grads) {
  grads.assign(op->getNumOperands(), Value());
}
Type elementTypeOf(Value v) { return GradBuilder::typeOf(v).getElementType(); }
} // namespace

//===----------------------------------------------------------------------===//
// Unary
//===----------------------------------------------------------------------===//

/// Builds the derivative of a unary op applied to `d` (a cotangent or a
/// tangent: every unary derivative here is a pointwise product, so the two
/// coincide).
template <typename OpT>
static LogicalResult unaryDerivative(OpT op, OpBuilder &b, Value d,
                                     Value &out) {
  if (!d) {
    out = Value();
    return success();
  }
  GradBuilder gb(b, op.getLoc());
  Value x = op.getInput(), y = op.getResult();
  Operation *o = op.getOperation();
  if (isa<ReluOp>(o))
    out = b.create<ReluBackwardOp>(op.getLoc(), d, y);
  else if (isa<SigmoidOp>(o))
    out = b.create<SigmoidBackwardOp>(op.getLoc(), d, y);
  else if (isa<TanhOp>(o))
    out = b.create<TanhBackwardOp>(op.getLoc(), d, y);
  else if (isa<ExpOp>(o))
    out = gb.mul(d, y);
  else if (isa<LogOp>(o))
    out = gb.div(d, x);
  else if (isa<SqrtOp>(o))
    out = gb.scale(gb.div(d, y), 0.5);
  else if (isa<NegOp>(o))
    out = gb.neg(d);
  else if (isa<AbsOp>(o))
    out = gb.mul(d, b.create<SignOp>(op.getLoc(), x));
  else if (isa<SignOp>(o))
    out = Value();
  else
    return op.emitOpError() << "has no derivative";
  return success();
}

#define D2L_UNARY_DERIVATIVES(OP)                                              \
  LogicalResult OP::buildVJP(OpBuilder &b, ArrayRef<Value> resultGrads,        \
                             ArrayRef<bool> needed,                            \
                             SmallVectorImpl<Value> &grads) {                  \
    clearGrads(*this, grads);                                                  \
    if (!needed[0])                                                            \
      return success();                                                        \
    return unaryDerivative(*this, b, resultGrads[0], grads[0]);                \
  }                                                                            \
  LogicalResult OP::buildJVP(OpBuilder &b, ArrayRef<Value> t,                  \
                             SmallVectorImpl<Value> &results) {                \
    results.push_back(Value());                                                \
    return unaryDerivative(*this, b, t[0], results.back());                    \
  }

D2L_UNARY_DERIVATIVES(ReluOp)
D2L_UNARY_DERIVATIVES(SigmoidOp)
D2L_UNARY_DERIVATIVES(TanhOp)
D2L_UNARY_DERIVATIVES(ExpOp)
D2L_UNARY_DERIVATIVES(LogOp)
D2L_UNARY_DERIVATIVES(SqrtOp)
D2L_UNARY_DERIVATIVES(NegOp)
D2L_UNARY_DERIVATIVES(AbsOp)
D2L_UNARY_DERIVATIVES(SignOp)

//===----------------------------------------------------------------------===//
// Binary (broadcasting): cotangents are summed back to each operand's shape
//===----------------------------------------------------------------------===//

LogicalResult AddOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                              ArrayRef<bool> needed,
                              SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = gb.sumTo(rg[0], GradBuilder::typeOf(getLhs()));
  if (needed[1])
    grads[1] = gb.sumTo(rg[0], GradBuilder::typeOf(getRhs()));
  return success();
}

LogicalResult AddOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                              SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  auto shape = GradBuilder::shapeOf(getResult());
  results.push_back(gb.broadcastTo(gb.add(t[0], t[1]), shape));
  return success();
}

LogicalResult SubOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                              ArrayRef<bool> needed,
                              SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = gb.sumTo(rg[0], GradBuilder::typeOf(getLhs()));
  if (needed[1])
    grads[1] = gb.neg(gb.sumTo(rg[0], GradBuilder::typeOf(getRhs())));
  return success();
}

LogicalResult SubOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                              SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  auto shape = GradBuilder::shapeOf(getResult());
  results.push_back(gb.broadcastTo(gb.sub(t[0], t[1]), shape));
  return success();
}

LogicalResult MulOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                              ArrayRef<bool> needed,
                              SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = gb.sumTo(gb.mul(rg[0], getRhs()), GradBuilder::typeOf(getLhs()));
  if (needed[1])
    grads[1] = gb.sumTo(gb.mul(rg[0], getLhs()), GradBuilder::typeOf(getRhs()));
  return success();
}

LogicalResult MulOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                              SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  auto shape = GradBuilder::shapeOf(getResult());
  results.push_back(gb.broadcastTo(
      gb.add(gb.mul(t[0], getRhs()), gb.mul(getLhs(), t[1])), shape));
  return success();
}

LogicalResult DivOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                              ArrayRef<bool> needed,
                              SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  GradBuilder gb(b, getLoc());
  if (needed[0])
    grads[0] = gb.sumTo(gb.div(rg[0], getRhs()), GradBuilder::typeOf(getLhs()));
  if (needed[1])
    // d(a/b)/db = -(a/b)/b
    grads[1] = gb.neg(gb.sumTo(gb.div(gb.mul(rg[0], getResult()), getRhs()),
                               GradBuilder::typeOf(getRhs())));
  return success();
}

LogicalResult DivOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                              SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  auto shape = GradBuilder::shapeOf(getResult());
  Value num = gb.sub(t[0], gb.mul(getResult(), t[1]));
  results.push_back(gb.broadcastTo(gb.div(num, getRhs()), shape));
  return success();
}

//===----------------------------------------------------------------------===//
// Dropout: linear in its input with a fixed mask
//===----------------------------------------------------------------------===//

static Value applyDropout(OpBuilder &b, DropoutOp op, Value d) {
  if (!d || !op.getSeed())
    return d;
  return b.create<DropoutOp>(op.getLoc(), d, op.getSeed(), op.getPAttr(),
                             op.getSaltAttr());
}

LogicalResult DropoutOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                  ArrayRef<bool> needed,
                                  SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed.size() > 1 && needed[1])
    return emitOpError() << "cannot be differentiated with respect to its "
                            "seed: it is an integer";
  if (needed[0])
    grads[0] = applyDropout(b, *this, rg[0]);
  return success();
}

LogicalResult DropoutOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                  SmallVectorImpl<Value> &results) {
  results.push_back(applyDropout(b, *this, t[0]));
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax and losses
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                  ArrayRef<bool> needed,
                                  SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0])
    grads[0] =
        b.create<SoftmaxBackwardOp>(getLoc(), rg[0], getResult(), getDimAttr());
  return success();
}

LogicalResult SoftmaxOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                  SmallVectorImpl<Value> &results) {
  // The Jacobian diag(y) - y yᵀ is symmetric: the JVP is the VJP's formula.
  results.push_back(t[0] ? b.create<SoftmaxBackwardOp>(
                               getLoc(), t[0], getResult(), getDimAttr())
                         : Value());
  return success();
}

LogicalResult LogSoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                     ArrayRef<bool> needed,
                                     SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[0] && rg[0])
    grads[0] = b.create<LogSoftmaxBackwardOp>(getLoc(), rg[0], getResult(),
                                              getDimAttr());
  return success();
}

LogicalResult LogSoftmaxOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                     SmallVectorImpl<Value> &results) {
  // dy = dx - Σ softmax(x) dx, with softmax(x) = exp(y).
  if (!t[0]) {
    results.push_back(Value());
    return success();
  }
  GradBuilder gb(b, getLoc());
  Value p = b.create<ExpOp>(getLoc(), getResult());
  Value s = gb.sum(gb.mul(p, t[0]), {getDim()}, /*keepdim=*/true);
  results.push_back(gb.sub(t[0], s));
  return success();
}

LogicalResult CrossEntropyOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                       ArrayRef<bool> needed,
                                       SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (needed[1])
    return emitOpError() << "cannot be differentiated with respect to its "
                            "labels: they are integers";
  if (needed[0] && rg[0])
    grads[0] = b.create<CrossEntropyBackwardOp>(getLoc(), rg[0], getLogits(),
                                                getLabels());
  return success();
}

LogicalResult CrossEntropyOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                       SmallVectorImpl<Value> &results) {
  if (!t[0]) {
    results.push_back(Value());
    return success();
  }
  // dL = <(softmax - onehot) / M, dlogits> = <cross_entropy_backward(1), dz>
  GradBuilder gb(b, getLoc());
  Value one = gb.scalar(1.0, elementTypeOf(getLogits()));
  Value g =
      b.create<CrossEntropyBackwardOp>(getLoc(), one, getLogits(), getLabels());
  results.push_back(gb.sum(gb.mul(g, t[0]), {}, false));
  return success();
}

LogicalResult MseLossOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                  ArrayRef<bool> needed,
                                  SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  if (!rg[0])
    return success();
  GradBuilder gb(b, getLoc());
  double n = double(GradBuilder::typeOf(getInput()).getNumElements());
  Value diff = gb.sub(getInput(), getTarget());
  Value g = gb.mul(gb.scale(diff, 2.0 / n), rg[0]);
  if (needed[0])
    grads[0] = g;
  if (needed[1])
    grads[1] = gb.neg(g);
  return success();
}

LogicalResult MseLossOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                  SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Value dd = gb.sub(t[0], t[1]);
  if (!dd) {
    results.push_back(Value());
    return success();
  }
  double n = double(GradBuilder::typeOf(getInput()).getNumElements());
  Value diff = gb.sub(getInput(), getTarget());
  results.push_back(gb.scale(gb.sum(gb.mul(diff, dd), {}, false), 2.0 / n));
  return success();
}
