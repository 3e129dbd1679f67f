//===- MemoryReport.cpp - memory of a scheduled function ------------------===//

#include "d2l/Analysis/MemoryReport.h"
#include "d2l/Dialect/D2L/IR/D2L.h"

#include "d2lrt/MemoryPlan.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::d2l;

namespace {

int64_t bytesOf(Type type) {
  auto t = cast<RankedTensorType>(type);
  return t.getNumElements() * int64_t((t.getElementTypeBitWidth() + 7) / 8);
}

std::string describe(Operation *op) {
  std::string name = op->getName().getStringRef().str();
  if (auto fused = dyn_cast<FusedOp>(op)) {
    size_t n = fused.getBlock().getOperations().size() - 1;
    if (n > 6)
      return name + " " + fused.getKind().str() + " (" + std::to_string(n) +
             " ops)";
    name += " " + fused.getKind().str() + " (";
    for (Operation &inner : fused.getBlock().without_terminator())
      name += (&inner == &fused.getBlock().front() ? "" : ", ") +
              inner.getName().stripDialect().str();
    name += ")";
  }
  return name;
}

} // namespace

FailureOr<FunctionMemory> mlir::d2l::analyzeMemory(func::FuncOp func) {
  auto buffers = func->getAttrOfType<ArrayAttr>("d2l.buffers");
  if (!buffers)
    return func.emitError() << "has no schedule (run --d2l-schedule first)";
  FunctionMemory m;
  m.function = func.getSymName().str();
  // Saved values, per op, in program order. A saved value that is also a
  // result of the function (the logits of @train_step) lives in an output
  // buffer and is counted there, not here.
  for (Operation &op : func.getBody().front())
    if (auto saved = op.getAttrOfType<DenseI64ArrayAttr>("d2l.saved"))
      for (int64_t r : saved.asArrayRef())
        if (llvm::none_of(op.getResult(r).getUsers(), [](Operation *user) {
              return isa<func::ReturnOp>(user);
            }))
          m.saved.push_back({describe(&op), unsigned(r), formatLocation(&op),
                             bytesOf(op.getResult(r).getType())});
  std::vector<d2lrt::PlanRequest> requests;
  std::vector<int64_t> arenaBytes; // per buffer id; 0 outside the arena
  for (Attribute a : buffers) {
    auto d = cast<DictionaryAttr>(a);
    StringRef kind = cast<StringAttr>(d.get("kind")).getValue();
    StringRef name = cast<StringAttr>(d.get("name")).getValue();
    int64_t bytes = bytesOf(cast<TypeAttr>(d.get("type")).getValue());
    if (kind == "parameter")
      m.parameters += bytes;
    else if (kind == "state")
      (name.starts_with("momentum.") ? m.optimizerState : m.batchNormState) +=
          bytes;
    else if (kind == "constant")
      m.constants += bytes;
    else if (kind == "input")
      m.inputs += bytes;
    else if (kind == "saved")
      m.savedBytes += bytes;
    else if (kind == "activation")
      m.activations += bytes;
    else if (kind == "gradient")
      m.gradients += bytes;
    else if (kind == "workspace")
      m.workspace += bytes;
    else if (kind == "output")
      m.outputs += bytes;
    bool arena = kind != "parameter" && kind != "state" && kind != "constant";
    arenaBytes.push_back(arena ? bytes : 0);
    if (!arena)
      continue;
    requests.push_back({uint64_t(bytes),
                        int(cast<IntegerAttr>(d.get("first")).getInt()),
                        int(cast<IntegerAttr>(d.get("last")).getInt())});
  }
  // The schedule's plan (d2l.arena), else the runtime's planner.
  d2lrt::MemoryPlan plan = d2lrt::planBounds(requests);
  if (auto arena = func->getAttrOfType<IntegerAttr>("d2l.arena"))
    plan.arenaBytes = uint64_t(arena.getInt());
  else
    plan = d2lrt::planMemory(requests);
  m.arena = plan.arenaBytes;
  m.lowerBound = plan.lowerBound;
  m.naive = plan.naiveBytes;
  for (Operation &op : func.getBody().front())
    if (auto launches = op.getAttrOfType<ArrayAttr>("d2l.launches"))
      for (Attribute a : launches) {
        auto launch = cast<DictionaryAttr>(a);
        if (launch.get("in_place"))
          ++m.inPlace;
        auto args = launch.getAs<DenseI64ArrayAttr>("args");
        if (!args)
          continue;
        llvm::SmallDenseSet<int64_t> ids(args.asArrayRef().begin(),
                                         args.asArrayRef().end());
        uint64_t touched = 0;
        for (int64_t id : ids)
          if (id >= 0 && size_t(id) < arenaBytes.size())
            touched += uint64_t(arenaBytes[id]);
        if (touched > m.largestLaunch) {
          m.largestLaunch = touched;
          m.largestLaunchOp = describe(&op) + " at " + formatLocation(&op);
        }
      }
  return m;
}

