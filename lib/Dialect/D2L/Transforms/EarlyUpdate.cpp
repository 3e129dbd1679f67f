//===- EarlyUpdate.cpp - each parameter's update as soon as it can run ----===//
//
// The optimizer's update chains (elementwise ops that only feed returned new
// values of parameters and states) move to right after their last input and
// the last other reader of what they update, so that the scheduler writes
// them in place and each gradient dies as soon as it is complete.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LEARLYUPDATE
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"
} // namespace mlir::d2l

using namespace mlir;
using namespace mlir::d2l;

namespace {

void moveUpdates(func::FuncOp func) {
  Block &body = func.getBody().front();
  auto ret = cast<func::ReturnOp>(body.getTerminator());
  // The returned new values and what they update.
  llvm::DenseMap<Value, BlockArgument> updates = updatedArguments(func);
  auto isChainOp = [](Operation *op) {
    return op && isFusibleElementwise(op) && !isa<BroadcastToOp>(op) &&
           op->getNumResults() == 1;
  };
  // The chains: ops whose every use is in a chain or returns an update.
  llvm::SetVector<Operation *> chain;
  auto onlyFeedsChains = [&](Operation *op) {
    for (OpOperand &use : op->getResult(0).getUses()) {
      Operation *user = use.getOwner();
      // updatedArguments keeps values returned once, as their update.
      if (user == ret) {
        if (!updates.count(op->getResult(0)))
          return false;
      } else if (!chain.contains(user)) {
        return false;
      }
    }
    return true;
  };
  SmallVector<Operation *> work;
  for (auto &[v, arg] : updates)
    work.push_back(v.getDefiningOp());
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!isChainOp(op) || chain.contains(op) || !onlyFeedsChains(op))
      continue;
    chain.insert(op);
    for (Value operand : op->getOperands())
      work.push_back(operand.getDefiningOp());
  }
  // A gradient's accumulation (an op combining two values computed outside
  // the chains, such as the sum of a recurrent weight's per-step
  // gradients) stays where it is: moved after its last term, it would keep
  // every term live at once. So would what only feeds it.
  for (bool changed = true; changed;) {
    changed = false;
    for (Operation *op : llvm::to_vector(chain)) {
      // Distinct values (Adam's square of a gradient reads it twice).
      llvm::SmallDenseSet<Value, 4> outside;
      for (Value v : op->getOperands())
        if (Operation *def = v.getDefiningOp();
            def && !isa<ConstantOp>(def) && !chain.contains(def))
          outside.insert(v);
      bool usedOutside = llvm::any_of(op->getUsers(), [&](Operation *u) {
        return u != ret.getOperation() && !chain.contains(u);
      });
      if (outside.size() >= 2 || usedOutside) {
        chain.remove(op);
        changed = true;
      }
    }
  }
  if (chain.empty())
    return;
  // Connected units (a parameter with its momentum), in program order.
  llvm::EquivalenceClasses<Operation *> units;
  for (Operation *op : chain) {
    units.insert(op);
    for (Value operand : op->getOperands())
      if (Operation *def = operand.getDefiningOp(); def && chain.count(def))
        units.unionSets(op, def);
  }
  // In program order of their first op, so that the result is
  // deterministic.
  llvm::MapVector<Operation *, SmallVector<Operation *>> members;
  for (Operation &op : body)
    if (chain.contains(&op))
      members[units.getLeaderValue(&op)].push_back(&op);
  for (auto &[leader, ops] : members) {
    llvm::SmallPtrSet<Operation *, 8> own(ops.begin(), ops.end());
    // The unit runs after its inputs and after every other reader of the
    // arguments it updates.
    Operation *after = nullptr;
    auto later = [&](Operation *op) {
      if (op && op != ret.getOperation() && !own.contains(op) &&
          (!after || after->isBeforeInBlock(op)))
        after = op;
    };
    for (Operation *op : ops) {
      for (Value operand : op->getOperands())
        later(operand.getDefiningOp());
      if (auto it = updates.find(op->getResult(0)); it != updates.end())
        for (Operation *user : it->second.getUsers())
          later(user);
    }
    // The readers of a view (reshape, flatten) of an updated argument read
    // it too.
    for (Operation *op : ops)
      if (auto it = updates.find(op->getResult(0)); it != updates.end())
        for (Operation *user : it->second.getUsers())
          if (isa<ReshapeOp, FlattenOp>(user))
            for (Operation *u2 : user->getResult(0).getUsers())
              later(u2);
    Operation *pos = after;
    for (Operation *op : ops) {
      if (pos)
        op->moveAfter(pos);
      else
        op->moveBefore(&body.front());
      pos = op;
    }
  }
}

struct EarlyUpdatePass : d2l::impl::D2LEarlyUpdateBase<EarlyUpdatePass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal())
        moveUpdates(func);
  }
};

} // namespace
