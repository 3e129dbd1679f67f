//===- Autodiff.cpp - symbolic differentiation over d2l IR ----------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::d2l;

static bool isFloatTensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && isa<FloatType>(t.getElementType());
}

FailureOr<SmallVector<Value>>
mlir::d2l::buildReverseMode(OpBuilder &builder, Block &body,
                            ArrayRef<Value> outputs, ArrayRef<Value> seeds,
                            ArrayRef<Value> wrt) {
  if (failed(expectUnrolled(body.getParentOp(), "differentiation")))
    return failure();
  Block::iterator end = builder.getInsertionPoint();
  SmallVector<Operation *> ops;
  for (Operation &op : llvm::make_range(body.begin(), end))
    ops.push_back(&op);

  // Activity analysis: a value is active when it depends on a `wrt` value and
  // an output depends on it.
  llvm::DenseSet<Value> varied(wrt.begin(), wrt.end()), useful;
  for (Operation *op : ops)
    if (llvm::any_of(op->getOperands(),
                     [&](Value v) { return varied.contains(v); }))
      for (Value r : op->getResults())
        if (isFloatTensor(r))
          varied.insert(r);
  for (auto [out, seed] : llvm::zip(outputs, seeds))
    if (seed)
      useful.insert(out);
  for (Operation *op : llvm::reverse(ops))
    if (llvm::any_of(op->getResults(),
                     [&](Value v) { return useful.contains(v); }))
      for (Value v : op->getOperands())
        useful.insert(v);
  auto active = [&](Value v) {
    return isFloatTensor(v) && varied.contains(v) && useful.contains(v);
  };
  // A selected argument that reaches the outputs only through an integer
  // result (argmax) has no derivative there: that is an error, not a silent
  // zero.
  for (Operation *op : ops) {
    bool fromWrt = llvm::any_of(op->getOperands(),
                                [&](Value v) { return varied.contains(v); });
    for (Value r : op->getResults())
      if (fromWrt && !isFloatTensor(r) && useful.contains(r))
        return op->emitError()
               << "cannot differentiate through '" << op->getName()
               << "': its result " << r.getType()
               << " is an integer tensor, which has no derivative, and the "
                  "differentiated result depends on it";
  }

  llvm::DenseMap<Value, Value> adjoint;
  auto accumulate = [&](Value v, Value g, Location loc) {
    Value &slot = adjoint[v];
    slot = slot ? builder.create<AddOp>(loc, slot, g).getResult() : g;
  };
  for (auto [out, seed] : llvm::zip(outputs, seeds))
    if (seed && active(out))
      accumulate(out, seed, out.getLoc());

  for (Operation *op : llvm::reverse(ops)) {
    SmallVector<Value> resultGrads;
    bool any = false;
    for (Value r : op->getResults()) {
      resultGrads.push_back(adjoint.lookup(r));
      any |= bool(resultGrads.back());
    }
    if (!any)
      continue;
    SmallVector<bool> needed;
    bool anyNeeded = false;
    for (Value v : op->getOperands()) {
      needed.push_back(active(v));
      anyNeeded |= needed.back();
    }
    if (!anyNeeded)
      continue;
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitError()
             << "cannot differentiate through '" << op->getName()
             << "': it has no derivative, but the differentiated result "
                "depends on the selected arguments through it";
    SmallVector<Value> grads;
    if (failed(diff.buildVJP(builder, resultGrads, needed, grads)))
      return failure();
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      if (!needed[i] || i >= grads.size() || !grads[i])
        continue;
      if (grads[i].getType() != v.getType())
        return op->emitError()
               << "internal error: the VJP built a cotangent of type "
               << grads[i].getType() << " for operand " << i << " of type "
               << v.getType();
      accumulate(v, grads[i], op->getLoc());
    }
  }
  SmallVector<Value> result;
  for (Value v : wrt)
    result.push_back(adjoint.lookup(v));
  return result;
}

