//===- Schedule.cpp - kernels, launch configurations and buffers ----------===//
//
// Decides, for every op of every function, which kernels run (by family, see
// Passes.td), their grids, blocks and tiles, and which buffer holds every
// value, with its kind and lifetime (first and last launch). The CUDA emitter
// prints exactly what is decided here.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Autodiff.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "d2lrt/MemoryPlan.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LSCHEDULE
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"

namespace {

constexpr int64_t kBlock = 256;
/// Elements per thread of the pointwise kernels.
constexpr int64_t kPerThread = 4;

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

int64_t numElements(Value v) {
  return cast<RankedTensorType>(v.getType()).getNumElements();
}

/// GEMM tiles [BM, BN, BK, TY] for an M x N output: 256 threads as TY rows
/// by 256 / TY columns, each computing (BM / TY) x (BN * TY / 256); small M
/// gets short, wide tiles so that fewer rows are wasted.
SmallVector<int64_t> gemmTile(int64_t m, int64_t n) {
  if (m <= 8)
    return {8, n <= 64 ? 32 : 128, 16, 8};
  int64_t bm = m <= 16 ? 16 : (m <= 32 ? 32 : 64);
  int64_t bn = bm <= 32 ? 128 : 64;
  if (n <= 32)
    bn = 32;
  if (n <= 16)
    bn = 16;
  return {bm, bn, 16, 16};
}

/// A kernel parameter: a buffer seen with a type.
struct Arg {
  int64_t id;
  Type type;
};

struct Buffer {
  std::string kind;
  RankedTensorType type;
  int64_t first = INT64_MAX, last = -1;
  std::string name;
  Attribute constant; // for constants
};

class FunctionScheduler {
public:
  FunctionScheduler(func::FuncOp func,
                    std::map<std::string, std::string> &names,
                    int &kernelCounter)
      : func(func), kernelNames(names), kernelCounter(kernelCounter),
        b(func.getContext()) {}

  /// Split-K partial sums' cap under a peak budget.
  static constexpr int64_t kLeanWorkspace = 1 << 20;
  bool leanWorkspace() {
    auto remat = func->getAttrOfType<DictionaryAttr>("d2l.remat");
    auto objective = remat ? remat.getAs<StringAttr>("objective") : nullptr;
    return objective && objective.getValue() == "peak";
  }

  LogicalResult run() {
    Block &body = func.getBody().front();
    classifyValues(body);
    SmallVector<int64_t> argBuffers;
    for (BlockArgument arg : body.getArguments()) {
      unsigned i = arg.getArgNumber();
      std::string kind = func.getArgAttr(i, kParamAttr)   ? "parameter"
                         : func.getArgAttr(i, kStateAttr) ? "state"
                                                          : "input";
      int64_t id = newBuffer(kind, arg.getType(), argumentName(func, i));
      buffers[id].first = -1;
      bufferOf[arg] = id;
      valuesOf[id].push_back(arg);
      argBuffers.push_back(id);
    }
    for (Operation &op : body.without_terminator())
      if (failed(schedule(&op)))
        return failure();
    // Results: returned values live to the end; an alias with another shape
    // is copied into a buffer of its own.
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SmallVector<int64_t> resultBuffers;
    for (Value v : ret.getOperands()) {
      int64_t id = bufferOf.lookup(v);
      if (buffers[id].type != v.getType()) {
        int64_t out = newBuffer("output", v.getType(), "result");
        launch(ret, "copy", "pointwise", v.getType(), {{id, v.getType()}},
               {{out, v.getType()}}, pointwiseGrid(numElements(v)),
               {b.getNamedAttr("per_thread", b.getI64IntegerAttr(kPerThread))});
        id = out;
      }
      resultBuffers.push_back(id);
    }
    for (int64_t id : resultBuffers)
      buffers[id].last = launchCount;
    for (Buffer &buf : buffers)
      if (buf.first == INT64_MAX)
        buf.first = buf.last < 0 ? 0 : buf.last;

    // The arena, planned here once with the runtime's own planner (the
    // runtime checks the plan instead of planning at load time).
    std::vector<d2lrt::PlanRequest> requests;
    std::vector<size_t> arenaIds;
    for (auto [id, buf] : llvm::enumerate(buffers)) {
      if (buf.kind == "parameter" || buf.kind == "state" ||
          buf.kind == "constant")
        continue;
      requests.push_back(
          {uint64_t(buf.type.getNumElements() *
                    ((buf.type.getElementTypeBitWidth() + 7) / 8)),
           int(buf.first), int(buf.last)});
      arenaIds.push_back(id);
    }
    d2lrt::MemoryPlan plan = d2lrt::planMemory(requests);
    std::map<size_t, uint64_t> offsetOf;
    for (auto [k, id] : llvm::enumerate(arenaIds))
      offsetOf[id] = plan.offsets[k];

    SmallVector<Attribute> table;
    for (auto [id, buf] : llvm::enumerate(buffers)) {
      SmallVector<NamedAttribute> fields{
          b.getNamedAttr("id", b.getI64IntegerAttr(int64_t(id))),
          b.getNamedAttr("kind", b.getStringAttr(buf.kind)),
          b.getNamedAttr("type", TypeAttr::get(buf.type)),
          b.getNamedAttr("first", b.getI64IntegerAttr(buf.first)),
          b.getNamedAttr("last", b.getI64IntegerAttr(buf.last)),
          b.getNamedAttr("name", b.getStringAttr(buf.name))};
      if (buf.constant)
        fields.push_back(b.getNamedAttr("value", buf.constant));
      if (offsetOf.count(id))
        fields.push_back(b.getNamedAttr(
            "offset", b.getI64IntegerAttr(int64_t(offsetOf[id]))));
      table.push_back(b.getDictionaryAttr(fields));
    }
    func->setAttr("d2l.arena", b.getI64IntegerAttr(int64_t(plan.arenaBytes)));
    func->setAttr("d2l.buffers", b.getArrayAttr(table));
    func->setAttr("d2l.arg_buffers", b.getDenseI64ArrayAttr(argBuffers));
    func->setAttr("d2l.result_buffers", b.getDenseI64ArrayAttr(resultBuffers));
    return success();
  }

private:
  func::FuncOp func;
  std::map<std::string, std::string> &kernelNames;
  int &kernelCounter;
  Builder b;
  std::vector<Buffer> buffers;
  llvm::DenseMap<Value, int64_t> bufferOf;
  /// The values held by each buffer (a value, its views, in-place results).
  std::map<int64_t, SmallVector<Value>> valuesOf;
  llvm::DenseSet<Operation *> forward;
  llvm::DenseSet<Value> returned;
  /// Returned values that are the new value of a parameter or state
  /// argument (the result carries its name): the argument they update.
  llvm::DenseMap<Value, BlockArgument> updates;
  int64_t launchCount = 0;

