//===- DerivativesLayerNorm.cpp - VJPs and JVPs of layer normalisation ----===//
//
// layer_norm normalises each row (the last dimension, D values) with the
// row's mean and rstd = 1 / sqrt(var + eps); its VJP is layer_norm_backward
// (what PyTorch's autograd calls), whose own derivatives are composed of the
// dialect's elementwise ops and reductions here, so that forward-over-reverse
// and reverse-over-reverse work through it.
//
// Notation: s = rstd (per row), xc = x - mean, x̂ = xc s, g = dy w,
// S1 = Σ_j g, S2 = Σ_j g x̂, A = D g - S1 - x̂ S2; then dx = (s / D) A,
// dw = Σ_rows dy x̂, db = Σ_rows dy.
//
//===----------------------------------------------------------------------===//

#include "DerivativeUtils.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {
void clearGrads(Operation *op, SmallVectorImpl<Value> &grads) {
  grads.assign(op->getNumOperands(), Value());
}

/// Row-wise helpers for an input [..., D] and statistics [...].
struct Rows {
  GradBuilder &gb;
  SmallVector<int64_t> xShape, statShape, keptShape;
  int64_t last;
  double d;

  Rows(GradBuilder &gb, Value x) : gb(gb), xShape(GradBuilder::shapeOf(x)) {
    last = int64_t(xShape.size()) - 1;
    d = double(xShape.back());
    statShape.assign(xShape.begin(), xShape.end() - 1);
    keptShape = statShape;
    keptShape.push_back(1);
  }
  /// Statistics [...] viewed as [..., 1].
  Value col(Value stat) { return stat ? gb.reshape(stat, keptShape) : stat; }
  /// Σ over the row, kept as [..., 1].
  Value rowSum(Value x) { return gb.sum(x, {last}, true); }
  /// Mean over the row, kept as [..., 1].
  Value rowMean(Value x) { return gb.mean(x, {last}, true); }
  /// [..., 1] back to the statistics' shape [...].
  Value stat(Value kept) { return kept ? gb.reshape(kept, statShape) : kept; }
  /// Σ over every row: [..., D] -> [D].
  Value colSum(Value x, Value like) {
    return x ? gb.sumTo(x, GradBuilder::typeOf(like)) : x;
  }
  Value full(Value x) { return x ? gb.broadcastTo(x, xShape) : x; }
};

struct LayerNormBackwardTerms {
  Value s, xc, xhat, g, s1, s2, a;
};

LayerNormBackwardTerms lnTerms(Rows &r, LayerNormBackwardOp op) {
  GradBuilder &gb = r.gb;
  LayerNormBackwardTerms t;
  t.s = r.col(op.getRstd());
  t.xc = gb.sub(op.getInput(), r.col(op.getMean()));
  t.xhat = gb.mul(t.xc, t.s);
  t.g = gb.mul(op.getGradOutput(), op.getWeight());
  t.s1 = r.rowSum(t.g);
  t.s2 = r.rowSum(gb.mul(t.g, t.xhat));
  t.a = gb.sub(gb.sub(gb.scale(t.g, r.d), t.s1), gb.mul(t.xhat, t.s2));
  return t;
}
} // namespace

LogicalResult LayerNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                    ArrayRef<bool> needed,
                                    SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  GradBuilder gb(b, getLoc());
  Rows r(gb, getInput());
  Value gy = rg[0], gMean = rg[1], gRstd = rg[2];
  Value dx, dw, db;
  if (gy) {
    auto bwd = b.create<LayerNormBackwardOp>(getLoc(), gy, getInput(),
                                             getWeight(), getMean(), getRstd());
    dx = bwd.getGradInput();
    dw = bwd.getGradWeight();
    db = bwd.getGradBias();
  }
  // The statistics' own cotangents (when a function returns or uses them):
  // mean = Σx / D, and rstd = (var + eps)^(-1/2) with var = Σxc² / D, so
  // ∂rstd/∂x = -rstd³ xc / D.
  if (needed[0] && (gMean || gRstd)) {
    Value extra = r.full(gb.scale(r.col(gMean), 1.0 / r.d));
    if (gRstd) {
      Value s = r.col(getRstd());
      Value xc = gb.sub(getInput(), r.col(getMean()));
      extra = gb.add(extra, gb.mul(xc, gb.scale(gb.mul(r.col(gRstd),
                                                       gb.mul(gb.mul(s, s), s)),
                                                -1.0 / r.d)));
    }
    dx = gb.add(dx, extra);
  }
  grads[0] = needed[0] ? dx : Value();
  grads[1] = needed[1] ? dw : Value();
  grads[2] = needed[2] ? db : Value();
  return success();
}

