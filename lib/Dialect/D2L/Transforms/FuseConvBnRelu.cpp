//===- FuseConvBnRelu.cpp - conv + BatchNorm + activation for training ----===//
//
// In a training step, for each conv2d -> batch_norm (training form) ->
// optional activation:
//
//   %y = conv2d %x, %w, %b                %y, %mean, %invstd, %rm, %rv =
//   %z, %mean, %invstd, %rm, %rv =    =>      conv2d_batch_stats %x, %w, ...
//       batch_norm %y, %g, %beta, ...     %z = (%y - mean) invstd g + beta
//   %a = relu %z                          %a = relu %z        (elementwise)
//   ...                                   ...
//   %dz = relu_backward %da, %a           %dy, %dg, %db =
//   %dy, %dg, %db = batch_norm_backward       batch_norm_act_backward %da,
//       %dz, %y, %g, %mean, %invstd           %y, %g, %beta, %mean, %invstd
//
// and then rematerializeElementwise (Remat.cpp) makes the backward uses of
// %a (the next convolution's filter gradient, a max pool's gradient) and of
// residual sums read a recomputation of their elementwise chains, so that
// only %y and the statistics are saved. The statistics come from the
// convolution's own kernel; the normalisation and activation become one kernel
// under
// --d2l-fuse-elementwise.
//
// Left alone: a conv output with other uses, a BatchNorm whose input is not
// a conv2d (ReLU before BN), and anything outside a training step.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LFUSECONVBNRELU
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

class Fuser {
public:
  explicit Fuser(func::FuncOp func) : func(func) {}

  void run() {
    Block &body = func.getBody().front();
    // The forward ops: what the loss depends on (none: not a training
    // step).
    forward = lossCone(func);
    if (forward.empty())
      return;
    SmallVector<BatchNormOp> bns;
    for (Operation &op : body)
      if (auto bn = dyn_cast<BatchNormOp>(op))
        bns.push_back(bn);
    for (BatchNormOp bn : bns)
      fuse(bn);
  }

private:
  func::FuncOp func;
  llvm::DenseSet<Operation *> forward;

  template <typename OpT, typename... Args>
  Value create(OpBuilder &b, bool fwd, Args &&...args) {
    auto op = b.create<OpT>(std::forward<Args>(args)...);
    if (fwd)
      forward.insert(op);
    return op->getResult(0);
  }

