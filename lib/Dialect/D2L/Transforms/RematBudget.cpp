//===- RematBudget.cpp - recompute saved values to fit a memory budget ----===//
//
// --d2l-remat="budget=B policy=P" on a training step (after --d2l-train-step
// and --d2l-simplify; d2lc runs it after --d2l-fuse-conv-bn-relu). The
// candidates are the saved values: forward values the backward pass reads.
// Dropping one means recomputing it, right before its first backward use,
// from the values still saved (and the arguments): its cone of forward ops,
// convolutions included. The memory of a step is estimated by a liveness
// simulation over the ops (every value from its definition to its last use,
// views sharing their source's bytes, a recomputed value live again from
// its recomputation, its cone's intermediates at that point). It runs
// before elementwise fusion and counts the intermediates of an elementwise
// chain as free, as fusion makes them; it does not see the scheduler's
// workspaces and in-place writes, so d2lc checks the planned arena against
// a peak budget and plans again with a `margin` (Pipeline.cpp); the cost
// of a choice is the FLOPs of the cones. When the step without
// recomputation does not fit, each policy but sqrt also searches the step
// with its stem's backward fused (FuseStemBackward.cpp) and keeps the
// cheaper fit; when neither fits a peak budget, it searches the step with
// the activations FuseConvBnRelu recomputes saved instead
// (restoreActivations), so that their conv outputs may go. With a peak
// budget each recomputation starts from the saved values; afterwards
// (`retain`) recomputed values that later recomputations can start from
// are kept, greedily, while the step fits (RematPass::retainRecomputed).
//
// Policies: `greedy` drops, one at a time, the value that lowers the peak
// most per extra FLOP; `exact` (and `auto`, the default) starts from the
// greedy choice and searches every subset of the candidates by branch and
// bound (struct BranchAndBound), which proves the cheapest choice that fits
// optimal unless it stops at its evaluation limit (recorded as optimal =
// false: the best choice found is kept, then improved by a local search,
// RematPass::improve); `exhaustive` evaluates every
// subset (up to 20 candidates), to cross-check exact; `sqrt` ignores the
// budget's optimisation and keeps every ceil(sqrt(n))-th candidate in forward
// order (Chen et al., 2016), the baseline. The budget is in bytes, or a
// fraction (< 1) of the step's peak without recomputation. A budget that even
// recomputing every candidate cannot meet is an error naming the smallest
// feasible budget.
//
// The choice is recorded on the function as `d2l.remat` (policy, budget,
// values recomputed, extra FLOPs, estimated peak and saved bytes before and
// after), which --mem-report prints.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>
#include <functional>
#include <limits>
#include <map>

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LREMAT
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

int64_t numel(Type t) { return cast<RankedTensorType>(t).getNumElements(); }

/// Floating-point operations of one op (multiply-adds count two).
double flopsOf(Operation *op) {
  if (op->getNumResults() == 0)
    return 0;
  double out = double(numel(op->getResult(0).getType()));
  if (isa<Conv2dOp, Conv2dBatchStatsOp>(op)) {
    auto w = cast<RankedTensorType>(op->getOperand(1).getType());
    return 2 * out *
           double(w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3));
  }
  if (auto lin = dyn_cast<LinearOp>(op))
    return 2 * out *
           double(
               cast<RankedTensorType>(lin.getWeight().getType()).getDimSize(1));
  if (isa<MatmulOp, BatchMatmulOp>(op)) {
    auto a = cast<RankedTensorType>(op->getOperand(0).getType());
    bool ta = op->getAttrOfType<BoolAttr>("transpose_lhs").getValue();
    int64_t r = a.getRank();
    return 2 * out * double(ta ? a.getDimSize(r - 2) : a.getDimSize(r - 1));
  }
  if (auto wg = dyn_cast<Conv2dBackwardFilterOp>(op)) {
    auto w = cast<RankedTensorType>(wg.getType());
    return 2 * double(numel(wg.getGradOutput().getType())) *
           double(w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3));
  }
  if (auto stem = dyn_cast<ConvBnReluPoolBackwardOp>(op)) {
    // Pass 1: each window's convolutions, then the maximum's patch; pass
    // 2: every conv output's convolution and its three sums.
    auto w = cast<RankedTensorType>(stem.getWeight().getType());
    auto x = cast<RankedTensorType>(stem.getInput().getType());
    auto pk = stem.getPoolKernelSize();
    double k = double(w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3));
    double windows = double(numel(stem.getGradOutput().getType()));
    auto st = stem.getStride(), pad = stem.getPadding();
    double outputs = double(x.getDimSize(0) * w.getDimSize(0));
    for (int i = 0; i < 2; ++i)
      outputs *= double(
          (x.getDimSize(2 + i) + 2 * pad[i] - w.getDimSize(2 + i)) / st[i] + 1);
    return windows * (double(pk[0] * pk[1]) * (2 * k + 8) + 2 * k) +
           outputs * (2 * k + 4 * k + 6);
  }
  if (isa<MaxPool2dOp, AvgPool2dOp>(op)) {
    auto k = op->getAttrOfType<DenseI64ArrayAttr>("kernel_size");
    return out * double(k[0] * k[1]);
  }
  if (isa<ReshapeOp, FlattenOp, ConstantOp>(op))
    return 0;
  if (isa<BatchNormOp>(op))
    return 8 * out;
  return out * std::max<unsigned>(1, op->getNumOperands());
}

struct Candidate {
  Value value;
  int64_t bytes;
  unsigned position; // of the defining op
};

/// What identifies a recomputation of an op: its name, its own attributes
/// (not d2l.saved and the like, which a forward op carries and its backward
/// copy does not), its operands (as `canonical` maps them) and result types.
std::string recomputeKey(Operation *op,
                         llvm::function_ref<Value(Value)> canonical) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << op->getName() << "|";
  for (NamedAttribute a : op->getAttrs())
    if (!a.getName().getValue().starts_with("d2l."))
      os << a.getName() << "=" << a.getValue() << ";";
  os << "|";
  for (Value v : op->getOperands())
    os << canonical(v).getAsOpaquePointer() << ",";
  for (Type t : op->getResultTypes())
    os << t << ";";
  return key;
}

