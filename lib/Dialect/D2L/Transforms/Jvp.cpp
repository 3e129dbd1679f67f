//===- Jvp.cpp - forward mode: @F_jvp
//--------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LJVP
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

bool isFloatTensor(Type t) {
  auto r = dyn_cast<RankedTensorType>(t);
  return r && isa<FloatType>(r.getElementType());
}

struct JvpPass : impl::D2LJvpBase<JvpPass> {
  using D2LJvpBase::D2LJvpBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto func = module.lookupSymbol<func::FuncOp>(entry);
    if (!func || func.isExternal()) {
      module.emitError() << "--d2l-jvp: no function @" << entry
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
    auto clone = cloneFunction(func, entry + "_jvp");
    if (failed(clone))
      return signalPassFailure();
    Block &body = clone->getBody().front();
    OpBuilder b(clone->getContext());

    llvm::DenseMap<Value, Value> tangents;
    for (unsigned i : selected) {
      Value arg = body.getArgument(i);
      unsigned index = clone->getNumArguments();
      clone->insertArgument(
          index, arg.getType(),
          b.getDictionaryAttr({b.getNamedAttr(
              kInputAttr, b.getStringAttr(freshName(func, "tangent",
                                                    argumentName(func, i))))}),
          arg.getLoc());
      tangents[arg] = body.getArgument(index);
    }
    if (failed(buildForwardMode(b, body, tangents))) {
      clone->erase();
      return signalPassFailure();
    }
    Operation *ret = body.getTerminator();
    b.setInsertionPoint(ret);
    SmallVector<Value> values(ret->getOperands());
    SmallVector<NamedAttribute> attrs;
    for (unsigned i = 0; i < values.size(); ++i)
      attrs.push_back(
          b.getNamedAttr(kOutputAttr, b.getStringAttr(resultName(func, i))));
    for (auto [i, out] : llvm::enumerate(SmallVector<Value>(values))) {
      if (!isFloatTensor(out.getType()))
        continue;
      Value t = tangents.lookup(out);
      auto type = cast<RankedTensorType>(out.getType());
      values.push_back(
          t ? t
            : b.create<ConstantOp>(
                  out.getLoc(),
                  DenseElementsAttr::get(
                      type, b.getFloatAttr(type.getElementType(), 0.0))));
      attrs.push_back(b.getNamedAttr(
          kOutputAttr,
          b.getStringAttr(freshName(func, "tangent", resultName(func, i)))));
    }
    setResults(*clone, values, attrs);
  }
};

} // namespace
} // namespace mlir::d2l
