//===- Remat.cpp - recompute elementwise values instead of saving them ----===//
//
// See rematerializeElementwise in Autodiff.h. The cost model counts bytes
// kept between the forward and the backward pass; recomputation costs one
// elementwise kernel (after --d2l-fuse-elementwise) per recomputed value.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {

/// Ops whose results can be recomputed for free of anything but their
/// operands: elementwise ops and views.
bool recomputable(Operation *op) {
  return isFusibleElementwise(op) || isa<ReshapeOp, FlattenOp>(op);
}

} // namespace

unsigned mlir::d2l::rematerializeElementwise(func::FuncOp func) {
  Block &body = func.getBody().front();
  llvm::DenseSet<Operation *> forward = lossCone(func);
  if (forward.empty())
    return 0;
  auto backwardUses = [&](Value v) {
    SmallVector<OpOperand *> uses;
    for (OpOperand &use : v.getUses())
      if (!forward.contains(use.getOwner()) &&
          !isa<func::ReturnOp>(use.getOwner()))
        uses.push_back(&use);
    return uses;
  };

  // Decided in program order: `kept` are the forward values the backward
  // pass reads as they are (saved); `remat` those it recomputes.
  llvm::DenseSet<Value> kept, remat;
  struct Plan {
    Value value;
    llvm::SetVector<Operation *> cone; // the ops to recompute
  };
  SmallVector<Plan> plans;
  for (Operation &op : body) {
    if (!forward.contains(&op))
      continue;
    for (Value v : op.getResults()) {
      if (backwardUses(v).empty())
        continue;
      if (!recomputable(&op)) {
        kept.insert(v);
        continue;
      }
      // The cone: back through recomputable ops to kept values, arguments
      // and constants; other values reached would have to be saved anew.
      llvm::SetVector<Operation *> cone;
      llvm::SetVector<Value> newlySaved;
      SmallVector<Value> stack{v};
      llvm::DenseSet<Value> seen;
      while (!stack.empty()) {
        Value u = stack.pop_back_val();
        if (!seen.insert(u).second)
          continue;
        Operation *def = u.getDefiningOp();
        if (!def || isa<ConstantOp>(def) || kept.contains(u))
          continue;
        if (!recomputable(def)) {
          newlySaved.insert(u);
          continue;
        }
        cone.insert(def);
        llvm::append_range(stack, def->getOperands());
      }
      int64_t extra = 0;
      for (Value u : newlySaved)
        extra += tensorBytes(u);
      if (extra >= tensorBytes(v)) {
        kept.insert(v);
        continue;
      }
      for (Value u : newlySaved)
        kept.insert(u);
      remat.insert(v);
      plans.push_back({v, std::move(cone)});
    }
  }

  // Clone each cone before the first backward use of its value.
  unsigned count = 0;
  for (Plan &plan : plans) {
    auto uses = backwardUses(plan.value);
    if (uses.empty())
      continue;
    Operation *first = uses.front()->getOwner();
    for (OpOperand *use : uses)
      if (use->getOwner()->isBeforeInBlock(first))
        first = use->getOwner();
    SmallVector<Operation *> ordered(plan.cone.begin(), plan.cone.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    OpBuilder b(first);
    IRMapping map;
    for (Operation *op : ordered) {
      Operation *clone = b.clone(*op, map);
      for (NamedAttribute a : llvm::to_vector(clone->getAttrs()))
        if (a.getName().getValue().starts_with("d2l."))
          clone->removeAttr(a.getName());
    }
    Value again = map.lookup(plan.value);
    for (OpOperand *use : uses)
      use->set(again);
    ++count;
  }
  return count;
}