/// Undoes rematerializeElementwise (Remat.cpp) on a training step: a
/// backward elementwise op or view that recomputes a forward one on the same
/// operands (its own operands undone first, in program order) is replaced by
/// the forward value, which the backward pass then reads as saved. The
/// activations FuseConvBnRelu recomputes from the saved conv outputs thus
/// become saved values, candidates for the search like the others. Returns
/// the number of ops removed.
unsigned restoreActivations(func::FuncOp func) {
  llvm::DenseSet<Operation *> forward = lossCone(func);
  if (forward.empty())
    return 0;
  std::map<std::string, Operation *> byKey;
  auto same = [](Value v) { return v; };
  SmallVector<Operation *> copies;
  for (Operation &op : func.getBody().front()) {
    if (!(isFusibleElementwise(&op) || isa<ReshapeOp, FlattenOp>(op)) ||
        op.getNumRegions() || !isMemoryEffectFree(&op))
      continue;
    if (forward.contains(&op)) {
      byKey.emplace(recomputeKey(&op, same), &op);
      continue;
    }
    auto it = byKey.find(recomputeKey(&op, same));
    if (it == byKey.end())
      continue;
    op.replaceAllUsesWith(it->second->getResults());
    copies.push_back(&op);
  }
  for (Operation *op : llvm::reverse(copies))
    op->erase();
  return unsigned(copies.size());
}

class Planner {
public:
  Planner(func::FuncOp func, bool earlyUpdate) : func(func) {
    Block &body = func.getBody().front();
    for (Operation &op : body)
      position[&op] = unsigned(ops.size()), ops.push_back(&op);
    forward = lossCone(func);
    // New values of parameters and states that the scheduler writes over the
    // argument (an elementwise op, or its group after fusion, that reads it
    // last): no bytes of their own. The group: the op and its single-use
    // elementwise producers (momentum's mu v feeding the new momentum).
    auto elementwise = [](Operation *op) {
      return op && isFusibleElementwise(op) && !isa<BroadcastToOp>(op);
    };
    for (auto [v, a] : updatedArguments(func)) {
      Operation *def = v.getDefiningOp();
      if (!elementwise(def))
        continue;
      llvm::SmallPtrSet<Operation *, 4> group{def};
      for (Value o : def->getOperands())
        if (elementwise(o.getDefiningOp()) && o.hasOneUse())
          group.insert(o.getDefiningOp());
      if (llvm::any_of(a.getUsers(),
                       [&](Operation *u) { return group.contains(u); }) &&
          llvm::all_of(a.getUsers(), [&](Operation *u) {
            return group.contains(u) || u->isBeforeInBlock(def);
          }))
        inPlaceUpdates.insert(v);
    }
    // Views share their source's storage.
    storage = storageRoots(func);
    for (BlockArgument a : body.getArguments())
      views[a].push_back(a);
    for (Operation *op : ops)
      for (Value r : op->getResults())
        views[storage.lookup(r)].push_back(r);
    for (auto &[s, vs] : views) {
      unsigned lastAll = 0, lastFwd = 0, firstBwd = unsigned(ops.size());
      if (auto def = s.getDefiningOp())
        lastAll = lastFwd = position[def];
      for (Value v : vs)
        for (Operation *u : v.getUsers()) {
          if (isa<func::ReturnOp>(u)) {
            lastAll = lastFwd = unsigned(ops.size());
          } else {
            lastAll = std::max(lastAll, position[u]);
            if (isBackwardUser(u))
              firstBwd = std::min(firstBwd, position[u]);
            else
              lastFwd = std::max(lastFwd, position[u]);
          }
        }
      uses[s] = {lastAll, lastFwd, firstBwd};
    }
    for (Operation *op : ops) {
      if (!forward.contains(op) || isa<ConstantOp>(op))
        continue;
      for (Value r : op->getResults()) {
        if (storage.lookup(r) != r || !hasBackwardUse(r))
          continue;
        candidates.push_back({r, tensorBytes(r), position[op]});
        candidateSet.insert(r);
      }
    }
    // Elementwise fusion (after this pass) keeps a chain's intermediates in
    // registers: a value an elementwise op makes for one elementwise reader
    // of its shape, on the same side of the step, takes no memory.
    for (Operation *op : ops) {
      if (!isFusibleElementwise(op) || isa<BroadcastToOp>(op))
        continue;
      for (Value r : op->getResults()) {
        if (!r.hasOneUse() || candidateSet.contains(r) ||
            storage.lookup(r) != r)
          continue;
        Operation *user = *r.getUsers().begin();
        if (isFusibleElementwise(user) && !isa<BroadcastToOp>(user) &&
            user->getNumResults() == 1 &&
            user->getResult(0).getType() == r.getType() &&
            forward.contains(op) == forward.contains(user))
          intermediates.insert(r);
      }
    }
    // With early updates a conv's weight gradient read only by an
    // elementwise op of its shape (its update) is an epilogue group's root
    // (FuseElementwise) when the update's other inputs exist before the
    // gradient or come from single-use elementwise ops of those (weight
    // decay's wd w, momentum's mu v): the gradient is never stored.
    if (earlyUpdate)
      for (Operation *op : ops) {
        auto wgrad = dyn_cast<Conv2dBackwardFilterOp>(op);
        if (!wgrad || !wgrad.getResult().hasOneUse())
          continue;
        Operation *user = *wgrad.getResult().getUsers().begin();
        if (!elementwise(user) || user->getNumResults() != 1 ||
            user->getResult(0).getType() != wgrad.getType())
          continue;
        auto ready = [&](Value v) {
          Operation *def = v.getDefiningOp();
          return !def || position[def] < position[op];
        };
        if (llvm::all_of(user->getOperands(), [&](Value v) {
              if (v == wgrad.getResult() || ready(v))
                return true;
              Operation *def = v.getDefiningOp();
              return elementwise(def) && v.hasOneUse() &&
                     llvm::all_of(def->getOperands(), ready);
            }))
          intermediates.insert(wgrad.getResult());
      }
    // Backward copies of forward values (the activations FuseConvBnRelu's
    // rematerialisation recomputes for the backward pass): a backward op
    // with a forward op's name, attributes and (copies of its) operands.
    std::map<std::string, Operation *> byKey;
    llvm::DenseMap<Value, Value> original; // backward copy -> forward value
    auto keyOf = [&](Operation *op, bool canonical) {
      return recomputeKey(op, [&](Value v) {
        Value c = canonical ? original.lookup(v) : Value();
        return c ? c : v;
      });
    };
    for (Operation *op : ops) {
      if (op->getNumRegions() || isa<ConstantOp>(op) || !isMemoryEffectFree(op))
        continue;
      if (forward.contains(op)) {
        byKey.emplace(keyOf(op, false), op);
        continue;
      }
      auto it = byKey.find(keyOf(op, true));
      if (it == byKey.end())
        continue;
      for (auto [b, f] :
           llvm::zip(op->getResults(), it->second->getResults())) {
        original[b] = f;
        copies[f].push_back(b);
      }
    }
  }