  /// Forward ops (what a scalar loss in result 0 depends on) and returned
  /// values, to give buffers their kinds.
  void classifyValues(Block &body) {
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    for (Value v : ret.getOperands())
      returned.insert(v);
    updates = updatedArguments(func);
    auto loss = ret.getNumOperands()
                    ? dyn_cast<RankedTensorType>(ret.getOperand(0).getType())
                    : RankedTensorType();
    if (!loss || loss.getRank() != 0) {
      for (Operation &op : body)
        forward.insert(&op);
      return;
    }
    SmallVector<Value> work{ret.getOperand(0)};
    while (!work.empty()) {
      Operation *def = work.pop_back_val().getDefiningOp();
      if (def && forward.insert(def).second)
        llvm::append_range(work, def->getOperands());
    }
  }

  std::string kindOf(OpResult r) {
    if (returned.contains(r))
      return "output";
    if (auto saved =
            r.getOwner()->getAttrOfType<DenseI64ArrayAttr>("d2l.saved"))
      if (llvm::is_contained(saved.asArrayRef(), int64_t(r.getResultNumber())))
        return "saved";
    return forward.contains(r.getOwner()) ? "activation" : "gradient";
  }

  int64_t newBuffer(StringRef kind, Type type, StringRef name) {
    Buffer buf;
    buf.kind = kind.str();
    buf.type = cast<RankedTensorType>(type);
    buf.name = name.str();
    buffers.push_back(buf);
    return int64_t(buffers.size() - 1);
  }

  int64_t resultBuffer(OpResult r, StringRef name) {
    int64_t id = newBuffer(kindOf(r), r.getType(), name);
    bufferOf[r] = id;
    valuesOf[id].push_back(r);
    return id;
  }

  /// Whether `op` reads nothing of buffer `id` after itself: every value the
  /// buffer holds is used by `op` or by ops before it.
  bool lastReader(Operation *op, int64_t id) {
    return llvm::all_of(valuesOf[id], [&](Value u) {
      return llvm::all_of(u.getUsers(), [&](Operation *user) {
        return user == op || user->isBeforeInBlock(op);
      });
    });
  }

  /// The operand of an elementwise op or an elementwise group (not a GEMM
  /// epilogue) that is the argument `arg` which its result `r` updates,
  /// when the op is the argument's last reader: the update is then written
  /// over the parameter (or momentum) itself, as PyTorch's optimizers do,
  /// and the new value takes no memory of its own.
  std::optional<unsigned> updateInPlace(Operation *op, Value r,
                                        BlockArgument arg) {
    // In a GEMM epilogue (the weight gradient's GEMM followed by the
    // update), the argument must not be an operand of the GEMM itself: each
    // output element is computed, then its epilogue reads the parameter's
    // element and stores over it.
    Operation *root = nullptr;
    if (auto fused = dyn_cast<FusedOp>(op))
      if (fused.getKind() == "epilogue")
        root = &fused.getBlock().front();
    if (!(isFusibleElementwise(op) && !isa<BroadcastToOp>(op)) &&
        !isa<FusedOp>(op))
      return std::nullopt;
    if (!bufferOf.count(arg) || !lastReader(op, bufferOf.lookup(arg)))
      return std::nullopt;
    for (OpOperand &operand : op->getOpOperands()) {
      if (operand.get() != Value(arg) || arg.getType() != r.getType())
        continue;
      if (root &&
          llvm::is_contained(root->getOperands(),
                             Value(cast<FusedOp>(op).getBlock().getArgument(
                                 operand.getOperandNumber()))))
        return std::nullopt;
      return operand.getOperandNumber();
    }
    return std::nullopt;
  }

