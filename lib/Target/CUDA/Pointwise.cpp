//===- Pointwise.cpp - elementwise kernels --------------------------------===//
//
// One output element per (thread, step): each block covers a contiguous
// range of per_thread x 256 elements, thread t taking every 256th, so loads
// and stores are coalesced on the GPU and the host loop is a plain stride-1
// loop. Operands broadcast by static strides.
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

FailureOr<std::string>
mlir::d2l::cuda::elementwiseExpr(Operation *op, ArrayRef<std::string> args,
                                 StringRef index) {
  Type et = op->getResult(0).getType();
  et = cast<RankedTensorType>(et).getElementType();
  auto f = [&](StringRef name) { return mathFn(name, et); };
  auto lit = [&](double v) { return literal(v, et); };
  auto a = [&](size_t i) { return "(" + args[i] + ")"; };
  return llvm::TypeSwitch<Operation *, FailureOr<std::string>>(op)
      .Case<ReluOp>([&](auto) { return reluExpr(args[0], et); })
      .Case<SigmoidOp>([&](auto) {
        return lit(1) + " / (" + lit(1) + " + " + f("exp") + "(-" + a(0) + "))";
      })
      .Case<TanhOp>([&](auto) { return f("tanh") + a(0); })
      .Case<ExpOp>([&](auto) { return f("exp") + a(0); })
      .Case<LogOp>([&](auto) { return f("log") + a(0); })
      .Case<SqrtOp>([&](auto) { return f("sqrt") + a(0); })
      .Case<NegOp>([&](auto) { return "-" + a(0); })
      .Case<AbsOp>([&](auto) { return f("fabs") + a(0); })
      .Case<SignOp>([&](auto) {
        return a(0) + " > " + lit(0) + " ? " + lit(1) + " : (" + a(0) + " < " +
               lit(0) + " ? " + lit(-1) + " : " + a(0) + ")";
      })
      .Case<AddOp>([&](auto) { return a(0) + " + " + a(1); })
      .Case<SubOp>([&](auto) { return a(0) + " - " + a(1); })
      .Case<MulOp>([&](auto) { return a(0) + " * " + a(1); })
      .Case<DivOp>([&](auto) { return a(0) + " / " + a(1); })
      .Case<ReluBackwardOp>([&](auto) {
        return a(1) + " > " + lit(0) + " ? " + a(0) + " : " + lit(0);
      })
      .Case<SigmoidBackwardOp>([&](auto) {
        return a(0) + " * " + a(1) + " * (" + lit(1) + " - " + a(1) + ")";
      })
      .Case<TanhBackwardOp>([&](auto) {
        return a(0) + " * (" + lit(1) + " - " + a(1) + " * " + a(1) + ")";
      })
      .Case<BroadcastToOp>([&](auto) { return a(0); })
      .Case<DropoutOp>([&](DropoutOp d) -> FailureOr<std::string> {
        if (!d.getSeed())
          return a(0);
        double p = d.getP().convertToDouble();
        return "d2l_dropout_uniform(" + args[1] + ", (unsigned long long)(" +
               index.str() + "), " + std::to_string(d.getSalt()) +
               "u) >= " + literal(p, Float64Type::get(op->getContext())) +
               " ? " + a(0) + " * " + lit(1.0 / (1.0 - p)) + " : " + lit(0);
      })
      .Default([&](Operation *o) -> FailureOr<std::string> {
        return o->emitError()
               << "no pointwise expression for '" << o->getName() << "'";
      });
}

namespace {

/// The C expression of the launch's own op on its loaded operands v0, v1.
FailureOr<std::string> expression(const Launch &l) {
  if (l.role() == "copy")
    return std::string("v0");
  if (l.role() == "squares")
    return std::string("(v0 - v1) * (v0 - v1)");
  SmallVector<std::string> args;
  for (size_t k = 0; k < l.op->getNumOperands(); ++k)
    args.push_back("v" + std::to_string(k));
  if (auto d = dyn_cast<DropoutOp>(l.op); d && d.getSeed())
    args[1] = "seed";
  return elementwiseExpr(l.op, args, "i");
}

} // namespace

LogicalResult mlir::d2l::cuda::printPointwise(llvm::raw_ostream &os,
                                              const Launch &l) {
  // split_sum of an epilogue group (a conv weight gradient's partial sums,
  // then the group's chain on each sum): its parameters are the group's
  // inputs, its outputs, then the partial sums [splits, n].
  auto epilogue =
      l.family() == "split_sum" ? dyn_cast<FusedOp>(l.op) : FusedOp();
  RankedTensorType out =
      epilogue ? cast<RankedTensorType>(
                     epilogue.getBlock().front().getResult(0).getType())
               : l.params.back();
  std::string T = scalarType(out.getElementType());
  int64_t n = out.getNumElements();
  int64_t per = l.family() == "split_sum" ? 4 : l.intAttr("per_thread");
  std::string o = l.paramName(l.params.size() - 1);
  os << "  const long long base = (long long)blockIdx.x * " << 256 * per
     << ";\n";
  bool dropout = isa<DropoutOp>(l.op) && cast<DropoutOp>(l.op).getSeed();
  if (dropout)
    os << "  const d2l_i64 seed = a1[0];\n";
  os << "  D2L_THREADS {\n"
     << "    for (int e = 0; e < " << per << "; ++e) {\n"
     << "      const long long i = base + e * 256 + threadIdx.x;\n"
     << "      if (i >= " << n << "LL)\n        break;\n";
  if (l.family() == "split_sum") {
    int64_t splits = l.intAttr("splits");
    // The partial sums: the first parameter, or the last of an epilogue's.
    std::string partial = epilogue ? o : l.paramName(0);
    os << "      " << T << " s = 0;\n"
       << "      for (int k = 0; k < " << splits << "; ++k)\n"
       << "        s += " << partial << "[(long long)k * " << n << "LL + i];\n";
    if (!epilogue)
      os << "      " << o << "[i] = s;\n";
    else if (failed(printEpilogueElement(os, "      ", epilogue, "i", "s")))
      return failure();
  } else {
    auto expr = expression(l);
    if (failed(expr))
      return failure();
    // Float operands (the seed is not one).
    size_t operands = dropout ? 1 : l.numInputs();
    SmallVector<SmallVector<int64_t>> shapes;
    SmallVector<std::string> offsets;
    for (size_t k = 0; k < operands; ++k) {
      shapes.push_back(SmallVector<int64_t>(l.params[k].getShape()));
      offsets.push_back("o" + std::to_string(k));
    }
    printBroadcastOffsets(os, "      ", "i", out.getShape(), shapes, offsets);
    for (size_t k = 0; k < operands; ++k)
      os << "      const " << T << " v" << k << " = " << l.paramName(k) << "[o"
         << k << "];\n";
    os << "      " << o << "[i] = " << *expr << ";\n";
  }
  os << "    }\n  }\n";
  return success();
}