  void fuse(BatchNormOp bn) {
    auto conv = bn.getInput().getDefiningOp<Conv2dOp>();
    if (!conv || !forward.contains(bn))
      return;
    Value y = conv.getResult();
    // The conv output may only feed this BN and its gradient.
    SmallVector<BatchNormBackwardOp> grads;
    for (OpOperand &use : y.getUses()) {
      if (use.getOwner() == bn)
        continue;
      auto g = dyn_cast<BatchNormBackwardOp>(use.getOwner());
      if (!g || use.getOperandNumber() != 1 ||
          g.getBatchMean() != bn.getBatchMean() ||
          g.getBatchInvstd() != bn.getBatchInvstd() ||
          g.getWeight() != bn.getWeight())
        return;
      grads.push_back(g);
    }
    // The activation that alone reads the BN output, if any.
    Value z = bn.getResult();
    Operation *act = nullptr;
    StringRef kind = "none";
    if (z.hasOneUse()) {
      Operation *user = *z.getUsers().begin();
      if (isa<ReluOp, SigmoidOp, TanhOp>(user)) {
        act = user;
        kind = isa<ReluOp>(user)      ? "relu"
               : isa<SigmoidOp>(user) ? "sigmoid"
                                      : "tanh";
      }
    }

    // Forward: the convolution with statistics, then the normalisation.
    OpBuilder b(conv);
    Location loc = conv.getLoc();
    SmallVector<Value> operands{conv.getInput(), conv.getWeight(),
                                bn.getRunningMean(), bn.getRunningVar()};
    if (conv.getBias())
      operands.push_back(conv.getBias());
    SmallVector<NamedAttribute> attrs;
    for (NamedAttribute a : conv->getAttrs())
      if (!a.getName().getValue().starts_with("d2l."))
        attrs.push_back(a);
    attrs.push_back(b.getNamedAttr("eps", bn.getEpsAttr()));
    attrs.push_back(b.getNamedAttr("momentum", bn.getMomentumAttr()));
    auto stats = b.create<Conv2dBatchStatsOp>(loc, operands, attrs);
    forward.insert(stats);
    Value y2 = stats.getResult(), mean = stats.getBatchMean(),
          invstd = stats.getBatchInvstd();
    bn.getNewRunningMean().replaceAllUsesWith(stats.getNewRunningMean());
    bn.getNewRunningVar().replaceAllUsesWith(stats.getNewRunningVar());

    b.setInsertionPoint(bn);
    auto yt = cast<RankedTensorType>(y2.getType());
    int64_t c = yt.getDimSize(1);
    SmallVector<int64_t> shape{c, 1, 1};
    auto vt = RankedTensorType::get(shape, yt.getElementType());
    auto view = [&](Value v) {
      return create<ReshapeOp>(b, true, loc, vt, v,
                               b.getDenseI64ArrayAttr(shape));
    };
    Value meanV = view(mean), invstdV = view(invstd),
          gammaV = view(bn.getWeight()), betaV = view(bn.getBias());
    // The chain a = act((y - mean) invstd gamma + beta).
    auto emit = [&](OpBuilder &at) {
      Value d = create<SubOp>(at, true, loc, y2, meanV);
      Value n = create<MulOp>(at, true, loc, d, invstdV);
      Value s = create<MulOp>(at, true, loc, n, gammaV);
      Value zz = create<AddOp>(at, true, loc, s, betaV);
      if (kind == "relu")
        return create<ReluOp>(at, true, loc, zz);
      if (kind == "sigmoid")
        return create<SigmoidOp>(at, true, loc, zz);
      if (kind == "tanh")
        return create<TanhOp>(at, true, loc, zz);
      return zz;
    };
    Value out = emit(b);
    Value old = act ? act->getResult(0) : z;

    // Backward: each BN gradient, with the activation's derivative when the
    // gradient comes straight from it.
    for (BatchNormBackwardOp g : grads) {
      OpBuilder gb(g);
      Value dz = g.getGradOutput();
      StringRef gradKind = "none";
      Operation *actGrad = dz.getDefiningOp();
      if (act && actGrad && dz.hasOneUse() &&
          isa<ReluBackwardOp, SigmoidBackwardOp, TanhBackwardOp>(actGrad) &&
          actGrad->getOperand(1) == old &&
          ((kind == "relu" && isa<ReluBackwardOp>(actGrad)) ||
           (kind == "sigmoid" && isa<SigmoidBackwardOp>(actGrad)) ||
           (kind == "tanh" && isa<TanhBackwardOp>(actGrad)))) {
        dz = actGrad->getOperand(0);
        gradKind = kind;
      } else {
        actGrad = nullptr;
      }
      auto fusedGrad = gb.create<BatchNormActBackwardOp>(
          g.getLoc(), dz, y2, bn.getWeight(), bn.getBias(), mean, invstd,
          gb.getStringAttr(gradKind));
      g->replaceAllUsesWith(fusedGrad->getResults());
      g.erase();
      if (actGrad && actGrad->use_empty())
        actGrad->erase();
    }

    old.replaceAllUsesWith(out);
    if (act)
      act->erase();
    bn.getResult().replaceAllUsesWith(out); // only when there is no act
    for (unsigned r = 1; r < 5; ++r)
      bn->getResult(r).replaceAllUsesWith(stats->getResult(r));
    bn.erase();
    conv.erase();
  }
};

struct FuseConvBnReluPass : impl::D2LFuseConvBnReluBase<FuseConvBnReluPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal()) {
        Fuser(func).run();
        // The activations (and residual sums) the backward pass reads are
        // recomputed from the saved conv outputs and statistics.
        rematerializeElementwise(func);
        markSavedValues(func);
      }
  }
};

} // namespace
} // namespace mlir::d2l