  func::FuncOp func;
  std::vector<Operation *> ops;
  llvm::DenseMap<Operation *, unsigned> position;
  llvm::DenseSet<Operation *> forward;
  llvm::DenseMap<Value, Value> storage;
  llvm::DenseMap<Value, SmallVector<Value>> views;
  struct Uses {
    unsigned lastAll, lastForward, firstBackward;
  };
  llvm::DenseMap<Value, Uses> uses;
  llvm::DenseSet<Value> candidateSet;
  llvm::DenseSet<Value> inPlaceUpdates;
  std::vector<Candidate> candidates;

  bool isBackwardUser(Operation *user) {
    return !forward.contains(user) && !isa<func::ReturnOp>(user);
  }
  /// Whether a storage's value or one of its views is read backward.
  bool hasBackwardUse(Value s) {
    return uses.lookup(s).firstBackward < ops.size();
  }

  bool isCandidate(Value s) { return candidateSet.contains(s); }

  /// The bytes a value takes in the estimate (0 for an intermediate of an
  /// elementwise chain).
  int64_t bytes(Value v) {
    return intermediates.contains(v) ? 0 : tensorBytes(v);
  }
  llvm::DenseSet<Value> intermediates;
  /// Forward value -> its backward copies, in program order.
  llvm::DenseMap<Value, SmallVector<Value, 1>> copies;

  /// A backward copy of forward value `u` that is live anyway at position
  /// `at` (defined before it, read at or after it), or null.
  Value liveCopy(Value u, unsigned at) {
    for (Value b : copies.lookup(u)) {
      Operation *def = b.getDefiningOp();
      if (position[def] < at && storage.lookup(b) == b &&
          lastUse(b, false) >= at)
        return b;
    }
    return Value();
  }

  /// A deterministic order of values: later definitions first.
  bool later(Value a, Value b) {
    unsigned pa = position[a.getDefiningOp()], pb = position[b.getDefiningOp()];
    if (pa != pb)
      return pa > pb;
    return cast<OpResult>(a).getResultNumber() >
           cast<OpResult>(b).getResultNumber();
  }

  int64_t savedBytes(const llvm::DenseSet<Value> &dropped) {
    int64_t total = 0;
    for (const Candidate &c : candidates)
      if (!dropped.contains(c.value))
        total += c.bytes;
    return total;
  }

  /// One recomputation: the ops cloned, in order, right before the first
  /// backward reader of `values` (the dropped values it recomputes for
  /// their backward readers).
  struct Recompute {
    SmallVector<Value> values;
    unsigned at; // position of the first backward reader
    SmallVector<Operation *> ops;
    /// Fresh: forward values read from a backward copy live anyway.
    SmallVector<std::pair<Value, Value>> copies;
  };

  /// How recomputations share work. Shared (objective=saved): a
  /// recomputation stops at every value recomputed before it, which its
  /// backward readers then reuse (Chen et al.'s segments: a run of dropped
  /// values is recomputed once, and stays live until its own backward
  /// readers, as if saved). Fresh (objective=peak): the dropped values
  /// first read backward by the same op are recomputed together from the
  /// saved values, and nothing else recomputed is kept: a value recomputed
  /// on the way to another is recomputed again for its own readers, so
  /// only what the backward pass is about to read is live. Either way the
  /// cost (the FLOPs of the recomputed ops) only grows when more values
  /// are dropped, which the exact search relies on.
  bool fresh = false;
  /// Fresh: dropped values that, once recomputed (for their own readers or
  /// on the way to another value), stay live until their last backward
  /// reader, and later recomputations start from them: fewer FLOPs for more
  /// memory between (RematPass::retainRecomputed chooses them).
  llvm::DenseSet<Value> retained;
  /// Whether `op` makes a retained value (then all its results are kept
  /// with it: later recomputations read them as they are).
  bool makesRetained(Operation *op) {
    return llvm::any_of(op->getResults(),
                        [&](Value r) { return retained.contains(r); });
  }

  /// The recomputations of `dropped`, in the order of their first backward
  /// readers.
  SmallVector<Recompute> plan(const llvm::DenseSet<Value> &dropped) {
    SmallVector<Value> order(dropped.begin(), dropped.end());
    llvm::sort(order, [&](Value a, Value b) {
      unsigned fa = firstBackwardUse(a), fb = firstBackwardUse(b);
      if (fa != fb)
        return fa < fb;
      return later(a, b);
    });
    SmallVector<Recompute> result;
    llvm::DenseSet<Operation *> done; // ops recomputed so far (shared)
    // Fresh: the ops of retained values recomputed by an earlier group.
    llvm::DenseSet<Operation *> kept;
    auto keepRetained = [&](const Recompute &rc) {
      for (Operation *op : rc.ops)
        if (makesRetained(op))
          kept.insert(op);
    };
    for (Value v : order) {
      unsigned at = firstBackwardUse(v);
      if (at >= ops.size())
        continue; // never read backward
      bool join = fresh && !result.empty() && result.back().at == at;
      if (fresh && !join) {
        if (!result.empty())
          keepRetained(result.back());
        done.clear(); // a new group: nothing recomputed yet
        done.insert(kept.begin(), kept.end());
      }
      if ((fresh ? kept : done).contains(v.getDefiningOp()))
        continue; // recomputed earlier (shared, or retained): reused
      // The cone: back to saved values, arguments, constants, values
      // recomputed before, and (fresh) backward copies live anyway.
      llvm::SetVector<Operation *> c;
      SmallVector<std::pair<Value, Value>> reused;
      SmallVector<Value> stack{v};
      llvm::DenseSet<Value> seen;
      while (!stack.empty()) {
        Value u = stack.pop_back_val();
        if (!seen.insert(u).second)
          continue;
        Operation *def = u.getDefiningOp();
        if (!def || isa<ConstantOp>(def) || done.contains(def))
          continue;
        Value st = storage.lookup(u);
        if (u != v && isCandidate(st) && !dropped.contains(st))
          continue;
        if (fresh && u != v && !dropped.contains(st) && forward.contains(def))
          if (Value b = liveCopy(u, at)) {
            reused.push_back({u, b});
            continue;
          }
        c.insert(def);
        llvm::append_range(stack, def->getOperands());
      }
      // The views of `v` the backward pass reads.
      for (Value x : views.lookup(v))
        if (x != v && !done.contains(x.getDefiningOp()))
          c.insert(x.getDefiningOp());
      for (Operation *op : c)
        done.insert(op);
      if (join) {
        Recompute &rc = result.back();
        rc.values.push_back(v);
        rc.ops.append(c.begin(), c.end());
        rc.copies.append(reused.begin(), reused.end());
      } else {
        result.push_back(
            {{v}, at, SmallVector<Operation *>(c.begin(), c.end()), reused});
      }
      llvm::sort(result.back().ops, [&](Operation *a, Operation *b) {
        return position[a] < position[b];
      });
    }
    return result;
  }

