//===- TrainStep.cpp - @train_step and @eval_step from @forward -----------===//
//
// The training step of torch.optim.SGD around a model's inference function:
// the forward pass in training mode, the loss, its gradient by reverse mode,
// and the parameter update; plus the evaluation step.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/IRMapping.h"

#include <cmath>

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LTRAINSTEP
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

struct TrainStepPass : impl::D2LTrainStepBase<TrainStepPass> {
  using D2LTrainStepBase::D2LTrainStepBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(forward);
    if (!func || func.isExternal()) {
      module.emitError() << "--d2l-train-step: no function @" << forward;
      return signalPassFailure();
    }
    if (loss != "cross_entropy" && loss != "mse") {
      func.emitError() << "--d2l-train-step: unknown loss '" << loss
                       << "' (expected cross_entropy or mse)";
      return signalPassFailure();
    }
    if (optimizer != "sgd" && optimizer != "adam") {
      func.emitError() << "--d2l-train-step: unknown optimizer '" << optimizer
                       << "' (expected sgd or adam)";
      return signalPassFailure();
    }
    if (optimizer == "adam" && (momentum > 0 || !(beta1 >= 0 && beta1 < 1) ||
                                !(beta2 >= 0 && beta2 < 1) || !(eps > 0))) {
      func.emitError() << "--d2l-train-step: adam takes beta1 and beta2 in "
                          "[0, 1) and eps > 0, and no momentum";
      return signalPassFailure();
    }
    if (!(lossScale > 0)) {
      func.emitError() << "--d2l-train-step: loss-scale must be positive but "
                          "is "
                       << double(lossScale);
      return signalPassFailure();
    }
    if (momentum < 0 || weightDecay < 0 || l1 < 0 || clipNorm < 0) {
      func.emitError() << "--d2l-train-step: momentum, weight-decay, l1 and "
                          "clip-norm must be non-negative";
      return signalPassFailure();
    }
    if (func.getNumResults() != 1) {
      func.emitError() << "--d2l-train-step expects @" << forward
                       << " to return one tensor (the logits or the "
                          "prediction), but it returns "
                       << func.getNumResults();
      return signalPassFailure();
    }
    for (StringRef reserved : {"labels", "lr", "seed"})
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (argumentName(func, i) == reserved) {
          func.emitError() << "--d2l-train-step adds an input '" << reserved
                           << "', but @" << forward
                           << " already has an argument of that name";
          return signalPassFailure();
        }
    if (failed(buildEvalStep(func)) || failed(buildTrainStep(func)))
      return signalPassFailure();
  }

  /// The labels' type: class indices for cross-entropy, the prediction's
  /// type for mse.
  FailureOr<Type> labelsType(func::FuncOp func) {
    auto out = cast<RankedTensorType>(func.getResultTypes()[0]);
    if (loss == "mse")
      return Type(out);
    if (out.getRank() < 2)
      return func.emitError() << "cross_entropy needs [N, C, ...] logits, but @"
                              << forward << " returns " << out;
    SmallVector<int64_t> shape{out.getDimSize(0)};
    llvm::append_range(shape, out.getShape().drop_front(2));
    return Type(
        RankedTensorType::get(shape, IntegerType::get(func.getContext(), 64)));
  }

  Value addInput(func::FuncOp f, StringRef name, Type type) {
    OpBuilder b(f.getContext());
    unsigned index = f.getNumArguments();
    f.insertArgument(index, type,
                     b.getDictionaryAttr(
                         {b.getNamedAttr(kInputAttr, b.getStringAttr(name))}),
                     f.getLoc());
    return f.getArgument(index);
  }

  Value lossOf(OpBuilder &b, Location loc, Value prediction, Value labels) {
    if (loss == "mse")
      return b.create<MseLossOp>(loc, prediction, labels);
    return b.create<CrossEntropyOp>(loc, prediction, labels);
  }

  LogicalResult buildEvalStep(func::FuncOp func) {
    auto labels = labelsType(func);
    if (failed(labels))
      return failure();
    auto eval = cloneFunction(func, "eval_step");
    if (failed(eval))
      return failure();
    Value y = addInput(*eval, "labels", *labels);
    Operation *ret = eval->getBody().front().getTerminator();
    OpBuilder b(ret);
    Value out = ret->getOperand(0);
    Value l = lossOf(b, out.getLoc(), out, y);
    setResults(
        *eval, {out, l},
        {b.getNamedAttr(kOutputAttr, b.getStringAttr(resultName(func, 0))),
         b.getNamedAttr(kOutputAttr, b.getStringAttr("loss"))});
    return success();
  }

  LogicalResult buildTrainStep(func::FuncOp func) {
    auto labels = labelsType(func);
    if (failed(labels))
      return failure();
    auto step = cloneFunction(func, "train_step");
    if (failed(step))
      return failure();
    Block &body = step->getBody().front();
    MLIRContext *ctx = step->getContext();
    Type et = getElementTypeOrSelf(func.getResultTypes()[0]);
    Value y = addInput(*step, "labels", *labels);
    Value lr = addInput(*step, "lr", RankedTensorType::get({}, et));

    // Training mode: BatchNorm on batch statistics, updating the running
    // statistics; dropout drawing masks from a seed.
    llvm::DenseMap<Value, Value> newState;
    Value seed;
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    for (Operation *op : ops) {
      OpBuilder b(op);
      if (auto bn = dyn_cast<BatchNormInferenceOp>(op)) {
        auto train = b.create<BatchNormOp>(
            bn.getLoc(), bn.getInput(), bn.getWeight(), bn.getBias(),
            bn.getRunningMean(), bn.getRunningVar(), bn.getEpsAttr(),
            b.getF64FloatAttr(0.1));
        for (auto [state, updated] :
             {std::pair{bn.getRunningMean(), train.getNewRunningMean()},
              std::pair{bn.getRunningVar(), train.getNewRunningVar()}}) {
          auto arg = dyn_cast<BlockArgument>(state);
          if (!arg || !step->getArgAttr(arg.getArgNumber(), kStateAttr))
            return bn.emitError()
                   << "--d2l-train-step needs BatchNorm's running statistics "
                      "to be d2l.state arguments of @"
                   << forward;
          if (newState.count(state))
            return bn.emitError() << "--d2l-train-step: two BatchNorm layers "
                                     "update the same running statistics";
          newState[state] = updated;
        }
        bn.getResult().replaceAllUsesWith(train.getResult());
        bn.erase();
      } else if (auto drop = dyn_cast<DropoutOp>(op)) {
        if (drop.getSeed())
          continue;
        if (!seed)
          seed = addInput(*step, "seed",
                          RankedTensorType::get({}, IntegerType::get(ctx, 64)));
        auto train = b.create<DropoutOp>(drop.getLoc(), drop.getInput(), seed,
                                         drop.getPAttr(), drop.getSaltAttr());
        drop.getResult().replaceAllUsesWith(train.getResult());
        drop.erase();
      }
    }

    Operation *ret = body.getTerminator();
    OpBuilder b(ret);
    Location loc = step->getLoc();
    Value prediction = ret->getOperand(0);
    Value l = lossOf(b, prediction.getLoc(), prediction, y);

    SmallVector<unsigned> params;
    for (unsigned i = 0, e = step->getNumArguments(); i < e; ++i)
      if (step->getArgAttr(i, kParamAttr))
        params.push_back(i);
    if (params.empty())
      return step->emitError() << "--d2l-train-step: @" << forward
                               << " has no d2l.param argument to train";
    auto scalar = [&](double v) -> Value {
      return b.create<ConstantOp>(
          loc, DenseElementsAttr::get(RankedTensorType::get({}, et),
                                      b.getFloatAttr(et, v)));
    };
    if (l1 > 0) {
      // loss += l1 Σ_p Σ|p|
      Value penalty;
      for (unsigned i : params) {
        Value abs = b.create<AbsOp>(loc, body.getArgument(i));
        Value s = b.create<SumOp>(loc, abs, b.getDenseI64ArrayAttr({}),
                                  b.getBoolAttr(false));
        penalty = penalty ? b.create<AddOp>(loc, penalty, s).getResult() : s;
      }
      l = b.create<AddOp>(loc, l, b.create<MulOp>(loc, penalty, scalar(l1)));
    }

    SmallVector<Value> wrt;
    for (unsigned i : params)
      wrt.push_back(body.getArgument(i));
    auto grads = buildReverseMode(b, body, {l}, {scalar(lossScale)}, wrt);
    if (failed(grads))
      return failure();
    if (clipNorm > 0) {
      // torch.nn.utils.clip_grad_norm_: ‖g‖ = sqrt(Σ_p Σ g_p²), then
      // g *= min(1, clip / (‖g‖ + 1e-6)) = 1 - relu(1 - clip / (‖g‖ + 1e-6)).
      Value total;
      for (Value g : *grads) {
        if (!g)
          continue;
        Value s =
            b.create<SumOp>(loc, b.create<MulOp>(loc, g, g),
                            b.getDenseI64ArrayAttr({}), b.getBoolAttr(false));
        total = total ? b.create<AddOp>(loc, total, s).getResult() : s;
      }
      if (total) {
        Value norm = b.create<SqrtOp>(loc, total);
        Value coef = b.create<DivOp>(loc, scalar(clipNorm),
                                     b.create<AddOp>(loc, norm, scalar(1e-6)));
        Value scale = b.create<SubOp>(
            loc, scalar(1.0),
            b.create<ReluOp>(loc, b.create<SubOp>(loc, scalar(1.0), coef)));
        for (Value &g : *grads)
          if (g)
            g = b.create<MulOp>(loc, g, scale);
      }
    }

    // A state argument of @train_step, initialised to zeros.
    auto addState = [&](RankedTensorType type, StringRef name) -> Value {
      unsigned index = step->getNumArguments();
      step->insertArgument(
          index, type,
          b.getDictionaryAttr(
              {b.getNamedAttr(kStateAttr, b.getStringAttr(name)),
               b.getNamedAttr(kInitAttr, b.getStringAttr("zeros"))}),
          loc);
      return body.getArgument(index);
    };
    SmallVector<std::pair<Value, NamedAttribute>> buffers, gradResults;
    // Adam's bias corrections from the step count t: 1 - β^t as
    // 1 - exp(t log β), one scalar each for all parameters.
    Value stepSize, sqrtBc2;
    if (optimizer == "adam") {
      Value t = b.create<AddOp>(
          loc, addState(RankedTensorType::get({}, et), "adam.step"),
          scalar(1.0));
      buffers.push_back(
          {t, b.getNamedAttr(kStateAttr, b.getStringAttr("adam.step"))});
      auto correction = [&](double beta) -> Value {
        if (beta == 0)
          return scalar(1.0);
        return b.create<SubOp>(
            loc, scalar(1.0),
            b.create<ExpOp>(loc,
                            b.create<MulOp>(loc, t, scalar(std::log(beta)))));
      };
      stepSize = b.create<DivOp>(loc, lr, correction(beta1));
      sqrtBc2 = b.create<SqrtOp>(loc, correction(beta2));
    }

    // torch.optim.SGD: d = g + wd p; buf = momentum buf + d; p -= lr buf.
    SmallVector<Value> values{l};
    SmallVector<NamedAttribute> attrs{
        b.getNamedAttr(kOutputAttr, b.getStringAttr("loss"))};
    for (auto [i, g] : llvm::zip(params, *grads)) {
      Value p = body.getArgument(i);
      std::string name = argumentName(*step, i);
      auto type = cast<RankedTensorType>(p.getType());
      if (!g)
        g = b.create<ConstantOp>(
            loc, DenseElementsAttr::get(type, b.getFloatAttr(et, 0.0)));
      Value d = g;
      if (weightDecay > 0)
        d = b.create<AddOp>(loc, d,
                            b.create<MulOp>(loc, p, scalar(weightDecay)));
      if (momentum > 0) {
        unsigned index = step->getNumArguments();
        step->insertArgument(
            index, type,
            b.getDictionaryAttr(
                {b.getNamedAttr(kStateAttr,
                                b.getStringAttr("momentum." + name)),
                 b.getNamedAttr(kInitAttr, b.getStringAttr("zeros"))}),
            loc);
        Value buf =
            b.create<MulOp>(loc, body.getArgument(index), scalar(momentum));
        d = b.create<AddOp>(loc, buf, d);
        buffers.push_back(
            {d,
             b.getNamedAttr(kStateAttr, b.getStringAttr("momentum." + name))});
      }
      Value updated;
      if (optimizer == "adam") {
        std::string m1 = "adam.exp_avg." + name, m2 = "adam.exp_avg_sq." + name;
        Value m = b.create<AddOp>(
            loc, b.create<MulOp>(loc, addState(type, m1), scalar(beta1)),
            b.create<MulOp>(loc, d, scalar(1 - beta1)));
        Value v = b.create<AddOp>(
            loc, b.create<MulOp>(loc, addState(type, m2), scalar(beta2)),
            b.create<MulOp>(loc, b.create<MulOp>(loc, d, d),
                            scalar(1 - beta2)));
        Value denom = b.create<AddOp>(
            loc, b.create<DivOp>(loc, b.create<SqrtOp>(loc, v), sqrtBc2),
            scalar(eps));
        updated = b.create<SubOp>(
            loc, p,
            b.create<MulOp>(loc, b.create<DivOp>(loc, m, denom), stepSize));
        buffers.push_back({m, b.getNamedAttr(kStateAttr, b.getStringAttr(m1))});
        buffers.push_back({v, b.getNamedAttr(kStateAttr, b.getStringAttr(m2))});
      } else {
        updated = b.create<SubOp>(loc, p, b.create<MulOp>(loc, d, lr));
      }
      values.push_back(updated);
      attrs.push_back(b.getNamedAttr(kParamAttr, b.getStringAttr(name)));
      if (emitGrads)
        gradResults.push_back(
            {g, b.getNamedAttr(kOutputAttr, b.getStringAttr("grad." + name))});
    }
    for (unsigned i = 0, e = step->getNumArguments(); i < e; ++i) {
      Value arg = body.getArgument(i);
      if (!newState.count(arg))
        continue;
      values.push_back(newState[arg]);
      attrs.push_back(
          b.getNamedAttr(kStateAttr, b.getStringAttr(argumentName(*step, i))));
    }
    for (auto &[v, a] : buffers) {
      values.push_back(v);
      attrs.push_back(a);
    }
    for (auto &[v, a] : gradResults) {
      values.push_back(v);
      attrs.push_back(a);
    }
    if (emitLogits) {
      // The training-mode predictions, for the training accuracy.
      values.push_back(prediction);
      attrs.push_back(
          b.getNamedAttr(kOutputAttr, b.getStringAttr(resultName(*step, 0))));
    }
    setResults(*step, values, attrs);
    markSavedValues(*step);
    return success();
  }
};

} // namespace
} // namespace mlir::d2l
