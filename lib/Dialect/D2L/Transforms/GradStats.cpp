//===- GradStats.cpp - op counts of forward and gradient graphs -----------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LGRADSTATS
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

struct GradStatsPass : impl::D2LGradStatsBase<GradStatsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal())
        report(func);
  }

  /// Constants are literals, not computation: they are not counted.
  static bool counts(Operation &op) {
    return !isa<ConstantOp, func::ReturnOp>(op);
  }

  void report(func::FuncOp func) {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    auto loss = ret.getNumOperands()
                    ? dyn_cast<RankedTensorType>(ret.getOperand(0).getType())
                    : RankedTensorType();
    llvm::raw_ostream &os = llvm::outs();
    if (!loss || loss.getRank() != 0) {
      int64_t n = llvm::count_if(body, counts);
      os << "@" << func.getSymName() << ": " << n << " ops\n";
      return;
    }
    // Forward: what the loss depends on.
    llvm::DenseSet<Operation *> forward = lossCone(func), update;
    // Update (the optimizer): ops that depend on the learning rate or a
    // momentum buffer, or, in a training step, that read no value derived
    // from the forward pass (weight decay's λ p); the rest is the gradient.
    llvm::DenseSet<Value> optimizer, derived;
    bool training = false;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      std::string name = argumentName(func, i);
      if (name == "lr" || StringRef(name).starts_with("momentum.")) {
        optimizer.insert(func.getArgument(i));
        training = true;
      }
    }
    for (Operation &op : body) {
      if (forward.contains(&op)) {
        for (Value r : op.getResults())
          derived.insert(r);
        continue;
      }
      if (isa<ConstantOp, func::ReturnOp>(op))
        continue;
      bool fromOptimizer = llvm::any_of(
          op.getOperands(), [&](Value v) { return optimizer.contains(v); });
      bool fromForward = llvm::any_of(
          op.getOperands(), [&](Value v) { return derived.contains(v); });
      if (fromOptimizer || (training && !fromForward)) {
        update.insert(&op);
        for (Value r : op.getResults())
          optimizer.insert(r);
      } else {
        for (Value r : op.getResults())
          derived.insert(r);
      }
    }
    int64_t nForward = 0, nGradient = 0, nUpdate = 0, savedValues = 0,
            savedBytes = 0;
    for (Operation &op : body) {
      if (auto saved = op.getAttrOfType<DenseI64ArrayAttr>("d2l.saved"))
        for (int64_t i : saved.asArrayRef()) {
          auto t = cast<RankedTensorType>(op.getResult(i).getType());
          ++savedValues;
          savedBytes += t.getNumElements() * t.getElementTypeBitWidth() / 8;
        }
      if (!counts(op))
        continue;
      if (forward.contains(&op))
        ++nForward;
      else if (update.contains(&op))
        ++nUpdate;
      else
        ++nGradient;
    }
    os << "@" << func.getSymName() << ": forward " << nForward
       << " ops, gradient " << nGradient << " ops ("
       << llvm::format("%.2f", nForward ? double(nGradient) / nForward : 0.0)
       << "x forward), update " << nUpdate << " ops; saved " << savedValues
       << " values, " << savedBytes << " bytes\n";
  }
};

} // namespace
} // namespace mlir::d2l