  /// Per result of a `multi` group (the optimizer's update of every
  /// parameter in one launch), the input it is written over: the parameter
  /// or state it updates, when no other section of the group reads it.
  /// With `oneSection` (an elementwise group with several results: one
  /// thread computes them all for an element) the whole group is a section.
  SmallVector<std::optional<unsigned>> multiInPlace(FusedOp fused,
                                                    bool oneSection = false) {
    SmallVector<std::optional<unsigned>> result(fused.getNumResults());
    SmallVector<SmallVector<unsigned>> sections;
    if (oneSection)
      sections.push_back(llvm::to_vector(
          llvm::seq<unsigned>(0, unsigned(fused.getNumResults()))));
    else
      sections = multiSections(fused);
    for (auto [k, section] : llvm::enumerate(sections))
      for (unsigned r : section) {
        BlockArgument arg = updates.lookup(fused.getResult(r));
        if (!arg)
          continue;
        std::optional<unsigned> j =
            updateInPlace(fused, fused.getResult(r), arg);
        if (!j)
          continue;
        // Only this section may read it (it loads every input before it
        // stores); and no other result of the group writes over it.
        bool alone = true;
        for (auto [k2, other] : llvm::enumerate(sections))
          if (k2 != k)
            for (unsigned r2 : other)
              alone &= !multiInputsOf(fused, r2).contains(*j);
        if (alone && !llvm::is_contained(result, j))
          result[r] = j;
      }
    return result;
  }

  /// The operand whose buffer an elementwise op (or elementwise group) can
  /// write its result into: same type, a transient buffer of the result's
  /// kind (an activation or a gradient, never an argument, a saved value or
  /// a result), and this op the last reader of every value in that buffer.
  /// Each element is read before it is written by the same thread, so the
  /// kernel is correct in place (gradient accumulation, ReLU after an add).
  std::optional<unsigned> inPlaceOperand(Operation *op) {
    if (op->getNumResults() == 1)
      if (auto arg = updates.lookup(op->getResult(0)))
        if (auto k = updateInPlace(op, op->getResult(0), arg))
          return k;
    bool elementwise = isFusibleElementwise(op) && !isa<BroadcastToOp>(op);
    // In an epilogue group, the inputs only the epilogue reads (a GEMM's
    // operands are read everywhere while outputs are stored).
    Operation *root = nullptr;
    if (auto fused = dyn_cast<FusedOp>(op)) {
      elementwise = fused.getKind() == "elementwise";
      if (fused.getKind() == "epilogue") {
        elementwise = true;
        root = &fused.getBlock().front();
      }
    }
    if (!elementwise || op->getNumResults() != 1)
      return std::nullopt;
    OpResult r = op->getResult(0);
    std::string kind = kindOf(r);
    if (kind != "activation" && kind != "gradient")
      return std::nullopt;
    for (OpOperand &operand : op->getOpOperands()) {
      Value v = operand.get();
      if (v.getType() != r.getType() || !bufferOf.count(v))
        continue;
      if (root) {
        BlockArgument arg = cast<FusedOp>(op).getBlock().getArgument(
            operand.getOperandNumber());
        if (llvm::is_contained(root->getOperands(), Value(arg)))
          continue;
      }
      int64_t id = bufferOf.lookup(v);
      if (buffers[id].kind != kind)
        continue;
      if (lastReader(op, id))
        return operand.getOperandNumber();
    }
    return std::nullopt;
  }

  /// BatchNorm's backward kernels (bn_act_bwd, bn_bwd_apply) read each
  /// element of the incoming gradient once, then write the input's gradient
  /// at the same element from the same thread: they can write it over the
  /// incoming gradient when this op is its last reader, as PyTorch's
  /// in-place activated BatchNorm does.
  std::optional<unsigned> normBackwardInPlace(Operation *op) {
    if (!isa<BatchNormActBackwardOp, BatchNormBackwardOp>(op))
      return std::nullopt;
    Value dy = op->getOperand(0);
    OpResult dx = op->getResult(0);
    if (dy.getType() != dx.getType() || !bufferOf.count(dy) ||
        kindOf(dx) != "gradient")
      return std::nullopt;
    int64_t id = bufferOf.lookup(dy);
    if (buffers[id].kind != "gradient" || !lastReader(op, id))
      return std::nullopt;
    return 0u;
  }

  int64_t workspace(Type type, StringRef name) {
    return newBuffer("workspace", type, name);
  }