LogicalResult mlir::d2l::printMemoryReport(ModuleOp module,
                                           llvm::raw_ostream &os) {
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    auto m = analyzeMemory(func);
    if (failed(m))
      return failure();
    os << "memory of @" << m->function << "\n";
    os << "saved for the backward pass: " << m->saved.size() << " values\n";
    for (const SavedValue &s : m->saved)
      os << llvm::formatv("  {0,12} bytes  {1} #{2}{3}\n", s.bytes, s.op,
                          s.result,
                          s.location.empty() ? "" : "  at " + s.location);
    auto line = [&](StringRef what, uint64_t v) {
      os << llvm::formatv("  {0,-22} {1,14}\n", what, v);
    };
    os << "totals (bytes):\n";
    line("parameters", m->parameters);
    line("optimizer state", m->optimizerState);
    line("batchnorm state", m->batchNormState);
    line("inputs", m->inputs);
    line("saved activations", m->savedBytes);
    line("other activations", m->activations);
    line("gradients", m->gradients);
    line("workspace", m->workspace);
    line("outputs", m->outputs);
    line("arena", m->arena);
    line("lower bound", m->lowerBound);
    line("naive", m->naive);
    os << llvm::formatv("  {0,-22} {1,14:F3}\n", "arena / lower bound",
                        m->lowerBound ? double(m->arena) / m->lowerBound : 1.0);
    os << llvm::formatv("  {0,-22} {1,14}\n", "in-place launches", m->inPlace);
    os << llvm::formatv("  {0,-22} {1,14}  {2}\n", "largest launch",
                        m->largestLaunch, m->largestLaunchOp);
    if (auto remat = func->getAttrOfType<DictionaryAttr>("d2l.remat")) {
      auto i = [&](StringRef k) {
        return cast<IntegerAttr>(remat.get(k)).getInt();
      };
      os << "recomputation (--d2l-remat, policy "
         << cast<StringAttr>(remat.get("policy")).getValue() << ", objective "
         << cast<StringAttr>(remat.get("objective")).getValue() << "):\n";
      auto line = [&](StringRef what, int64_t v) {
        os << llvm::formatv("  {0,-22} {1,14}\n", what, v);
      };
      line("budget", i("budget"));
      if (auto m = remat.getAs<IntegerAttr>("margin"); m && m.getInt())
        line("budget margin", m.getInt());
      if (auto n = remat.getAs<IntegerAttr>("plans"); n && n.getInt() > 1)
        line("arena plans", n.getInt());
      line("values recomputed", i("recomputed"));
      line("saved values", i("candidates"));
      os << llvm::formatv(
          "  {0,-22} {1,14:e}\n", "extra FLOPs",
          cast<FloatAttr>(remat.get("extra_flops")).getValueAsDouble());
      if (auto r = remat.getAs<IntegerAttr>("retained"); r && r.getInt()) {
        line("values retained", r.getInt());
        os << llvm::formatv(
            "  {0,-22} {1,14:e}\n", "FLOPs retaining saves",
            cast<FloatAttr>(remat.get("retained_flops")).getValueAsDouble());
      }
      line("saved before", i("saved_before"));
      line("saved after", i("saved_after"));
      line("peak estimate before", i("peak_before"));
      line("peak estimate after", i("peak_after"));
      if (auto e = remat.getAs<IntegerAttr>("evaluations"))
        line("choices evaluated", e.getInt());
      if (auto o = remat.getAs<BoolAttr>("optimal"))
        os << llvm::formatv("  {0,-22} {1,14}\n", "proven optimal",
                            o.getValue() ? "yes" : "no");
      if (auto f = remat.getAs<BoolAttr>("stem_fused"))
        os << llvm::formatv("  {0,-22} {1,14}\n", "stem fused",
                            f.getValue() ? "yes" : "no");
      if (auto f = remat.getAs<BoolAttr>("activations_saved"))
        os << llvm::formatv("  {0,-22} {1,14}\n", "activations saved",
                            f.getValue() ? "yes" : "no");
    }
  }
  return success();
}
