//===- Vjp.cpp - reverse mode for any function: @F_vjp
//---------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LVJP
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

bool isFloatTensor(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && isa<FloatType>(r.getElementType());
}

struct VjpPass : impl::D2LVjpBase<VjpPass> {
  using D2LVjpBase::D2LVjpBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << "--d2l-vjp: no function @" << entry
                         << " to differentiate";
      return signalPassFailure();
    }
    SmallVector<unsigned> selected;
    if (wrt.empty()) {
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        if (isFloatTensor(func.getArgument(i).getType()))
          selected.push_back(i);
    } else {
      SmallVector<std::string> names(wrt.begin(), wrt.end());
      auto s = selectArguments(func, names, "wrt");
      if (failed(s))
        return signalPassFailure();
      selected = *s;
    }
    auto clone = cloneFunction(func, entry + "_vjp");
    if (failed(clone))
      return signalPassFailure();
    Block &body = clone->getBody().front();
    Operation *ret = body.getTerminator();
    OpBuilder b(ret);

    // One cotangent argument per floating-point result.
    SmallVector<Value> outputs(ret->getOperands()), seeds;
    for (auto [i, out] : llvm::enumerate(outputs)) {
      if (!isFloatTensor(out.getType())) {
        seeds.push_back(Value());
        continue;
      }
      unsigned index = clone->getNumArguments();
      clone->insertArgument(
          index, out.getType(),
          b.getDictionaryAttr({b.getNamedAttr(
              kInputAttr, b.getStringAttr(freshName(func, "cotangent",
                                                    resultName(func, i))))}),
          out.getLoc());
      seeds.push_back(body.getArgument(index));
    }
    SmallVector<Value> args;
    for (unsigned i : selected)
      args.push_back(body.getArgument(i));
    auto grads = buildReverseMode(b, body, outputs, seeds, args);
    if (failed(grads)) {
      clone->erase();
      return signalPassFailure();
    }
    SmallVector<Value> values(outputs);
    SmallVector<NamedAttribute> attrs;
    for (unsigned i = 0; i < outputs.size(); ++i)
      attrs.push_back(
          b.getNamedAttr(kOutputAttr, b.getStringAttr(resultName(func, i))));
    for (auto [i, g] : llvm::zip(selected, *grads)) {
      Value arg = body.getArgument(i);
      auto type = cast<RankedTensorType>(arg.getType());
      values.push_back(
          g ? g
            : b.create<ConstantOp>(
                  arg.getLoc(),
                  DenseElementsAttr::get(
                      type, b.getFloatAttr(type.getElementType(), 0.0))));
      attrs.push_back(b.getNamedAttr(
          kOutputAttr,
          b.getStringAttr(freshName(func, "grad", argumentName(func, i)))));
    }
    setResults(*clone, values, attrs);
  }
};

} // namespace
} // namespace mlir::d2l
