//===- FuseElementwise.cpp - elementwise chains, epilogues, multi-apply ---===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LFUSEELEMENTWISE
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

struct Group {
  std::string kind;
  SmallVector<Operation *> members; // in program order
  Type space;                       // the iteration space
};

class Fuser {
public:
  Fuser(Block &block, bool separateSinks)
      : block(block), separateSinks(separateSinks) {
    unsigned i = 0;
    for (Operation &op : block)
      position[&op] = i++;
    if (auto func = dyn_cast<func::FuncOp>(block.getParentOp()))
      updates = updatedArguments(func);
  }

  void run() {
    for (Operation &op : block.without_terminator())
      visit(&op);
    // Materialise the groups that fuse something.
    SmallVector<Group *> sinks;
    for (auto &g : groups) {
      if (g->members.size() < 2)
        continue;
      if (g->kind == "elementwise" && isSink(*g))
        sinks.push_back(g.get());
      else
        materialise(*g, g->kind, g->members.front());
    }
    // Single elementwise ops that are sinks too (e.g. p - lr g).
    for (auto &g : groups)
      if (g->members.size() == 1 && g->kind == "elementwise" && isSink(*g))
        sinks.push_back(g.get());
    if (sinks.size() >= 2 && !separateSinks) {
      Group multi;
      multi.kind = "multi";
      for (Group *g : sinks)
        multi.members.append(g->members);
      llvm::sort(multi.members, [&](Operation *a, Operation *b) {
        return position[a] < position[b];
      });
      materialise(multi, "multi", block.getTerminator());
    } else {
      for (Group *g : sinks)
        if (g->members.size() >= 2)
          materialise(*g, g->kind, g->members.front());
    }
  }

private:
  Block &block;
  /// Each update where it is (--d2l-early-update) instead of one launch.
  bool separateSinks;
  llvm::DenseMap<Operation *, unsigned> position;
  llvm::DenseMap<Operation *, Group *> groupOf;
  std::vector<std::unique_ptr<Group>> groups;
  /// New values of parameters and states -> the argument each updates.
  llvm::DenseMap<Value, BlockArgument> updates;

  Group *newGroup(Operation *op, StringRef kind) {
    groups.push_back(std::make_unique<Group>());
    Group *g = groups.back().get();
    g->kind = kind.str();
    g->members.push_back(op);
    g->space = op->getResult(0).getType();
    groupOf[op] = g;
    return g;
  }

  /// Whether `v` is available where the group starts (so that it can be a
  /// group input wherever the group ends up).
  bool before(Value v, const Group &g) {
    Operation *def = v.getDefiningOp();
    return !def || position[def] < position[g.members.front()];
  }