  SmallVector<int64_t, 3> pointwiseGrid(int64_t n) {
    return {std::max<int64_t>(1, ceilDiv(n, kBlock * kPerThread)), 1, 1};
  }
  SmallVector<int64_t, 3> threadGrid(int64_t n) {
    return {std::max<int64_t>(1, ceilDiv(n, kBlock)), 1, 1};
  }

  /// Records one launch of `op`: reads `in`, writes `out` (the kernel's
  /// parameters in that order: buffers and the logical type the kernel sees,
  /// which differs from the buffer's for a reshaped view).
  void launch(Operation *op, StringRef role, StringRef family, Type keyType,
              ArrayRef<Arg> in, ArrayRef<Arg> out, ArrayRef<int64_t> grid,
              ArrayRef<NamedAttribute> extra) {
    for (const Arg &a : in)
      buffers[a.id].last = std::max(buffers[a.id].last, launchCount);
    for (const Arg &a : out) {
      buffers[a.id].first = std::min(buffers[a.id].first, launchCount);
      buffers[a.id].last = std::max(buffers[a.id].last, launchCount);
    }
    // Identical kernels (same op, types, attributes and decisions) share a
    // name, so train_step and eval_step reuse the forward kernels.
    std::string key;
    llvm::raw_string_ostream os(key);
    os << family << "|" << role << "|" << op->getName() << "|";
    for (Value v : op->getOperands())
      os << v.getType() << ",";
    os << "|" << keyType << "|";
    for (NamedAttribute a : op->getAttrs())
      if (!a.getName().getValue().starts_with("d2l."))
        os << a.getName() << "=" << a.getValue() << ";";
    for (NamedAttribute a : extra)
      os << a.getName() << "=" << a.getValue() << ";";
    if (auto fused = dyn_cast<FusedOp>(op)) {
      // The body decides the kernel; an isolated region numbers its values
      // from zero, so equal bodies print equally.
      AsmState state(fused);
      for (Operation &inner : fused.getBlock()) {
        inner.print(os, state);
        os << ";";
      }
    }
    os << "|" << in.size() << "," << out.size() << "|";
    SmallVector<int64_t> args;
    SmallVector<Attribute> types;
    for (ArrayRef<Arg> list : {in, out})
      for (const Arg &a : list) {
        args.push_back(a.id);
        types.push_back(TypeAttr::get(a.type));
        os << a.type << ";";
      }
    std::string &name = kernelNames[key];
    if (name.empty())
      name = "k" + std::to_string(kernelCounter++) + "_" +
             (role.empty() ? family : role).str();
    SmallVector<NamedAttribute> fields{
        b.getNamedAttr("kernel", b.getStringAttr(name)),
        b.getNamedAttr("family", b.getStringAttr(family)),
        b.getNamedAttr("role", b.getStringAttr(role)),
        b.getNamedAttr("grid", b.getDenseI64ArrayAttr(grid)),
        b.getNamedAttr("block", b.getDenseI64ArrayAttr({kBlock, 1, 1})),
        b.getNamedAttr("args", b.getDenseI64ArrayAttr(args)),
        b.getNamedAttr("types", b.getArrayAttr(types)),
        b.getNamedAttr("outputs", b.getI64IntegerAttr(int64_t(out.size())))};
    fields.append(extra.begin(), extra.end());
    SmallVector<Attribute> launches;
    if (auto existing = op->getAttrOfType<ArrayAttr>("d2l.launches"))
      launches.append(existing.begin(), existing.end());
    launches.push_back(b.getDictionaryAttr(fields));
    op->setAttr("d2l.launches", b.getArrayAttr(launches));
    ++launchCount;
  }

  SmallVector<Arg> argsOf(ValueRange values) {
    SmallVector<Arg> r;
    for (Value v : values)
      r.push_back({bufferOf.lookup(v), v.getType()});
    return r;
  }

  NamedAttribute tile(ArrayRef<int64_t> t) {
    return b.getNamedAttr("tile", b.getDenseI64ArrayAttr(t));
  }
  SmallVector<NamedAttribute> withTile(ArrayRef<int64_t> t,
                                       ArrayRef<NamedAttribute> more) {
    SmallVector<NamedAttribute> r{tile(t)};
    r.append(more.begin(), more.end());
    return r;
  }

