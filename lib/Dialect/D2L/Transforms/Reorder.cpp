//===- Reorder.cpp - a memory-aware order of the ops ----------------------===//
//
// --d2l-reorder: within each function, a list schedule that, among the ops
// whose operands are ready, runs first the one that frees the most bytes net
// of what it allocates (ties: program order), the heuristic of the
// memory-aware list schedulers of XLA and TVM. The new order replaces the
// old one only when its peak of live bytes is lower: each value from its
// definition to its last reader, views (reshape, flatten) sharing their
// source, parameters and states outside the count, and a new value of a
// parameter or state free (the scheduler writes it over the argument). So
// that it still can, an op that returns such a value runs after every other
// reader of the argument, besides the data dependences.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

#include <limits>
#include <map>
#include <set>

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LREORDER
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"
} // namespace mlir::d2l

using namespace mlir;
using namespace mlir::d2l;

namespace {

class Reorderer {
public:
  explicit Reorderer(func::FuncOp func) : func(func) {
    Block &body = func.getBody().front();
    for (Operation &op : body.without_terminator()) {
      index[&op] = unsigned(ops.size());
      ops.push_back(&op);
    }
    storage = storageRoots(func);
    for (auto [v, arg] : updatedArguments(func))
      free.insert(v);
    for (BlockArgument a : body.getArguments())
      if (func.getArgAttr(a.getArgNumber(), kParamAttr) ||
          func.getArgAttr(a.getArgNumber(), kStateAttr))
        free.insert(a);
    for (Value v : body.getTerminator()->getOperands())
      returned.insert(storage.lookup(v));
    // Readers of each storage (ops of the block, nested uses included).
    for (Operation *op : ops)
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (Value s = storage.lookup(v); s && v.getParentBlock() == &body)
            readers[s].insert(op);
      });
    // Predecessors: data dependences, and the anti-dependences of updates.
    preds.resize(ops.size());
    for (Operation *op : ops)
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (Operation *def = v.getDefiningOp();
              def && def->getBlock() == &body && def != op)
            preds[index[op]].insert(index[def]);
      });
    for (auto [v, arg] : updatedArguments(func)) {
      Operation *def = v.getDefiningOp();
      if (!def || !index.count(def))
        continue;
      for (Operation *r : readers.lookup(arg))
        if (r != def && !dependsOn(r, def))
          preds[index[def]].insert(index[r]);
    }
  }

  /// Peak live bytes of `order` (indices into ops).
  int64_t peak(ArrayRef<unsigned> order) {
    std::vector<unsigned> at(ops.size());
    for (auto [k, i] : llvm::enumerate(order))
      at[i] = unsigned(k);
    std::map<unsigned, int64_t> delta;
    unsigned end = unsigned(order.size());
    auto live = [&](Value s, unsigned from) {
      if (free.contains(s))
        return;
      unsigned to = from;
      if (returned.contains(s))
        to = end;
      for (Operation *r : readers.lookup(s))
        to = std::max(to, at[index[r]]);
      delta[from] += tensorBytes(s);
      delta[to + 1] -= tensorBytes(s);
    };
    for (BlockArgument a : func.getBody().front().getArguments())
      live(a, 0);
    for (unsigned i : order)
      for (Value r : ops[i]->getResults())
        if (storage.lookup(r) == r)
          live(r, at[i]);
    int64_t now = 0, top = 0;
    for (auto &[t, d] : delta)
      top = std::max(top, now += d);
    return top;
  }

  /// The list schedule; empty when the dependences have a cycle.
  SmallVector<unsigned> listSchedule() {
    size_t n = ops.size();
    std::vector<unsigned> waiting(n);
    std::vector<SmallVector<unsigned>> succs(n);
    for (size_t i = 0; i < n; ++i) {
      waiting[i] = unsigned(preds[i].size());
      for (unsigned p : preds[i])
        succs[p].push_back(unsigned(i));
    }
    // Readers of each storage still to run.
    llvm::DenseMap<Value, unsigned> pending;
    for (auto &[s, rs] : readers)
      pending[s] = unsigned(rs.size());
    std::set<unsigned> ready;
    for (size_t i = 0; i < n; ++i)
      if (!waiting[i])
        ready.insert(unsigned(i));
    SmallVector<unsigned> order;
    while (!ready.empty()) {
      unsigned best = *ready.begin();
      int64_t bestScore = std::numeric_limits<int64_t>::min();
      for (unsigned i : ready) {
        int64_t score = -allocated(ops[i]);
        llvm::SmallPtrSet<Value, 4> seen;
        for (Value s : readStorages(ops[i]))
          if (seen.insert(s).second && pending.lookup(s) == 1 &&
              !returned.contains(s) && !free.contains(s))
            score += tensorBytes(s);
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      ready.erase(best);
      order.push_back(best);
      llvm::SmallPtrSet<Value, 4> seen;
      for (Value s : readStorages(ops[best]))
        if (seen.insert(s).second)
          --pending[s];
      for (unsigned s : succs[best])
        if (--waiting[s] == 0)
          ready.insert(s);
    }
    if (order.size() != n)
      return {};
    return order;
  }

  void apply(ArrayRef<unsigned> order) {
    Operation *term = func.getBody().front().getTerminator();
    for (unsigned i : order)
      ops[i]->moveBefore(term);
  }

  size_t size() const { return ops.size(); }

private:
  func::FuncOp func;
  std::vector<Operation *> ops;
  llvm::DenseMap<Operation *, unsigned> index;
  llvm::DenseMap<Value, Value> storage;
  llvm::DenseSet<Value> free, returned;
  llvm::DenseMap<Value, llvm::SetVector<Operation *>> readers;
  std::vector<llvm::SmallSetVector<unsigned, 4>> preds;

  /// Whether `a` (transitively) depends on `b`, through data edges and the
  /// anti-edges added so far (which may point forward in program order, so
  /// no pruning by index).
  bool dependsOn(Operation *a, Operation *b) {
    SmallVector<unsigned> stack{index[a]};
    llvm::DenseSet<unsigned> seen;
    unsigned target = index[b];
    while (!stack.empty()) {
      unsigned i = stack.pop_back_val();
      if (i == target)
        return true;
      if (!seen.insert(i).second)
        continue;
      for (unsigned p : preds[i])
        stack.push_back(p);
    }
    return false;
  }

  int64_t allocated(Operation *op) {
    int64_t bytes = 0;
    for (Value r : op->getResults())
      if (storage.lookup(r) == r && !free.contains(r))
        bytes += tensorBytes(r);
    return bytes;
  }

  SmallVector<Value> readStorages(Operation *op) {
    SmallVector<Value> result;
    Block *body = &func.getBody().front();
    op->walk([&](Operation *inner) {
      for (Value v : inner->getOperands())
        if (v.getParentBlock() == body)
          result.push_back(storage.lookup(v));
    });
    return result;
  }
};

struct ReorderPass : d2l::impl::D2LReorderBase<ReorderPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Only pure ops move (every d2l op is; a function with anything else
      // keeps its order).
      if (llvm::any_of(func.getBody().front().without_terminator(),
                       [](Operation &op) { return !isMemoryEffectFree(&op); }))
        continue;
      Reorderer r(func);
      SmallVector<unsigned> original;
      for (unsigned i = 0; i < r.size(); ++i)
        original.push_back(i);
      SmallVector<unsigned> order = r.listSchedule();
      int64_t before = r.peak(original);
      int64_t after = order.empty() ? before : r.peak(order);
      Builder b(func.getContext());
      func->setAttr(
          "d2l.reorder",
          b.getDictionaryAttr(
              {b.getNamedAttr("peak_before", b.getI64IntegerAttr(before)),
               b.getNamedAttr("peak_list", b.getI64IntegerAttr(after)),
               b.getNamedAttr("peak_after",
                              b.getI64IntegerAttr(std::min(before, after))),
               b.getNamedAttr("applied", b.getBoolAttr(after < before))}));
      if (after < before)
        r.apply(order);
    }
  }
};

} // namespace
