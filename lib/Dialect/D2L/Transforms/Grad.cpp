//===- Grad.cpp - reverse mode: @F_grad
//------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LGRAD
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

/// A 0-d constant 1 of the loss's type: the seed of reverse mode.
Value unitSeed(OpBuilder &b, Value loss) {
  auto type = cast<RankedTensorType>(loss.getType());
  return b.create<ConstantOp>(
      loss.getLoc(),
      DenseElementsAttr::get(type, b.getFloatAttr(type.getElementType(), 1.0)));
}

struct GradPass : impl::D2LGradBase<GradPass> {
  using D2LGradBase::D2LGradBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << "--d2l-grad: no function @" << entry
                         << " to differentiate";
      return signalPassFailure();
    }
    auto type = func.getNumResults() == 1
                    ? dyn_cast<RankedTensorType>(func.getResultTypes()[0])
                    : RankedTensorType();
    if (!type || type.getRank() != 0 ||
        !isa<FloatType>(type.getElementType())) {
      func.emitError() << "--d2l-grad expects @" << entry
                       << " to return one scalar (a 0-d floating-point "
                          "tensor), but it returns "
                       << func.getResultTypes()
                       << "; use --d2l-vjp for other functions";
      return signalPassFailure();
    }
    SmallVector<std::string> names(wrt.begin(), wrt.end());
    auto selected = selectArguments(func, names, "wrt");
    if (failed(selected))
      return signalPassFailure();
    auto clone = cloneFunction(func, entry + "_grad");
    if (failed(clone))
      return signalPassFailure();

    Block &body = clone->getBody().front();
    Operation *ret = body.getTerminator();
    OpBuilder b(ret);
    Value loss = ret->getOperand(0);
    SmallVector<Value> args;
    for (unsigned i : *selected)
      args.push_back(body.getArgument(i));
    auto grads = buildReverseMode(b, body, {loss}, {unitSeed(b, loss)}, args);
    if (failed(grads)) {
      clone->erase();
      return signalPassFailure();
    }
    SmallVector<Value> values{loss};
    SmallVector<NamedAttribute> attrs{b.getNamedAttr(
        kOutputAttr, b.getStringAttr(func.getResultAttr(0, kOutputAttr)
                                         ? resultName(func, 0)
                                         : std::string("loss")))};
    for (auto [i, g] : llvm::zip(*selected, *grads)) {
      Value arg = body.getArgument(i);
      values.push_back(
          g ? g
            : b.create<ConstantOp>(
                  arg.getLoc(),
                  DenseElementsAttr::get(
                      cast<RankedTensorType>(arg.getType()),
                      b.getFloatAttr(getElementTypeOrSelf(arg.getType()),
                                     0.0))));
      attrs.push_back(b.getNamedAttr(
          kOutputAttr,
          b.getStringAttr(freshName(func, "grad", argumentName(func, i)))));
    }
    setResults(*clone, values, attrs);
    markSavedValues(*clone);
  }
};

} // namespace
} // namespace mlir::d2l