  /// Estimated peak bytes and extra FLOPs with `dropped` recomputed. Time
  /// runs in steps of kStride per op, so that a recomputation runs its ops
  /// one by one just before the op that reads it.
  static constexpr int64_t kStride = 4096;
  std::pair<int64_t, double> evaluate(const llvm::DenseSet<Value> &dropped) {
    std::map<int64_t, int64_t> delta;
    double flops = 0;
    auto live = [&](int64_t from, int64_t to, int64_t bytes) {
      delta[from] += bytes;
      delta[to + 1] -= bytes;
    };
    auto at = [](unsigned position) { return int64_t(position) * kStride; };
    for (BlockArgument a : func.getBody().front().getArguments()) {
      bool arena = !func.getArgAttr(a.getArgNumber(), kParamAttr) &&
                   !func.getArgAttr(a.getArgNumber(), kStateAttr);
      if (arena)
        live(0, at(lastUse(a, false)), tensorBytes(a));
    }
    // Original values: dropped ones live for their forward readers only.
    for (Operation *op : ops)
      for (Value r : op->getResults()) {
        if (storage.lookup(r) != r || isa<ConstantOp>(op) ||
            inPlaceUpdates.contains(r))
          continue;
        live(at(position[op]), at(lastUse(r, dropped.contains(r))), bytes(r));
      }
    SmallVector<Recompute> recomputes = plan(dropped);
    // When each recomputed op runs: its recomputation's ops one by one
    // just before the op that reads it. Shared: one map for all (a value
    // is read by later recomputations); fresh: one per recomputation.
    llvm::DenseMap<Operation *, int64_t> shared;
    SmallVector<llvm::DenseMap<Operation *, int64_t>> own(recomputes.size());
    for (auto [i, rc] : llvm::enumerate(recomputes)) {
      int64_t start = at(rc.at) - int64_t(rc.ops.size()) - 1;
      for (auto [k, op] : llvm::enumerate(rc.ops))
        (fresh ? own[i] : shared)[op] = start + int64_t(k);
    }
    // Retained values (and the other results of their ops) live until the
    // last recomputation that reads them.
    llvm::DenseMap<Value, int64_t> retainedEnd;
    for (auto [i, rc] : llvm::enumerate(recomputes))
      for (Operation *op : rc.ops)
        for (Value x : op->getOperands())
          if (Operation *def = x.getDefiningOp(); def && makesRetained(def))
            retainedEnd[x] = std::max(retainedEnd.lookup(x), own[i][op]);
    for (auto [i, rc] : llvm::enumerate(recomputes)) {
      auto &when = fresh ? own[i] : shared;
      llvm::DenseSet<Value> targets(rc.values.begin(), rc.values.end());
      for (Operation *op : rc.ops) {
        flops += flopsOf(op);
        for (Value r : op->getResults()) {
          if (storage.lookup(r) != r)
            continue;
          // Live until its last reader among the recomputed ops, and, for
          // a value recomputed for its backward readers, until the last.
          int64_t end = when[op];
          for (Value x : views.lookup(r))
            for (Operation *u : x.getUsers())
              if (auto w = when.find(u); w != when.end())
                end = std::max(end, w->second);
          if (dropped.contains(r) &&
              (!fresh || targets.contains(r) || makesRetained(op)))
            end = std::max(end, at(lastUse(r, false)));
          if (fresh && makesRetained(op))
            end = std::max(end, retainedEnd.lookup(r));
          live(when[op], end, bytes(r));
        }
      }
    }
    int64_t peak = 0, now = 0;
    for (auto &[t, d] : delta) {
      now += d;
      peak = std::max(peak, now);
    }
    return {peak, flops};
  }

  /// A lower bound of the peak of every dropped set that keeps the values
  /// of `kept` and may drop any other candidate: each value counted while
  /// it is live whatever is dropped (a dropped value still lives for its
  /// forward readers, and again from its first backward reader to its last
  /// reader, recomputed), the kept ones also in between. Recomputations'
  /// intermediates only add to it, so evaluate() is never below it.
  int64_t peakBound(ArrayRef<Value> kept) {
    if (base.empty()) {
      base.assign(ops.size() + 2, 0);
      auto live = [&](unsigned from, unsigned to, int64_t bytes) {
        if (from > to)
          return;
        base[from] += bytes;
        base[to + 1] -= bytes;
      };
      for (BlockArgument a : func.getBody().front().getArguments())
        if (!func.getArgAttr(a.getArgNumber(), kParamAttr) &&
            !func.getArgAttr(a.getArgNumber(), kStateAttr))
          live(0, lastUse(a, false), tensorBytes(a));
      for (Operation *op : ops)
        for (Value r : op->getResults()) {
          if (storage.lookup(r) != r || isa<ConstantOp>(op) ||
              inPlaceUpdates.contains(r))
            continue;
          if (!isCandidate(r)) {
            live(position[op], lastUse(r, false), bytes(r));
            continue;
          }
          unsigned fwd = lastUse(r, true);
          unsigned bwd = std::max(firstBackwardUse(r), fwd + 1);
          live(position[op], fwd, tensorBytes(r));
          live(bwd, lastUse(r, false), tensorBytes(r));
          gap[r] = {fwd + 1, bwd - 1};
        }
      for (size_t i = 1; i < base.size(); ++i)
        base[i] += base[i - 1];
    }
    std::vector<int64_t> now = base;
    for (Value v : kept) {
      auto [from, to] = gap.lookup(v);
      for (unsigned t = from; t <= to && t < now.size(); ++t)
        now[t] += tensorBytes(v);
    }
    return *std::max_element(now.begin(), now.end());
  }
  std::vector<int64_t> base;
  llvm::DenseMap<Value, std::pair<unsigned, unsigned>> gap;