  LogicalResult schedule(Operation *op) {
    // Views: no kernel, the same bytes.
    if (isa<ReshapeOp, FlattenOp>(op)) {
      int64_t id = bufferOf.lookup(op->getOperand(0));
      bufferOf[op->getResult(0)] = id;
      valuesOf[id].push_back(op->getResult(0));
      // A view kept for the backward pass keeps its bytes: they are saved.
      if (op->hasAttr("d2l.saved") && buffers[id].kind == "activation")
        buffers[id].kind = "saved";
      return success();
    }
    if (auto cst = dyn_cast<ConstantOp>(op)) {
      int64_t id = newBuffer("constant", cst.getType(), "constant");
      buffers[id].constant = cst.getValue();
      buffers[id].first = -1;
      bufferOf[cst.getResult()] = id;
      return success();
    }
    SmallVector<Arg> out;
    SmallVector<int64_t> outIds;
    std::optional<unsigned> inPlace = inPlaceOperand(op);
    SmallVector<std::optional<unsigned>> inPlaceOf(op->getNumResults(),
                                                   inPlace);
    auto fusedOp = dyn_cast<FusedOp>(op);
    std::optional<unsigned> normInPlace = normBackwardInPlace(op);
    if (normInPlace)
      inPlaceOf[0] = normInPlace;
    if (fusedOp && fusedOp.getKind() == "multi")
      inPlaceOf = multiInPlace(fusedOp);
    else if (fusedOp &&
             (fusedOp.getKind() == "elementwise" ||
              fusedOp.getKind() == "epilogue") &&
             op->getNumResults() > 1)
      inPlaceOf = multiInPlace(fusedOp, /*oneSection=*/true);
    bool anyInPlace = llvm::any_of(
        inPlaceOf, [](std::optional<unsigned> k) { return k.has_value(); });
    for (OpResult r : op->getResults()) {
      std::optional<unsigned> k = inPlaceOf[r.getResultNumber()];
      int64_t id = k ? bufferOf.lookup(op->getOperand(*k))
                     : resultBuffer(r, op->getName().stripDialect());
      if (k) {
        bufferOf[r] = id;
        valuesOf[id].push_back(r);
      }
      out.push_back({id, r.getType()});
      outIds.push_back(id);
    }
    op->setAttr("d2l.buffer", b.getDenseI64ArrayAttr(outIds));
    SmallVector<Arg> in = argsOf(op->getOperands());
    Type t0 = op->getResult(0).getType();
    int64_t n0 = numElements(op->getResult(0));
    // Kernels that write over an input are distinct kernels (no
    // __restrict__ on their parameters).
    SmallVector<NamedAttribute> elementwiseExtra{
        b.getNamedAttr("per_thread", b.getI64IntegerAttr(kPerThread))};
    if (inPlace)
      elementwiseExtra.push_back(
          b.getNamedAttr("in_place", b.getI64IntegerAttr(*inPlace)));

    return llvm::TypeSwitch<Operation *, LogicalResult>(op)
        .Case<ReluOp, SigmoidOp, TanhOp, ExpOp, LogOp, SqrtOp, NegOp, AbsOp,
              SignOp, AddOp, SubOp, MulOp, DivOp, ReluBackwardOp,
              SigmoidBackwardOp, TanhBackwardOp, DropoutOp, BroadcastToOp>(
            [&](Operation *) {
              launch(op, "", "pointwise", t0, in, out, pointwiseGrid(n0),
                     elementwiseExtra);
              return success();
            })
        .Case<MatmulOp, BatchMatmulOp, LinearOp, Conv2dOp, ConvTranspose2dOp,
              Conv2dBackwardInputOp>([&](Operation *) {
          gemmLaunch(op, op, t0, in, out);
          return success();
        })
        .Case<FusedOp>([&](FusedOp fused) {
          StringRef kind = fused.getKind();
          if (kind == "epilogue") {
            // Written over an input (an update, or several of one
            // parameter: momentum and weight): aliased parameters.
            SmallVector<NamedAttribute> more;
            if (anyInPlace)
              more.push_back(b.getNamedAttr(
                  "in_place", b.getI64IntegerAttr(inPlace ? *inPlace : 1)));
            if (auto wgrad = dyn_cast<Conv2dBackwardFilterOp>(
                    &fused.getBlock().front())) {
              wgradLaunch(op, wgrad, in, out, more);
              return success();
            }
            gemmLaunch(op, &fused.getBlock().front(), t0, in, out, more);
            return success();
          }
          if (kind == "multi") {
            // Each section owns a contiguous range of blocks.
            int64_t blocks = 0;
            for (auto &section : multiSections(fused))
              blocks += pointwiseGrid(
                  numElements(fused.getResult(section.front())))[0];
            SmallVector<NamedAttribute> extra{
                b.getNamedAttr("per_thread", b.getI64IntegerAttr(kPerThread))};
            if (anyInPlace)
              extra.push_back(
                  b.getNamedAttr("in_place", b.getI64IntegerAttr(1)));
            launch(op, "", "fused_multi", t0, in, out, {blocks, 1, 1}, extra);
            return success();
          }
          if (anyInPlace && !inPlace)
            elementwiseExtra.push_back(
                b.getNamedAttr("in_place", b.getI64IntegerAttr(1)));
          launch(op, "", "fused", t0, in, out, pointwiseGrid(n0),
                 elementwiseExtra);
          return success();
        })
        .Case<Conv2dBackwardFilterOp>([&](Conv2dBackwardFilterOp conv) {
          wgradLaunch(op, conv, in, out);
          return success();
        })
        .Case<MaxPool2dOp, AvgPool2dOp, AdaptiveAvgPool2dOp, MaxPool2dSelectOp>(
            [&](Operation *) {
              launch(op, "", "pool", t0, in, out, threadGrid(n0), {});
              return success();
            })
        .Case<MaxPool2dBackwardOp, AvgPool2dBackwardOp,
              AdaptiveAvgPool2dBackwardOp>([&](Operation *) {
          launch(op, "", "pool_backward", t0, in, out, threadGrid(n0), {});
          return success();
        })
        .Case<BatchNormOp>([&](BatchNormOp bn) {
          int64_t c =
              cast<RankedTensorType>(bn.getWeight().getType()).getDimSize(0);
          // Statistics: one block per channel, two passes over it.
          launch(op, "stats", "bn_stats", t0, {in[0], in[3], in[4]},
                 {out[1], out[2], out[3], out[4]}, {c, 1, 1}, {});
          launch(op, "apply", "bn_apply", t0,
                 {in[0], in[1], in[2], out[1], out[2]}, {out[0]},
                 pointwiseGrid(n0), {});
          return success();
        })
        .Case<Conv2dBatchStatsOp>([&](Conv2dBatchStatsOp conv) {
          // The convolution stores its output and per-block partial sums
          // [2, tiles along N, C_out]; a thread per channel finishes them.
          auto y = cast<RankedTensorType>(t0);
          int64_t g = conv.getGroups();
          int64_t m = y.getDimSize(1) / g;
          int64_t n = y.getDimSize(0) * y.getDimSize(2) * y.getDimSize(3);
          auto t = gemmTile(m, n);
          int64_t tiles = ceilDiv(n, t[1]);
          auto wsType = RankedTensorType::get({2, tiles, y.getDimSize(1)},
                                              b.getF64Type());
          int64_t ws = workspace(wsType, "conv2d_batch_stats partial sums");
          SmallVector<Arg> convIn{in[0], in[1]};
          if (conv.getBias())
            convIn.push_back(in[4]);
          launch(op, "conv", "conv_fwd_stats", t0, convIn,
                 {out[0], {ws, wsType}}, {tiles, ceilDiv(m, t[0]), g},
                 {tile(t)});
          launch(op, "finalize", "bn_finalize", t0,
                 {{ws, wsType}, in[2], in[3]}, {out[1], out[2], out[3], out[4]},
                 threadGrid(y.getDimSize(1)), {});
          return success();
        })
        .Case<BatchNormActBackwardOp>([&](BatchNormActBackwardOp bn) {
          int64_t c =
              cast<RankedTensorType>(bn.getWeight().getType()).getDimSize(0);
          SmallVector<NamedAttribute> extra;
          if (normInPlace)
            extra.push_back(b.getNamedAttr("in_place", b.getI64IntegerAttr(0)));
          launch(op, "", "bn_act_bwd", t0, in, out, {c, 1, 1}, extra);
          return success();
        })
        .Case<ConvBnReluPoolBackwardOp>([&](ConvBnReluPoolBackwardOp s) {
          // One block per output channel; no workspace.
          int64_t c =
              cast<RankedTensorType>(s.getWeight().getType()).getDimSize(0);
          launch(op, "", "stem_bwd", t0, in, out, {c, 1, 1}, {});
          return success();
        })
        .Case<BatchNormInferenceOp>([&](Operation *) {
          launch(op, "", "bn_infer", t0, in, out, pointwiseGrid(n0), {});
          return success();
        })
        .Case<BatchNormBackwardOp>([&](BatchNormBackwardOp bn) {
          int64_t c =
              cast<RankedTensorType>(bn.getWeight().getType()).getDimSize(0);
          launch(op, "reduce", "bn_bwd_reduce", t0,
                 {in[0], in[1], in[3], in[4]}, {out[1], out[2]}, {c, 1, 1}, {});
          SmallVector<NamedAttribute> extra;
          if (normInPlace)
            extra.push_back(b.getNamedAttr("in_place", b.getI64IntegerAttr(0)));
          launch(op, "apply", "bn_bwd_apply", t0,
                 {in[0], in[1], in[2], in[3], in[4], out[1], out[2]}, {out[0]},
                 pointwiseGrid(n0), extra);
          return success();
        })
        .Case<LayerNormOp, LayerNormBackwardOp>([&](Operation *) {
          // A thread per row of the last dimension; the backward's weight
          // and bias gradients a thread per column.
          auto x = cast<RankedTensorType>(t0);
          int64_t d = x.getShape().back();
          if (isa<LayerNormOp>(op)) {
            launch(op, "", "ln_fwd", t0, in, out, threadGrid(n0 / d), {});
            return success();
          }
          launch(op, "input", "ln_bwd_input", t0, in, {out[0]},
                 threadGrid(n0 / d), {});
          launch(op, "params", "ln_bwd_params", t0,
                 {in[0], in[1], in[3], in[4]}, {out[1], out[2]}, threadGrid(d),
                 {});
          return success();
        })
        .Case<SumOp, MeanOp>([&](Operation *) {
          return reduceLaunch(op, "", t0, in[0], out[0],
                              numElements(op->getOperand(0)) / n0, n0);
        })
        .Case<MaskedSoftmaxOp, MaskedSoftmaxBackwardOp>([&](Operation *) {
          // A thread per row [b, q] of [B, Q, K].
          auto ty = cast<RankedTensorType>(t0);
          launch(op, "", "softmax", t0, in, out,
                 threadGrid(n0 / ty.getDimSize(2)), {});
          return success();
        })
        .Case<SoftmaxOp, LogSoftmaxOp, SoftmaxBackwardOp, LogSoftmaxBackwardOp>(
            [&](Operation *) {
              int64_t dim = op->getAttrOfType<IntegerAttr>("dim").getInt();
              auto ty = cast<RankedTensorType>(t0);
              if (dim < 0)
                dim += ty.getRank();
              int64_t rows = n0 / ty.getDimSize(dim);
              launch(op, "", "softmax", t0, in, out, threadGrid(rows), {});
              return success();
            })
        .Case<CrossEntropyOp>([&](CrossEntropyOp ce) {
          auto logits = cast<RankedTensorType>(ce.getLogits().getType());
          int64_t positions = logits.getNumElements() / logits.getDimSize(1);
          auto wsType =
              RankedTensorType::get({positions}, logits.getElementType());
          int64_t ws = workspace(wsType, "cross_entropy losses");
          launch(op, "losses", "ce_fwd", wsType, in, {{ws, wsType}},
                 threadGrid(positions), {});
          return reduceLaunch(op, "mean", t0, {ws, wsType}, out[0], positions,
                              1);
        })
        .Case<CrossEntropyBackwardOp>([&](CrossEntropyBackwardOp ce) {
          auto logits = cast<RankedTensorType>(ce.getLogits().getType());
          int64_t positions = logits.getNumElements() / logits.getDimSize(1);
          launch(op, "", "ce_bwd", t0, in, out, threadGrid(positions), {});
          return success();
        })
        .Case<MseLossOp>([&](MseLossOp mse) {
          Type at = mse.getInput().getType();
          int64_t n = numElements(mse.getInput());
          int64_t ws = workspace(at, "squared errors");
          launch(
              op, "squares", "pointwise", at, in, {{ws, at}}, pointwiseGrid(n),
              {b.getNamedAttr("per_thread", b.getI64IntegerAttr(kPerThread))});
          return reduceLaunch(op, "mean", t0, {ws, at}, out[0], n, 1);
        })
        .Case<TransposeOp, SliceOp, SliceBackwardOp, ConcatOp, EmbeddingOp,
              EmbeddingBackwardOp>([&](Operation *) {
          launch(op, "", "gather", t0, in, out, threadGrid(n0), {});
          return success();
        })
        .Case<ArgmaxOp>([&](Operation *) {
          launch(op, "", "argmax", t0, in, out, threadGrid(n0), {});
          return success();
        })
        .Default([&](Operation *o) {
          return o->emitError() << "the CUDA backend has no kernel for '"
                                << o->getName() << "'";
        });
  }

