//===- D2LDialect.cpp - the d2l dialect -----------------------------------===//
//
// Dialect registration, the constant materializer and the verification of the
// attributes that name a model's arguments and results.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/IR/D2L.h"

#include "d2lrt/Init.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::d2l;

#include "d2l/Dialect/D2L/IR/D2LDialect.cpp.inc"
#include "d2l/Dialect/D2L/IR/D2LInterfaces.cpp.inc"

void D2LDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "d2l/Dialect/D2L/IR/D2LOps.cpp.inc"
      >();
}

Operation *D2LDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                           Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

/// The name-giving attribute of an argument: one of param, state, input.
static const llvm::StringLiteral kArgNameAttrs[] = {kParamAttr, kStateAttr,
                                                    kInputAttr};

static LogicalResult verifyName(Operation *op, NamedAttribute attr,
                                StringRef what) {
  auto name = dyn_cast<StringAttr>(attr.getValue());
  if (!name || name.getValue().empty())
    return op->emitError() << "expects '" << attr.getName().getValue()
                           << "' on " << what
                           << " to be a non-empty string, but got "
                           << attr.getValue();
  return success();
}

LogicalResult D2LDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned regionIndex,
                                                   unsigned argIndex,
                                                   NamedAttribute attr) {
  auto func = dyn_cast<FunctionOpInterface>(op);
  std::string what = "argument " + std::to_string(argIndex);
  StringRef key = attr.getName().getValue();
  bool isName = llvm::is_contained(kArgNameAttrs, key);
  if (!func || regionIndex != 0)
    return op->emitError() << "'" << key
                           << "' is only valid on function arguments";

  if (isName) {
    if (failed(verifyName(op, attr, what)))
      return failure();
    StringRef name = cast<StringAttr>(attr.getValue()).getValue();
    DictionaryAttr own = func.getArgAttrDict(argIndex);
    for (StringRef other : kArgNameAttrs)
      if (other != key && own.get(other))
        return op->emitError()
               << what << " has both '" << key << "' and '" << other
               << "'; an argument is one of parameter, state or input";
    // Names are keys of a state_dict: they must be unique in the function.
    for (unsigned i = 0; i < argIndex; ++i)
      for (StringRef other : kArgNameAttrs)
        if (auto prev = func.getArgAttrOfType<StringAttr>(i, other))
          if (prev.getValue() == name)
            return op->emitError()
                   << "duplicate tensor name '" << name << "' on arguments "
                   << i << " and " << argIndex;
    return success();
  }

  if (key == kInitAttr) {
    auto spec = dyn_cast<StringAttr>(attr.getValue());
    if (!spec)
      return op->emitError() << "expects '" << key << "' on " << what
                             << " to be a string, but got " << attr.getValue();
    DictionaryAttr own = func.getArgAttrDict(argIndex);
    if (!own.get(kParamAttr) && !own.get(kStateAttr))
      return op->emitError() << "'" << key << "' on " << what
                             << " needs 'd2l.param' or 'd2l.state'";
    d2lrt::InitSpec parsed;
    std::string error;
    if (!d2lrt::parseInitSpec(spec.getValue().str(), parsed, error))
      return op->emitError() << what << ": " << error;
    auto type = dyn_cast<RankedTensorType>(func.getArgumentTypes()[argIndex]);
    if (!type || !type.hasStaticShape())
      return op->emitError() << what << " has an initialiser but type "
                             << func.getArgumentTypes()[argIndex]
                             << " instead of a statically shaped tensor";
    std::string reason = d2lrt::checkInitShape(
        parsed,
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end()));
    if (!reason.empty())
      return op->emitError()
             << what << " ('" << spec.getValue() << "'): " << reason;
    return success();
  }

  return op->emitError() << "unknown d2l argument attribute '" << key
                         << "' (expected d2l.param, d2l.state, d2l.input or "
                            "d2l.init)";
}

LogicalResult D2LDialect::verifyRegionResultAttribute(Operation *op,
                                                      unsigned regionIndex,
                                                      unsigned resultIndex,
                                                      NamedAttribute attr) {
  StringRef key = attr.getName().getValue();
  std::string what = "result " + std::to_string(resultIndex);
  if (key != kOutputAttr && key != kParamAttr && key != kStateAttr)
    return op->emitError() << "unknown d2l result attribute '" << key
                           << "' (expected d2l.output, d2l.param or "
                              "d2l.state)";
  if (failed(verifyName(op, attr, what)))
    return failure();
  auto func = dyn_cast<FunctionOpInterface>(op);
  if (!func)
    return success();
  StringRef name = cast<StringAttr>(attr.getValue()).getValue();
  for (unsigned i = 0; i < resultIndex; ++i)
    for (StringRef other : {kOutputAttr, kParamAttr, kStateAttr})
      if (auto prev = func.getResultAttrOfType<StringAttr>(i, other))
        if (prev.getValue() == name)
          return op->emitError()
                 << "duplicate result name '" << name << "' on results " << i
                 << " and " << resultIndex;
  return success();
}