  unsigned lastUse(Value s, bool forwardOnly) {
    return forwardOnly ? uses.lookup(s).lastForward : uses.lookup(s).lastAll;
  }
  unsigned firstBackwardUse(Value s) { return uses.lookup(s).firstBackward; }

  /// Recomputes the dropped values (and their views) for the backward
  /// pass, as planned.
  void apply(const llvm::DenseSet<Value> &dropped) {
    SmallVector<Recompute> recomputes = plan(dropped);
    // Original -> recomputed: every value (shared) or the retained ones
    // (fresh), which later recomputations read.
    llvm::DenseMap<Value, Value> clones;
    for (const Recompute &rc : recomputes) {
      OpBuilder b(ops[rc.at]);
      IRMapping map;
      for (auto &[orig, clone] : clones)
        map.map(orig, clone);
      for (auto &[u, b] : rc.copies)
        map.map(u, b);
      for (Operation *op : rc.ops) {
        Operation *clone = b.clone(*op, map);
        for (NamedAttribute a : llvm::to_vector(clone->getAttrs()))
          if (a.getName().getValue().starts_with("d2l."))
            clone->removeAttr(a.getName());
        for (auto [o, c] : llvm::zip(op->getResults(), clone->getResults()))
          if (!fresh || makesRetained(op))
            clones[o] = c;
      }
      if (!fresh)
        continue;
      // Fresh: this recomputation's values, for their backward readers.
      for (Value v : rc.values)
        for (Value x : views.lookup(v))
          if (Value c = map.lookupOrNull(x))
            for (OpOperand &use : llvm::make_early_inc_range(x.getUses()))
              if (isBackwardUser(use.getOwner()) &&
                  c.getDefiningOp()->isBeforeInBlock(use.getOwner()))
                use.set(c);
    }
    // Backward readers of dropped values (and their views) read the
    // recomputed ones (fresh: the retained ones, the others are done).
    for (Value v : dropped)
      for (Value x : views.lookup(v)) {
        Value c = clones.lookup(x);
        if (!c)
          continue;
        for (OpOperand &use : llvm::make_early_inc_range(x.getUses()))
          if (isBackwardUser(use.getOwner()) &&
              c.getDefiningOp()->isBeforeInBlock(use.getOwner()))
            use.set(c);
      }
  }
};

/// Branch and bound over the candidates, largest first: each is dropped or
/// kept. A node is cut when its extra FLOPs already reach the best choice's
/// (dropping more never costs less: the recomputations only grow), when its
/// measure fits the budget (the cheapest choice below it), or when even
/// dropping every undecided value cannot fit (Planner::peakBound, or the
/// kept bytes for objective=saved). Exhausting the tree proves the best
/// choice optimal under the planner's model of the step.
struct BranchAndBound {
  using Measure =
      std::function<std::pair<int64_t, double>(const llvm::DenseSet<Value> &)>;
  BranchAndBound(Planner &p, Measure measure, int64_t target,
                 bool savedObjective)
      : p(p), measure(std::move(measure)), target(target),
        savedObjective(savedObjective) {}

  Planner &p;
  Measure measure;
  int64_t target;
  bool savedObjective;
  /// Evaluations before giving up (each costs a liveness simulation:
  /// about 0.4 ms on GoogLeNet, whose 79 saved values exhaust it).
  static constexpr uint64_t kLimit = 30000;
  uint64_t limit = kLimit;

  llvm::DenseSet<Value> best;
  double bestFlops = INFINITY;
  bool found = false, complete = true;
  uint64_t evaluations = 0;
  int64_t lowest = std::numeric_limits<int64_t>::max();

  void seed(const llvm::DenseSet<Value> &d, double flops) {
    best = d;
    bestFlops = flops;
    found = true;
  }

  /// The lowest measure of every choice, whatever its FLOPs (the smallest
  /// feasible budget, when the budget cannot be met): the same tree, cut
  /// where the bound reaches the lowest measure found.
  void runLowest() {
    if (order.empty())
      run(/*search=*/false);
    auto [m, flops] = measure(dropped);
    (void)flops;
    ++evaluations;
    visitLowest(0, m);
  }

  void run(bool search = true) {
    order.clear();
    for (const Candidate &c : p.candidates)
      order.push_back(c);
    llvm::stable_sort(order, [&](const Candidate &a, const Candidate &b) {
      return a.bytes > b.bytes;
    });
    if (!search)
      return;
    auto [m, flops] = measure(dropped);
    ++evaluations;
    visit(0, m, flops);
  }

private:
  SmallVector<Candidate> order;
  llvm::DenseSet<Value> dropped;
  SmallVector<Value> kept;
  int64_t keptBytes = 0;

  int64_t bound() { return savedObjective ? keptBytes : p.peakBound(kept); }

  void visitLowest(size_t i, int64_t m) {
    lowest = std::min(lowest, m);
    if (i == order.size() || bound() >= lowest)
      return;
    branch(
        i, [&](int64_t m1, double) { visitLowest(i + 1, m1); },
        [&] { visitLowest(i + 1, m); });
  }

  /// `m` and `flops`: the measure of `dropped`, the undecided kept.
  void visit(size_t i, int64_t m, double flops) {
    lowest = std::min(lowest, m);
    if (flops >= bestFlops)
      return;
    if (m <= target) {
      seed(dropped, flops);
      return;
    }
    if (i == order.size())
      return;
    if (bound() > target)
      return;
    branch(
        i, [&](int64_t m1, double f1) { visit(i + 1, m1, f1); },
        [&] { visit(i + 1, m, flops); });
  }

  /// Decides candidate `i`: dropped (`drop` gets the new measure and
  /// FLOPs), then kept; or stops the search at the evaluation limit.
  template <typename Drop, typename Keep>
  void branch(size_t i, Drop drop, Keep keep) {
    if (evaluations >= limit) {
      complete = false;
      return;
    }
    const Candidate &c = order[i];
    dropped.insert(c.value);
    auto [m1, f1] = measure(dropped);
    ++evaluations;
    drop(m1, f1);
    dropped.erase(c.value);
    kept.push_back(c.value);
    keptBytes += c.bytes;
    keep();
    kept.pop_back();
    keptBytes -= c.bytes;
  }
};