  /// The launches of a conv's weight gradient `root`, for `op` itself or
  /// for the epilogue group `op` that `root` starts (`more`: its in-place
  /// mark). The long reduction (batch x output pixels) is split so that
  /// there are enough blocks, into partial sums in a workspace that a
  /// second launch adds up, running the group's epilogue on each sum.
  void wgradLaunch(Operation *op, Conv2dBackwardFilterOp root, ArrayRef<Arg> in,
                   ArrayRef<Arg> out, ArrayRef<NamedAttribute> more = {}) {
    auto w = cast<RankedTensorType>(root.getType());
    auto dy = cast<RankedTensorType>(root.getGradOutput().getType());
    int64_t g = root.getGroups();
    int64_t m = w.getDimSize(0) / g;
    int64_t n = w.getDimSize(1) * w.getDimSize(2) * w.getDimSize(3);
    int64_t k = dy.getDimSize(0) * dy.getDimSize(2) * dy.getDimSize(3);
    auto t = gemmTile(m, n);
    int64_t tiles = ceilDiv(n, t[1]) * ceilDiv(m, t[0]) * g;
    int64_t splits =
        std::clamp<int64_t>(512 / tiles, 1, std::max<int64_t>(1, k / 512));
    // Under a peak budget (--d2l-remat objective=peak) the partial sums may
    // take at most kLeanWorkspace bytes: fewer blocks, less memory.
    if (leanWorkspace())
      splits = std::clamp<int64_t>(
          kLeanWorkspace / std::max<int64_t>(1, tensorBytes(root.getResult())),
          1, splits);
    SmallVector<NamedAttribute> attrs{
        tile(t), b.getNamedAttr("splits", b.getI64IntegerAttr(splits))};
    if (splits == 1) {
      attrs.append(more.begin(), more.end());
      launch(op, "", "conv_wgrad", w, in, out,
             {ceilDiv(n, t[1]), ceilDiv(m, t[0]), g}, attrs);
      return;
    }
    auto wsType =
        RankedTensorType::get({splits, w.getNumElements()}, w.getElementType());
    int64_t ws = workspace(wsType, "conv_wgrad partial sums");
    launch(op, "", "conv_wgrad", wsType, in, {{ws, wsType}},
           {ceilDiv(n, t[1]), ceilDiv(m, t[0]), g * splits}, attrs);
    SmallVector<NamedAttribute> sumAttrs{attrs[1]};
    sumAttrs.append(more.begin(), more.end());
    if (op == root.getOperation()) {
      launch(op, "sum_splits", "split_sum", w, {{ws, wsType}}, out,
             pointwiseGrid(w.getNumElements()), sumAttrs);
      return;
    }
    // An epilogue group: the group's inputs, its outputs, then the partial
    // sums (read only; last so that the epilogue's parameters keep the
    // group's numbering).
    SmallVector<Arg> outs(out.begin(), out.end());
    outs.push_back({ws, wsType});
    launch(op, "sum_splits", "split_sum", w, in, outs,
           pointwiseGrid(w.getNumElements()), sumAttrs);
  }