LogicalResult LayerNormOp::buildJVP(OpBuilder &b, ArrayRef<Value> t,
                                    SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Rows r(gb, getInput());
  Value tx = t[0], tw = t[1], tb = t[2];
  Value s = r.col(getRstd());
  Value xc = gb.sub(getInput(), r.col(getMean()));
  Value dMu, dS, ty;
  if (tx) {
    // dmean = mean(tx); dvar = 2 mean(xc tx); drstd = -rstd³ dvar / 2.
    dMu = r.rowMean(tx);
    dS = gb.neg(gb.mul(gb.mul(gb.mul(s, s), s), r.rowMean(gb.mul(xc, tx))));
    Value dxhat = gb.add(gb.mul(gb.sub(tx, dMu), s), gb.mul(xc, dS));
    ty = gb.mul(dxhat, getWeight());
  }
  if (tw)
    ty = gb.add(ty, gb.mul(gb.mul(xc, s), tw));
  if (tb)
    ty = gb.add(ty, r.full(tb));
  results.push_back(ty ? r.full(ty) : ty);
  results.push_back(r.stat(dMu));
  results.push_back(r.stat(dS));
  return success();
}

LogicalResult LayerNormBackwardOp::buildVJP(OpBuilder &b, ArrayRef<Value> rg,
                                            ArrayRef<bool> needed,
                                            SmallVectorImpl<Value> &grads) {
  clearGrads(*this, grads);
  Value gdx = rg[0], gdw = rg[1], gdb = rg[2];
  if (!gdx && !gdw && !gdb)
    return success();
  GradBuilder gb(b, getLoc());
  Rows r(gb, getInput());
  auto t = lnTerms(r, *this);
  Value dy = getGradOutput(), w = getWeight();
  Value gG, gXhat, gS, gDy, gW;
  if (gdx) {
    // dx = (s / D) A.
    gS = gb.scale(r.rowSum(gb.mul(gdx, t.a)), 1.0 / r.d);
    Value ga = gb.mul(gb.scale(t.s, 1.0 / r.d), gdx);
    // A = D g - Σg - x̂ Σ(g x̂).
    Value sumGa = r.rowSum(ga), sumGaX = r.rowSum(gb.mul(ga, t.xhat));
    gG = gb.sub(gb.sub(gb.scale(ga, r.d), sumGa), gb.mul(t.xhat, sumGaX));
    gXhat = gb.neg(gb.add(gb.mul(ga, t.s2), gb.mul(t.g, sumGaX)));
  }
  if (gdw) {
    // dw = Σ_rows dy x̂.
    gDy = gb.add(gDy, gb.mul(t.xhat, gdw));
    gXhat = gb.add(gXhat, gb.mul(dy, gdw));
  }
  if (gdb)
    gDy = gb.add(gDy, r.full(gdb));
  if (gG) {
    // g = dy w.
    gDy = gb.add(gDy, gb.mul(gG, w));
    gW = r.colSum(gb.mul(gG, dy), w);
  }
  // x̂ = (x - mean) s.
  if (needed[0])
    grads[0] = r.full(gDy);
  if (needed[1] && gXhat)
    grads[1] = r.full(gb.mul(gXhat, t.s));
  if (needed[2])
    grads[2] = gW;
  if (needed[3] && gXhat)
    grads[3] = r.stat(gb.neg(r.rowSum(gb.mul(gXhat, t.s))));
  if (needed[4]) {
    Value v = gb.add(gS, gXhat ? r.rowSum(gb.mul(gXhat, t.xc)) : Value());
    grads[4] = r.stat(v);
  }
  return success();
}

LogicalResult LayerNormBackwardOp::buildJVP(OpBuilder &b, ArrayRef<Value> tv,
                                            SmallVectorImpl<Value> &results) {
  GradBuilder gb(b, getLoc());
  Rows r(gb, getInput());
  auto t = lnTerms(r, *this);
  Value tdy = tv[0], tx = tv[1], tw = tv[2], tm = tv[3], ts = tv[4];
  Value dy = getGradOutput(), w = getWeight();
  Value tsK = r.col(ts);
  // t_x̂ = (tx - tm) s + xc ts; t_g = tdy w + dy tw.
  Value txhat = gb.add(gb.mul(gb.sub(tx, r.col(tm)), t.s), gb.mul(t.xc, tsK));
  Value tg = gb.add(gb.mul(tdy, w), gb.mul(dy, tw));
  Value tS1 = r.rowSum(tg);
  Value tS2 = r.rowSum(gb.add(gb.mul(tg, t.xhat), gb.mul(t.g, txhat)));
  // t_A = D t_g - tS1 - t_x̂ S2 - x̂ tS2; dx = (s / D) A.
  Value tA = gb.sub(gb.sub(gb.scale(tg, r.d), tS1),
                    gb.add(gb.mul(txhat, t.s2), gb.mul(t.xhat, tS2)));
  Value tdx = gb.add(gb.scale(gb.mul(tsK, t.a), 1.0 / r.d),
                     gb.scale(gb.mul(t.s, tA), 1.0 / r.d));
  results.push_back(r.full(tdx));
  results.push_back(
      r.colSum(gb.add(gb.mul(tdy, t.xhat), gb.mul(dy, txhat)), w));
  results.push_back(r.colSum(tdy, w));
  return success();
}