  bool canJoin(const Group &g, Operation *op) {
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (def && groupOf.lookup(def) == &g)
        continue;
      if (!before(v, g))
        return false;
    }
    // A value of the group read outside it must be read after `op`, where
    // the group will run.
    for (Operation *m : g.members)
      for (Value r : m->getResults())
        for (Operation *user : r.getUsers())
          if (groupOf.lookup(user) != &g && user != op &&
              position[user] < position[op])
            return false;
    // An update moved into an epilogue group runs where the GEMM was: it is
    // written over its argument only if nothing reads the argument later
    // (a weight's gradient GEMM before the conv that reads the weight for
    // the input's gradient).
    if (g.kind == "epilogue")
      if (BlockArgument a = updates.lookup(op->getResult(0)))
        for (Operation *user : a.getUsers())
          if (user != op && groupOf.lookup(user) != &g &&
              position[user] > position[g.members.front()])
            return false;
    return true;
  }

  void visit(Operation *op) {
    // A conv's weight gradient starts a group only when the updates run
    // right after their gradients (--d2l-early-update): its update then
    // runs on each element as it is stored, written over the weight, and
    // the gradient takes no memory. Otherwise the gradient feeds the one
    // multi-tensor update at the end of the step.
    if (isEpilogueRoot(op) &&
        (separateSinks || !isa<Conv2dBackwardFilterOp>(op))) {
      newGroup(op, "epilogue");
      return;
    }
    if (!isFusibleElementwise(op))
      return;
    Type space = op->getResult(0).getType();
    if (separateSinks && joinEpilogue(op))
      return;
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      Group *g = def ? groupOf.lookup(def) : nullptr;
      if (!g || g->space != space || !canJoin(*g, op))
        continue;
      g->members.push_back(op);
      groupOf[op] = g;
      return;
    }
    newGroup(op, "elementwise");
  }

  /// With early updates, an update that reads a GEMM's result (a weight
  /// gradient) joins the GEMM's epilogue group together with the update's
  /// own single-use elementwise producers of the parameters and states
  /// (weight decay's wd w, momentum's mu v), which the update placed after
  /// the GEMM: they read only values that exist where the group starts.
  bool joinEpilogue(Operation *op) {
    Type space = op->getResult(0).getType();
    for (Value v : op->getOperands()) {
      Operation *def = v.getDefiningOp();
      Group *g = def ? groupOf.lookup(def) : nullptr;
      if (!g || g->kind != "epilogue" || g->space != space)
        continue;
      SmallVector<Operation *> absorb;
      bool ok = true;
      for (Value u : op->getOperands()) {
        Operation *p = u.getDefiningOp();
        if (!p || groupOf.lookup(p) == g || before(u, *g))
          continue;
        Group *pg = groupOf.lookup(p);
        ok = pg && pg->kind == "elementwise" && pg->members.size() == 1 &&
             p->getNumResults() == 1 && u.hasOneUse() && u.getType() == space &&
             llvm::all_of(p->getOperands(),
                          [&](Value w) { return before(w, *g); });
        if (!ok)
          break;
        absorb.push_back(p);
      }
      if (!ok || absorb.empty())
        continue;
      for (Operation *p : absorb) {
        groupOf.lookup(p)->members.clear();
        g->members.push_back(p);
        groupOf[p] = g;
      }
      if (!canJoin(*g, op)) {
        // Undo: each absorbed op alone again.
        for (Operation *p : absorb) {
          g->members.pop_back();
          newGroup(p, "elementwise");
        }
        continue;
      }
      g->members.push_back(op);
      groupOf[op] = g;
      return true;
    }
    return false;
  }

  /// Whether the group's results leave only through the terminator.
  bool isSink(const Group &g) {
    for (Operation *m : g.members)
      for (Value r : m->getResults())
        for (Operation *user : r.getUsers())
          if (groupOf.lookup(user) != &g &&
              !user->hasTrait<OpTrait::IsTerminator>())
            return false;
    return true;
  }

  /// Replaces the members by one d2l.fused op before `at`: the group's
  /// first op for elementwise and epilogue groups (every input of the group
  /// exists there, and running a GEMM epilogue where the GEMM was keeps its
  /// operands' lifetimes), the terminator for the merged sinks.
  void materialise(const Group &g, StringRef kind, Operation *at) {
    llvm::SmallPtrSet<Operation *, 16> inGroup(g.members.begin(),
                                               g.members.end());
    llvm::SetVector<Value> inputs;
    SmallVector<Value> outputs;
    for (Operation *m : g.members) {
      for (Value v : m->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (!def || !inGroup.contains(def))
          inputs.insert(v);
      }
      for (Value r : m->getResults())
        if (llvm::any_of(r.getUsers(),
                         [&](Operation *u) { return !inGroup.contains(u); }))
          outputs.push_back(r);
    }
    OpBuilder b(at);
    SmallVector<Type> resultTypes;
    for (Value v : outputs)
      resultTypes.push_back(v.getType());
    auto fused = b.create<FusedOp>(g.members.front()->getLoc(), resultTypes,
                                   b.getStringAttr(kind), inputs.getArrayRef());
    Block *body = new Block();
    fused.getBody().push_back(body);
    IRMapping map;
    for (Value v : inputs)
      map.map(v, body->addArgument(v.getType(), v.getLoc()));
    OpBuilder inner = OpBuilder::atBlockEnd(body);
    for (Operation *m : g.members) {
      Operation *clone = inner.clone(*m, map);
      // Schedule and liveness marks belong to the group, not its body.
      for (NamedAttribute a : llvm::to_vector(clone->getAttrs()))
        if (a.getName().getValue().starts_with("d2l."))
          clone->removeAttr(a.getName());
    }
    SmallVector<Value> yielded;
    for (Value v : outputs)
      yielded.push_back(map.lookup(v));
    inner.create<YieldOp>(fused.getLoc(), yielded);
    for (auto [v, r] : llvm::zip(outputs, fused.getResults()))
      v.replaceAllUsesWith(r);
    for (Operation *m : llvm::reverse(g.members))
      m->erase();
  }
};

struct FuseElementwisePass : impl::D2LFuseElementwiseBase<FuseElementwisePass> {
  using D2LFuseElementwiseBase::D2LFuseElementwiseBase;
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal()) {
        Fuser(func.getBody().front(), earlyUpdate).run();
        // The saved values are now results of the fused groups.
        markSavedValues(func);
      }
  }
};

} // namespace
} // namespace mlir::d2l