struct RematPass : impl::D2LRematBase<RematPass> {
  using D2LRematBase::D2LRematBase;

  /// Errors name the pass and the function (the function's location would
  /// print the whole signature).
  static InFlightDiagnostic error(func::FuncOp func) {
    InFlightDiagnostic d = mlir::emitError(UnknownLoc::get(func.getContext()));
    d << "--d2l-remat on @" << func.getSymName() << ": ";
    return d;
  }

  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (!func.isExternal() && failed(run(func)))
        return signalPassFailure();
  }

  /// The branch and bound's evaluations on the step with its activations
  /// saved: its many more candidates (ResNet-18: 69) exhaust the usual
  /// limit without improving on greedy's choice there, at up to 2 ms an
  /// evaluation (FCN), so it stops sooner and the local search goes on.
  static constexpr uint64_t kWideLimit = 3000;

  /// What one search found.
  struct Outcome {
    bool found = false;
    /// Proven optimal (found), or proven infeasible (not found).
    bool complete = false, optimal = false, lowestProven = false;
    llvm::DenseSet<Value> best;
    double flops = 0;
    int64_t lowest = 0;
    uint64_t evaluations = 0;
    std::string used;
  };

  /// The cheapest choice of `p`'s candidates whose measure fits `target`,
  /// by `policy`; `measure0` is the measure without recomputation.
  FailureOr<Outcome> search(func::FuncOp func, Planner &p,
                            const BranchAndBound::Measure &measure,
                            int64_t measure0, int64_t target,
                            bool savedObjective, uint64_t limit) {
    Outcome o;
    o.used = policy == "auto" ? std::string("exact") : std::string(policy);
    o.lowest = measure0;
    if (measure0 <= target) {
      o.found = o.complete = o.optimal = true;
      o.flops = measure({}).second;
      return o;
    }
    llvm::DenseSet<Value> &best = o.best;
    if (policy == "exhaustive") {
      if (p.candidates.size() > 20)
        return error(func) << "policy=exhaustive handles up to 20 saved "
                              "values; this step has "
                           << p.candidates.size() << " (use policy=exact)";
      double bestFlops = INFINITY;
      size_t n = p.candidates.size();
      for (uint64_t mask = 1; mask < (uint64_t(1) << n); ++mask) {
        llvm::DenseSet<Value> d;
        for (size_t i = 0; i < n; ++i)
          if (mask >> i & 1)
            d.insert(p.candidates[i].value);
        auto [peak, flops] = measure(d);
        ++o.evaluations;
        o.lowest = std::min(o.lowest, peak);
        if (peak <= target && flops < bestFlops) {
          bestFlops = flops;
          best = d;
          o.found = true;
        }
      }
      o.flops = bestFlops;
      o.optimal = o.found;
      o.complete = true;
      return o;
    }
    // Greedy: drop the value that lowers the peak most per extra FLOP,
    // while the peak goes down. Also the first solution of exact.
    int64_t peak = measure0;
    double flops = measure({}).second;
    while (peak > target) {
      int bestIndex = -1;
      double bestScore = 0;
      int64_t bestPeak = peak;
      double bestFlops = flops;
      for (auto [i, c] : llvm::enumerate(p.candidates)) {
        if (best.contains(c.value))
          continue;
        llvm::DenseSet<Value> d = best;
        d.insert(c.value);
        auto [pk, fl] = measure(d);
        ++o.evaluations;
        if (pk >= peak)
          continue;
        double score = double(peak - pk) / (fl - flops + 1.0);
        if (score > bestScore) {
          bestScore = score;
          bestIndex = int(i);
          bestPeak = pk;
          bestFlops = fl;
        }
      }
      if (bestIndex < 0)
        break;
      best.insert(p.candidates[bestIndex].value);
      peak = bestPeak;
      flops = bestFlops;
    }
    o.lowest = peak;
    o.found = peak <= target;
    o.flops = flops;
    if (!o.found)
      best.clear();
    if (policy != "exact" && policy != "auto")
      return o;
    BranchAndBound bb(p, measure, target, savedObjective);
    bb.limit = limit;
    if (o.found)
      bb.seed(best, flops);
    bb.run();
    o.evaluations += bb.evaluations;
    o.lowest = std::min(o.lowest, bb.lowest);
    if (bb.found) {
      best = bb.best;
      o.flops = bb.bestFlops;
      o.found = true;
    }
    o.complete = bb.complete;
    o.optimal = bb.complete && o.found;
    if (o.found && !o.optimal)
      o.evaluations += improve(p, measure, target, best, o.flops);
    if (!o.found) {
      // The smallest feasible budget, proven when the search ends.
      BranchAndBound low(p, measure, target, savedObjective);
      low.limit = limit;
      low.lowest = o.lowest;
      low.runLowest();
      o.evaluations += low.evaluations;
      o.lowest = low.lowest;
      o.lowestProven = low.complete;
    }
    return o;
  }

  /// Local search when the branch and bound stopped before proving its
  /// choice optimal: from that choice, and from dropping every candidate,
  /// keeps the dropped value whose keeping saves the most FLOPs and still
  /// fits, or else keeps one and drops another (the first such swap that
  /// fits at fewer FLOPs), until no move is left; the cheaper end wins.
  /// Returns the evaluations.
  static uint64_t improve(Planner &p, const BranchAndBound::Measure &measure,
                          int64_t target, llvm::DenseSet<Value> &best,
                          double &flops) {
    uint64_t evaluations = 0;
    // The FLOPs of `d` if it fits, else infinity.
    auto cost = [&](const llvm::DenseSet<Value> &d) {
      auto [m, f] = measure(d);
      ++evaluations;
      return m <= target ? f : INFINITY;
    };
    auto descend = [&](llvm::DenseSet<Value> cur, double curFlops) {
      for (;;) {
        const Candidate *keep = nullptr;
        double keepFlops = curFlops;
        for (const Candidate &c : p.candidates) {
          if (!cur.contains(c.value))
            continue;
          llvm::DenseSet<Value> d = cur;
          d.erase(c.value);
          if (double f = cost(d); f < keepFlops)
            keep = &c, keepFlops = f;
        }
        if (keep) {
          cur.erase(keep->value);
          curFlops = keepFlops;
          continue;
        }
        bool moved = false;
        for (const Candidate &c : p.candidates) {
          if (!cur.contains(c.value))
            continue;
          for (const Candidate &k : p.candidates) {
            if (cur.contains(k.value))
              continue;
            llvm::DenseSet<Value> d = cur;
            d.erase(c.value);
            d.insert(k.value);
            if (double f = cost(d); f < curFlops) {
              cur = std::move(d);
              curFlops = f;
              moved = true;
              break;
            }
          }
          if (moved)
            break;
        }
        if (!moved)
          return std::make_pair(cur, curFlops);
      }
    };
    llvm::DenseSet<Value> all;
    for (const Candidate &c : p.candidates)
      all.insert(c.value);
    for (auto [start, f] :
         {std::make_pair(best, flops), std::make_pair(all, cost(all))}) {
      if (f == INFINITY)
        continue;
      auto [d, df] = descend(start, f);
      if (df < flops) {
        best = d;
        flops = df;
      }
    }
    return evaluations;
  }

  /// After the search (objective peak, fresh recomputations): which
  /// dropped values to keep once recomputed, until their last backward
  /// reader, so that later recomputations start from them instead of
  /// recomputing them again. Greedy: the value that saves the most FLOPs
  /// while the step still fits `target`, until none does (a value with
  /// views other than itself stays fresh: its views' readers would need
  /// their own recomputation). Sets q.retained; returns the evaluations
  /// and the FLOPs saved.
  static std::pair<uint64_t, double>
  retainRecomputed(Planner &q, const llvm::DenseSet<Value> &dropped,
                   int64_t target) {
    uint64_t evaluations = 0;
    double before = q.evaluate(dropped).second, now = before;
    for (;;) {
      Value pick;
      double pickFlops = now;
      for (const Candidate &c : q.candidates) {
        Value v = c.value;
        if (!dropped.contains(v) || q.retained.contains(v) ||
            q.views.lookup(v).size() > 1)
          continue;
        q.retained.insert(v);
        auto [m, f] = q.evaluate(dropped);
        ++evaluations;
        q.retained.erase(v);
        if (m <= target && f < pickFlops)
          pick = v, pickFlops = f;
      }
      if (!pick)
        break;
      q.retained.insert(pick);
      now = pickFlops;
    }
    return {evaluations, before - now};
  }

  LogicalResult run(func::FuncOp func) {
    Block &body = func.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    if (ret.getNumOperands() == 0)
      return success();
    auto loss = dyn_cast<RankedTensorType>(ret.getOperand(0).getType());
    if (!loss || loss.getRank() != 0)
      return success(); // not a training step
    if (policy != "auto" && policy != "exact" && policy != "greedy" &&
        policy != "sqrt" && policy != "exhaustive")
      return error(func)
             << "unknown policy '" << policy
             << "' (expected auto, exact, greedy, sqrt or exhaustive)";
    if (objective != "peak" && objective != "saved")
      return error(func) << "unknown objective '" << objective
                         << "' (expected peak or saved)";
    bool savedObjective = objective == "saved";
    Planner p(func, earlyUpdate);
    p.fresh = !savedObjective;
    llvm::DenseSet<Value> none;
    // What the budget bounds: the step's peak, or the saved bytes.
    auto measureOf = [savedObjective](Planner &q, double extra) {
      return [&q, savedObjective, extra](const llvm::DenseSet<Value> &d) {
        auto [peak, flops] = q.evaluate(d);
        return std::pair<int64_t, double>(
            savedObjective ? q.savedBytes(d) : peak, flops + extra);
      };
    };
    BranchAndBound::Measure measure = measureOf(p, 0);
    int64_t peak0 = measure(none).first;
    int64_t saved0 = 0;
    for (const Candidate &c : p.candidates)
      saved0 += c.bytes;
    // The budget: bytes, or a fraction of the peak without recomputation.
    double b = 0;
    if (!budget.empty() && (StringRef(budget).getAsDouble(b) || b < 0))
      return error(func) << "budget '" << budget
                         << "' is not a byte count or a fraction";
    int64_t target =
        b < 1 && policy != "sqrt" ? int64_t(b * double(peak0)) : int64_t(b);
    if (budget.empty() && policy != "sqrt")
      return error(func) << "give budget=BYTES (or a fraction < 1), or "
                            "policy=sqrt";
    // What the searches aim at: a peak budget less the margin by which a
    // planned arena exceeded the estimate (d2lc's pipeline re-plans with
    // it, see Pipeline.cpp).
    int64_t slack = savedObjective ? 0 : int64_t(margin);
    int64_t goal = target - slack;
    auto slackNote = [&]() {
      return slack ? " (less a margin of " + std::to_string(slack) +
                         " bytes by which the planned arena exceeded the "
                         "estimate)"
                   : std::string();
    };

    // The variants of the step the searches choose from: the step as it
    // is, and with its stem's backward fused (FuseStemBackward.cpp), the
    // cheaper fit winning; when neither fits a peak budget, the step (with
    // its stem fused, if it fuses) with the activations FuseConvBnRelu
    // recomputes for the backward pass saved instead (restoreActivations),
    // so that the search may keep a block's output and recompute the conv
    // outputs it came from, which lowers the peak where the kept conv
    // outputs bound it (a wider search: more candidates, on ResNet-18 not
    // proven optimal).
    struct Variant {
      func::FuncOp func; // a clone of the step, erased at the end
      std::unique_ptr<Planner> planner;
      double extra = 0; // the FLOPs the rewrite adds to the step
      bool stemFused = false, activationsSaved = false;
    };
    SmallVector<std::unique_ptr<Variant>> variants;
    auto dropVariants = llvm::make_scope_exit([&] {
      for (auto &v : variants) {
        v->planner.reset();
        v->func.erase();
      }
    });
    auto makeVariant = [&](bool stem, bool activations) -> Variant * {
      auto v = std::make_unique<Variant>();
      v->func = func.clone();
      double before = totalFlops(v->func);
      if ((activations && !restoreActivations(v->func)) ||
          (stem && !fuseStemBackward(v->func))) {
        v->func.erase();
        return nullptr;
      }
      v->extra = totalFlops(v->func) - before;
      v->stemFused = stem;
      v->activationsSaved = activations;
      v->planner = std::make_unique<Planner>(v->func, earlyUpdate);
      v->planner->fresh = p.fresh;
      variants.push_back(std::move(v));
      return variants.back().get();
    };

    Outcome chosen;
    chosen.found = true;
    chosen.used = std::string(policy);
    Variant *used = nullptr; // null: the step as it is
    if (policy == "sqrt") {
      // Keep every k-th candidate in forward order, k = ceil(sqrt(n)).
      size_t n = p.candidates.size();
      size_t k = size_t(std::ceil(std::sqrt(double(n))));
      for (size_t i = 0; i < n; ++i)
        if (k > 0 && (i + 1) % k != 0)
          chosen.best.insert(p.candidates[i].value);
    } else if (peak0 > goal) {
      auto plain = search(func, p, measure, peak0, goal, savedObjective,
                          BranchAndBound::kLimit);
      if (failed(plain))
        return failure();
      chosen = *plain;
      // Every search's outcome folded into `chosen`: the cheapest fit wins;
      // it is optimal if every other search was complete, and the lowest
      // measure is proven if every search proved its own.
      bool othersComplete = true;
      auto consider = [&](Variant *v) -> LogicalResult {
        BranchAndBound::Measure m = measureOf(*v->planner, v->extra);
        auto o =
            search(func, *v->planner, m, m(none).first, goal, savedObjective,
                   v->activationsSaved ? kWideLimit : BranchAndBound::kLimit);
        if (failed(o))
          return failure();
        bool wins = o->found && (!chosen.found || o->flops < chosen.flops);
        Outcome &loser = wins ? chosen : *o;
        othersComplete = othersComplete && loser.complete;
        int64_t lowest = std::min(chosen.lowest, o->lowest);
        bool lowestProven = chosen.lowestProven && o->lowestProven;
        uint64_t evaluations = chosen.evaluations + o->evaluations;
        if (wins) {
          chosen = *o;
          used = v;
        }
        chosen.lowest = lowest;
        chosen.lowestProven = lowestProven;
        chosen.evaluations = evaluations;
        return success();
      };
      bool stemFuses = false;
      if (Variant *v = makeVariant(/*stem=*/true, /*activations=*/false)) {
        stemFuses = true;
        if (failed(consider(v)))
          return failure();
      }
      // One wider search, with the stem fused where it fuses (its conv
      // output would otherwise bound so tight a peak). Only a peak budget
      // gets here: dropping every candidate meets any saved-bytes budget.
      if (!chosen.found)
        if (Variant *v = makeVariant(stemFuses, /*activations=*/true))
          if (failed(consider(v)))
            return failure();
      chosen.optimal = chosen.found && chosen.optimal && othersComplete;
      if (!chosen.found && chosen.lowestProven)
        return error(func) << "the budget of " << target << " bytes"
                           << slackNote()
                           << " cannot be met: the smallest feasible "
                              "budget is "
                           << chosen.lowest + slack << " bytes (the lowest "
                           << (savedObjective ? "saved bytes" : "peak")
                           << " of every choice of values to recompute, "
                              "proven by the exact search; without "
                              "recomputation the step needs "
                           << peak0 << ")";
      if (!chosen.found)
        return error(func) << "the budget of " << target << " bytes"
                           << slackNote() << " cannot be met: the lowest "
                           << (savedObjective ? "saved bytes" : "peak")
                           << " the " << chosen.used << " search reaches is "
                           << chosen.lowest + slack
                           << " bytes, the smallest feasible budget it found "
                              "(without recomputation the step needs "
                           << peak0 << ")";
    }
    const llvm::DenseSet<Value> &best = chosen.best;
    Planner &q = used ? *used->planner : p;
    bool stemFused = used && used->stemFused;
    bool activationsSaved = used && used->activationsSaved;
    double extra = used ? used->extra : 0;
    double retainedFlops = 0;
    if (q.fresh && retain && policy != "sqrt") {
      auto [evaluations, saved] = retainRecomputed(q, best, goal);
      chosen.evaluations += evaluations;
      retainedFlops = saved;
    }
    auto [peak1, flops1] = q.evaluate(best);
    if (savedObjective)
      peak0 = p.evaluate(none).first;
    int64_t saved1 = 0;
    for (const Candidate &c : q.candidates)
      if (!best.contains(c.value))
        saved1 += c.bytes;
    q.apply(best);
    // The chosen variant replaces the step's body.
    if (used)
      func.getBody().takeBody(used->func.getBody());
    Builder bld(func.getContext());
    func->setAttr(
        "d2l.remat",
        bld.getDictionaryAttr(
            {bld.getNamedAttr("policy", bld.getStringAttr(chosen.used)),
             bld.getNamedAttr("budget", bld.getI64IntegerAttr(target)),
             bld.getNamedAttr("margin", bld.getI64IntegerAttr(slack)),
             bld.getNamedAttr("objective", bld.getStringAttr(objective)),
             bld.getNamedAttr(
                 "recomputed",
                 // The stem kernel recomputes its conv output and activation.
                 bld.getI64IntegerAttr(int64_t(best.size()) +
                                       (stemFused ? 2 : 0))),
             bld.getNamedAttr("stem_fused", bld.getBoolAttr(stemFused)),
             bld.getNamedAttr(
                 "retained", bld.getI64IntegerAttr(int64_t(q.retained.size()))),
             bld.getNamedAttr("retained_flops",
                              bld.getF64FloatAttr(retainedFlops)),
             bld.getNamedAttr("activations_saved",
                              bld.getBoolAttr(activationsSaved)),
             bld.getNamedAttr("candidates", bld.getI64IntegerAttr(
                                                int64_t(q.candidates.size()))),
             bld.getNamedAttr("extra_flops",
                              bld.getF64FloatAttr(flops1 + extra)),
             bld.getNamedAttr("peak_before", bld.getI64IntegerAttr(peak0)),
             bld.getNamedAttr("peak_after", bld.getI64IntegerAttr(peak1)),
             bld.getNamedAttr("saved_before", bld.getI64IntegerAttr(saved0)),
             bld.getNamedAttr("saved_after", bld.getI64IntegerAttr(saved1)),
             bld.getNamedAttr("optimal", bld.getBoolAttr(chosen.optimal)),
             bld.getNamedAttr("evaluations", bld.getI64IntegerAttr(int64_t(
                                                 chosen.evaluations)))}));
    markSavedValues(func);
    return success();
  }

  static double totalFlops(func::FuncOp f) {
    double total = 0;
    f.walk([&](Operation *op) {
      if (op->getParentOp() == f.getOperation())
        total += flopsOf(op);
    });
    return total;
  }
};

} // namespace
} // namespace mlir::d2l