LogicalResult
mlir::d2l::buildForwardMode(OpBuilder &builder, Block &body,
                            llvm::DenseMap<Value, Value> &tangents) {
  if (failed(expectUnrolled(body.getParentOp(), "differentiation")))
    return failure();
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  for (Operation *op : ops) {
    SmallVector<Value> operandTangents;
    bool any = false;
    for (Value v : op->getOperands()) {
      operandTangents.push_back(tangents.lookup(v));
      any |= bool(operandTangents.back());
    }
    if (!any)
      continue;
    auto diff = dyn_cast<DifferentiableOpInterface>(op);
    if (!diff)
      return op->emitError()
             << "cannot differentiate through '" << op->getName()
             << "': it has no derivative, but a tangent reaches it";
    builder.setInsertionPointAfter(op);
    SmallVector<Value> resultTangents;
    if (failed(diff.buildJVP(builder, operandTangents, resultTangents)))
      return failure();
    for (auto [i, r] : llvm::enumerate(op->getResults())) {
      if (i >= resultTangents.size() || !resultTangents[i])
        continue;
      if (resultTangents[i].getType() != r.getType())
        return op->emitError()
               << "internal error: the JVP built a tangent of type "
               << resultTangents[i].getType() << " for result " << i
               << " of type " << r.getType();
      tangents[r] = resultTangents[i];
    }
  }
  return success();
}

std::string mlir::d2l::argumentName(func::FuncOp func, unsigned i) {
  for (StringRef key : {kParamAttr, kStateAttr, kInputAttr})
    if (auto n = func.getArgAttrOfType<StringAttr>(i, key))
      return n.str();
  return "arg" + std::to_string(i);
}

std::string mlir::d2l::resultName(func::FuncOp func, unsigned i) {
  for (StringRef key : {kOutputAttr, kParamAttr, kStateAttr})
    if (auto n = func.getResultAttrOfType<StringAttr>(i, key))
      return n.str();
  return "result" + std::to_string(i);
}

llvm::DenseMap<Value, BlockArgument>
mlir::d2l::updatedArguments(func::FuncOp func) {
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  llvm::StringMap<BlockArgument> updatable;
  for (BlockArgument arg : body.getArguments())
    if (func.getArgAttr(arg.getArgNumber(), kParamAttr) ||
        func.getArgAttr(arg.getArgNumber(), kStateAttr))
      updatable[argumentName(func, arg.getArgNumber())] = arg;
  llvm::DenseMap<Value, int> uses;
  for (Value v : ret.getOperands())
    ++uses[v];
  llvm::DenseMap<Value, BlockArgument> updates;
  for (auto [k, v] : llvm::enumerate(ret.getOperands())) {
    auto it = updatable.find(resultName(func, unsigned(k)));
    if (it != updatable.end() && it->second.getType() == v.getType() &&
        uses[v] == 1 && !isa<BlockArgument>(v))
      updates[v] = it->second;
  }
  return updates;
}

std::string mlir::d2l::freshName(func::FuncOp func, StringRef prefix,
                                 StringRef name) {
  llvm::StringSet<> used;
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    used.insert(argumentName(func, i));
  for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
    used.insert(resultName(func, i));
  for (int k = 1;; ++k) {
    std::string candidate =
        (prefix + (k == 1 ? "" : std::to_string(k)) + "." + name).str();
    if (!used.contains(candidate))
      return candidate;
  }
}

FailureOr<SmallVector<unsigned>>
mlir::d2l::selectArguments(func::FuncOp func, ArrayRef<std::string> names,
                           StringRef option) {
  SmallVector<unsigned> selected;
  if (names.empty()) {
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      if (func.getArgAttr(i, kParamAttr))
        selected.push_back(i);
    return selected;
  }
  for (const std::string &name : names) {
    std::optional<unsigned> found;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      if (argumentName(func, i) == name)
        found = i;
    if (!found) {
      std::string known;
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        known += (i ? ", " : "") + argumentName(func, i);
      return func.emitError()
             << "'" << option << "' names '" << name
             << "', which is no argument of @" << func.getSymName()
             << " (arguments: " << known << ")";
    }
    if (!isFloatTensor(func.getArgument(*found)))
      return func.emitError()
             << "cannot differentiate with respect to '" << name
             << "': it is not a floating-point tensor (it has type "
             << func.getArgument(*found).getType() << ")";
    selected.push_back(*found);
  }
  return selected;
}