  /// The GEMM-family launch of `root` (a matmul, linear or convolution),
  /// for `op` itself or for the epilogue group `op` that `root` starts.
  void gemmLaunch(Operation *op, Operation *root, Type t0, ArrayRef<Arg> in,
                  ArrayRef<Arg> out, ArrayRef<NamedAttribute> more = {}) {
    auto ct = cast<RankedTensorType>(root->getResult(0).getType());
    if (isa<MatmulOp, BatchMatmulOp>(root)) {
      int64_t r = ct.getRank();
      int64_t m = ct.getDimSize(r - 2), n = ct.getDimSize(r - 1);
      int64_t batch = r == 3 ? ct.getDimSize(0) : 1;
      auto t = gemmTile(m, n);
      launch(op, "", "gemm", t0, in, out,
             {ceilDiv(n, t[1]), ceilDiv(m, t[0]), batch}, withTile(t, more));
      return;
    }
    if (auto lin = dyn_cast<LinearOp>(root)) {
      auto w = cast<RankedTensorType>(lin.getWeight().getType());
      int64_t n = w.getDimSize(0), m = ct.getNumElements() / n;
      auto t = gemmTile(m, n);
      launch(op, "", "gemm", t0, in, out,
             {ceilDiv(n, t[1]), ceilDiv(m, t[0]), 1}, withTile(t, more));
      return;
    }
    // A transposed convolution (or a conv's input gradient) with a large
    // stride, as FCN's x32 upsampling: the implicit GEMM would run over
    // every kernel tap and keep one in stride_h x stride_w, so a thread per
    // output that visits only the taps landing on it does that much less.
    if (!isa<Conv2dOp>(root)) {
      auto stride = root->getAttrOfType<DenseI64ArrayAttr>("stride");
      auto dilation = root->getAttrOfType<DenseI64ArrayAttr>("dilation");
      bool unitDilation =
          !dilation ||
          llvm::all_of(dilation.asArrayRef(), [](int64_t d) { return d == 1; });
      if (stride && unitDilation && stride[0] * stride[1] > 4) {
        launch(op, "", "conv_transpose_direct", t0, in, out,
               threadGrid(ct.getNumElements()), more);
        return;
      }
    }
    // Convolutions: M = output channels per group, N = batch x pixels.
    int64_t g = root->getAttrOfType<IntegerAttr>("groups").getInt();
    int64_t m = ct.getDimSize(1) / g;
    int64_t n = ct.getDimSize(0) * ct.getDimSize(2) * ct.getDimSize(3);
    auto t = gemmTile(m, n);
    launch(op, "", isa<Conv2dOp>(root) ? "conv_fwd" : "conv_transpose", t0, in,
           out, {ceilDiv(n, t[1]), ceilDiv(m, t[0]), g}, withTile(t, more));
  }

  /// A reduction of `count` elements into each of `outputs` values: a block
  /// per output when the reductions are long and few, else a thread each.
  LogicalResult reduceLaunch(Operation *op, StringRef role, Type keyType,
                             Arg in, Arg out, int64_t count, int64_t outputs) {
    bool perBlock = count >= 1024 && outputs <= 65536;
    launch(op, role, "reduce", keyType, {in}, {out},
           perBlock ? SmallVector<int64_t, 3>{outputs, 1, 1}
                    : threadGrid(outputs),
           {b.getNamedAttr("strategy",
                           b.getStringAttr(perBlock ? "block" : "thread"))});
    return success();
  }
};

struct SchedulePass : impl::D2LScheduleBase<SchedulePass> {
  void runOnOperation() override {
    std::map<std::string, std::string> names;
    int counter = 0;
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (failed(expectUnrolled(func, "code generation")))
        return signalPassFailure();
      FunctionScheduler scheduler(func, names, counter);
      if (failed(scheduler.run()))
        return signalPassFailure();
    }
  }
};

} // namespace
} // namespace mlir::d2l
