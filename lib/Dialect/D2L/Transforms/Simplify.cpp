//===- Simplify.cpp - simplify derivative graphs
//---------------------------===//
//
// Algebraic rewrites (DRR in SimplifyPatterns.td, C++ below) plus the ops'
// folders, CSE and dead-code elimination, to a fixed point, so that the
// gradient graph does not swell. Then re-marks the saved forward values.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LSIMPLIFY
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {
#include "SimplifyPatterns.inc"

/// The value of a splat floating-point constant, if `v` is one.
std::optional<double> splatValue(Value v) {
  DenseFPElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToDouble();
}

Value splatOf(PatternRewriter &rewriter, Location loc, Type type, double v) {
  auto t = cast<RankedTensorType>(type);
  return rewriter.create<ConstantOp>(
      loc,
      DenseElementsAttr::get(t, rewriter.getFloatAttr(t.getElementType(), v)));
}

/// x * 0 = 0 (and 0 * x), with the result's (broadcast) type.
struct MulByZero : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    if (splatValue(op.getLhs()) != 0.0 && splatValue(op.getRhs()) != 0.0)
      return failure();
    rewriter.replaceOp(op, splatOf(rewriter, op.getLoc(), op.getType(), 0.0));
    return success();
  }
};

/// Arithmetic on two splat constants is a splat constant.
template <typename OpT> struct FoldSplatArithmetic : OpRewritePattern<OpT> {
  using OpRewritePattern<OpT>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpT op,
                                PatternRewriter &rewriter) const override {
    auto a = splatValue(op.getLhs()), b = splatValue(op.getRhs());
    if (!a || !b)
      return failure();
    double r = std::is_same_v<OpT, AddOp>   ? *a + *b
               : std::is_same_v<OpT, SubOp> ? *a - *b
               : std::is_same_v<OpT, MulOp> ? *a * *b
                                            : *a / *b;
    rewriter.replaceOp(op, splatOf(rewriter, op.getLoc(), op.getType(), r));
    return success();
  }
};

/// (x * c1) * c2 = x * (c1 c2) for 0-d constants.
struct MulConstantChain : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    auto isScalar = [](Value v) {
      return cast<RankedTensorType>(v.getType()).getRank() == 0;
    };
    auto c2 = splatValue(op.getRhs());
    auto inner = op.getLhs().getDefiningOp<MulOp>();
    if (!c2 || !isScalar(op.getRhs()) || !inner)
      return failure();
    auto c1 = splatValue(inner.getRhs());
    if (!c1 || !isScalar(inner.getRhs()))
      return failure();
    Value c = splatOf(rewriter, op.getLoc(), op.getRhs().getType(), *c1 * *c2);
    rewriter.replaceOpWithNewOp<MulOp>(op, inner.getLhs(), c);
    return success();
  }
};

/// Summing exactly the dimensions a broadcast created multiplies by their
/// size: sum(broadcast_to(x)) = reshape(x * count).
struct SumOfBroadcast : OpRewritePattern<SumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SumOp op,
                                PatternRewriter &rewriter) const override {
    auto bcast = op.getInput().getDefiningOp<BroadcastToOp>();
    if (!bcast)
      return failure();
    auto out = bcast.getShape();
    auto in = cast<RankedTensorType>(bcast.getInput().getType()).getShape();
    int64_t rank = int64_t(out.size()), lead = rank - int64_t(in.size());
    SmallVector<bool> expanded(rank), reduced(rank, op.getDims().empty());
    int64_t count = 1;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t src = d < lead ? 1 : in[d - lead];
      expanded[d] = src == 1 && out[d] != 1;
    }
    for (int64_t d : op.getDims())
      reduced[d < 0 ? d + rank : d] = true;
    for (int64_t d = 0; d < rank; ++d) {
      // Reducing a dimension of size 1 changes nothing; otherwise the
      // reduced and expanded dimensions must coincide.
      if (reduced[d] != expanded[d] && out[d] != 1)
        return failure();
      if (expanded[d])
        count *= out[d];
    }
    Value x = bcast.getInput();
    Value scaled = rewriter.create<MulOp>(
        op.getLoc(), x,
        splatOf(rewriter, op.getLoc(),
                RankedTensorType::get({}, getElementTypeOrSelf(x.getType())),
                double(count)));
    rewriter.replaceOpWithNewOp<ReshapeOp>(
        op, op.getType(), scaled,
        rewriter.getDenseI64ArrayAttr(
            cast<RankedTensorType>(op.getType()).getShape()));
    return success();
  }
};

/// A sum over dimensions of size 1 only moves no data: a reshape.
struct SumOfUnitDims : OpRewritePattern<SumOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SumOp op,
                                PatternRewriter &rewriter) const override {
    auto in = cast<RankedTensorType>(op.getInput().getType());
    if (op.getDims().empty() && in.getNumElements() != 1)
      return failure();
    for (int64_t d : op.getDims())
      if (in.getDimSize(d < 0 ? d + in.getRank() : d) != 1)
        return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(
        op, op.getType(), op.getInput(),
        rewriter.getDenseI64ArrayAttr(
            cast<RankedTensorType>(op.getType()).getShape()));
    return success();
  }
};

/// broadcast_to(broadcast_to(x)) = broadcast_to(x).
struct BroadcastOfBroadcast : OpRewritePattern<BroadcastToOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastToOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<BroadcastToOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<BroadcastToOp>(
        op, op.getType(), inner.getInput(), op.getShapeAttr());
    return success();
  }
};

struct SimplifyPass : impl::D2LSimplifyBase<SimplifyPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    populateWithGenerated(patterns);
    patterns.add<MulByZero, MulConstantChain, SumOfBroadcast, SumOfUnitDims,
                 BroadcastOfBroadcast, FoldSplatArithmetic<AddOp>,
                 FoldSplatArithmetic<SubOp>, FoldSplatArithmetic<MulOp>,
                 FoldSplatArithmetic<DivOp>>(ctx);
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (int round = 0; round < 8; ++round) {
      bool changed = false;
      if (failed(applyPatternsAndFoldGreedily(getOperation(), frozen,
                                              GreedyRewriteConfig(), &changed)))
        return signalPassFailure();
      IRRewriter rewriter(ctx);
      DominanceInfo dominance(getOperation());
      bool cseChanged = false;
      eliminateCommonSubExpressions(rewriter, dominance, getOperation(),
                                    &cseChanged);
      if (!changed && !cseChanged)
        break;
    }
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal())
        markSavedValues(func);
  }
};

} // namespace
} // namespace mlir::d2l