FailureOr<func::FuncOp> mlir::d2l::cloneFunction(func::FuncOp func,
                                                 StringRef name) {
  auto module = func->getParentOfType<ModuleOp>();
  if (module && SymbolTable::lookupSymbolIn(module, name))
    return func.emitError() << "cannot create @" << name
                            << ": the module already has a symbol of that "
                               "name";
  OpBuilder builder(func);
  builder.setInsertionPointAfter(func);
  auto clone = cast<func::FuncOp>(builder.clone(*func.getOperation()));
  clone.setSymName(name);
  return clone;
}

void mlir::d2l::setResults(func::FuncOp func, ArrayRef<Value> values,
                           ArrayRef<NamedAttribute> attrs) {
  Block &body = func.getBody().front();
  Operation *ret = body.getTerminator();
  OpBuilder builder(ret);
  builder.create<func::ReturnOp>(ret->getLoc(), values);
  ret->erase();
  func.setFunctionType(FunctionType::get(func.getContext(),
                                         body.getArgumentTypes(),
                                         ValueRange(values).getTypes()));
  SmallVector<DictionaryAttr> resAttrs;
  for (NamedAttribute a : attrs)
    resAttrs.push_back(DictionaryAttr::get(func.getContext(), {a}));
  func.setAllResultAttrs(resAttrs);
}

int64_t mlir::d2l::tensorBytes(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return 0;
  return t.getNumElements() * int64_t((t.getElementTypeBitWidth() + 7) / 8);
}

llvm::DenseMap<Value, Value> mlir::d2l::storageRoots(func::FuncOp func) {
  Block &body = func.getBody().front();
  llvm::DenseMap<Value, Value> storage;
  for (BlockArgument a : body.getArguments())
    storage[a] = a;
  for (Operation &op : body)
    for (Value r : op.getResults())
      storage[r] =
          isa<ReshapeOp, FlattenOp>(op) ? storage.lookup(op.getOperand(0)) : r;
  return storage;
}

llvm::DenseSet<Operation *> mlir::d2l::lossCone(func::FuncOp func) {
  llvm::DenseSet<Operation *> forward;
  auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
  if (ret.getNumOperands() == 0)
    return forward;
  auto loss = dyn_cast<RankedTensorType>(ret.getOperand(0).getType());
  if (!loss || loss.getRank() != 0)
    return forward;
  SmallVector<Value> work{ret.getOperand(0)};
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (def && forward.insert(def).second)
      llvm::append_range(work, def->getOperands());
  }
  return forward;
}

unsigned mlir::d2l::markSavedValues(func::FuncOp func) {
  Block &body = func.getBody().front();
  for (Operation &op : body)
    op.removeAttr("d2l.saved");
  llvm::DenseSet<Operation *> forward = lossCone(func);
  if (forward.empty())
    return 0;
  unsigned count = 0;
  Builder b(func.getContext());
  for (Operation &op : body) {
    // Constants are literals, rematerialised for free: never "saved".
    if (!forward.contains(&op) || isa<ConstantOp>(op))
      continue;
    SmallVector<int64_t> saved;
    for (OpResult r : op.getResults())
      if (llvm::any_of(r.getUsers(), [&](Operation *user) {
            return !forward.contains(user) && !isa<func::ReturnOp>(user);
          }))
        saved.push_back(r.getResultNumber());
    if (saved.empty())
      continue;
    op.setAttr("d2l.saved", b.getDenseI64ArrayAttr(saved));
    count += saved.size();
  }
  return count;
}
