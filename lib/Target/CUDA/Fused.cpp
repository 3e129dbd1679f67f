//===- Fused.cpp - kernels of d2l.fused groups ----------------------------===//
//
// A fused group is printed as its body evaluated per element: inputs loaded
// (broadcast as their shapes ask), each op a local value, the results
// stored. `elementwise` groups are pointwise kernels over their iteration
// space; `multi` groups give each result a segment of the grid (multi-tensor
// apply); `epilogue` groups are printed by the GEMM family with this chain
// as their store (see Gemm.cpp).
//
//===----------------------------------------------------------------------===//

#include "KernelWriter.h"

#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

namespace {
std::string str(int64_t v) { return std::to_string(v) + "LL"; }
} // namespace

LogicalResult mlir::d2l::cuda::printFusedElement(
    llvm::raw_ostream &os, StringRef indent, FusedOp fused, StringRef index,
    RankedTensorType space, const llvm::SmallPtrSetImpl<Operation *> &ops,
    ArrayRef<unsigned> results, Operation *root, StringRef rootValue) {
  Block &block = fused.getBlock();
  unsigned numInputs = fused.getInputs().size();
  llvm::DenseMap<Value, std::string> names;
  // The inputs the selected ops read, loaded with broadcasting.
  llvm::SetVector<unsigned> used;
  for (Operation *op : ops)
    for (Value v : op->getOperands())
      if (auto arg = dyn_cast<BlockArgument>(v))
        used.insert(arg.getArgNumber());
  auto yield = cast<YieldOp>(block.getTerminator());
  for (unsigned r : results)
    if (auto arg = dyn_cast<BlockArgument>(yield.getValues()[r]))
      used.insert(arg.getArgNumber());
  SmallVector<SmallVector<int64_t>> shapes;
  SmallVector<std::string> offsets;
  SmallVector<unsigned> floats;
  for (unsigned a : used) {
    auto t = cast<RankedTensorType>(block.getArgument(a).getType());
    if (!isa<FloatType>(t.getElementType())) {
      // An integer input (dropout's seed) is a scalar.
      names[block.getArgument(a)] = "a" + std::to_string(a) + "[0]";
      continue;
    }
    shapes.push_back(SmallVector<int64_t>(t.getShape()));
    offsets.push_back("o" + std::to_string(a));
    floats.push_back(a);
  }
  printBroadcastOffsets(os, indent, index, space.getShape(), shapes, offsets);
  std::string T = scalarType(space.getElementType());
  for (unsigned a : floats) {
    std::string n = "in" + std::to_string(a);
    os << indent << "const " << T << " " << n << " = a" << a << "[o" << a
       << "];\n";
    names[block.getArgument(a)] = n;
  }
  // The ops, in order.
  int temp = 0;
  for (Operation &op : block.without_terminator()) {
    if (!ops.contains(&op))
      continue;
    std::string n = "t" + std::to_string(temp++);
    if (&op == root) {
      os << indent << "const " << T << " " << n << " = " << rootValue << ";\n";
    } else {
      SmallVector<std::string> args;
      for (Value v : op.getOperands())
        args.push_back(names.lookup(v));
      auto expr = elementwiseExpr(&op, args, index);
      if (failed(expr))
        return failure();
      os << indent << "const " << T << " " << n << " = " << *expr << ";\n";
    }
    names[op.getResult(0)] = n;
  }
  for (unsigned r : results)
    os << indent << "a" << numInputs + r << "[" << index
       << "] = " << names.lookup(yield.getValues()[r]) << ";\n";
  return success();
}

LogicalResult mlir::d2l::cuda::printEpilogueElement(llvm::raw_ostream &os,
                                                    StringRef indent,
                                                    FusedOp fused,
                                                    StringRef index,
                                                    StringRef rootValue) {
  Operation *root = &fused.getBlock().front();
  llvm::SmallPtrSet<Operation *, 16> ops;
  for (Operation &op : fused.getBlock().without_terminator())
    ops.insert(&op);
  SmallVector<unsigned> results;
  for (unsigned r = 0; r < fused.getNumResults(); ++r)
    results.push_back(r);
  return printFusedElement(os, indent, fused, index,
                           cast<RankedTensorType>(root->getResult(0).getType()),
                           ops, results, root, rootValue);
}

LogicalResult mlir::d2l::cuda::printFused(llvm::raw_ostream &os,
                                          const Launch &l) {
  auto fused = cast<FusedOp>(l.op);
  Block &block = fused.getBlock();
  llvm::SmallPtrSet<Operation *, 16> all;
  for (Operation &op : block.without_terminator())
    all.insert(&op);
  if (fused.getKind() == "elementwise") {
    auto space = cast<RankedTensorType>(fused.getResult(0).getType());
    SmallVector<unsigned> results;
    for (unsigned r = 0; r < fused.getNumResults(); ++r)
      results.push_back(r);
    int64_t n = space.getNumElements();
    os << "  const long long base = (long long)blockIdx.x * 1024;\n"
       << "  D2L_THREADS {\n"
       << "    for (int e = 0; e < 4; ++e) {\n"
       << "      const long long i = base + e * 256 + threadIdx.x;\n"
       << "      if (i >= " << str(n) << ")\n        break;\n";
    if (failed(printFusedElement(os, "      ", fused, "i", space, all, results,
                                 nullptr, "")))
      return failure();
    os << "    }\n  }\n";
    return success();
  }
  if (fused.getKind() == "multi") {
    // Section k (results of one type computed together, see multiSections)
    // owns blocks [start_k, start_k + ceil(n_k / 1024)).
    auto yield = cast<YieldOp>(block.getTerminator());
    int64_t start = 0;
    for (auto [k, section] : llvm::enumerate(multiSections(fused))) {
      auto space =
          cast<RankedTensorType>(fused.getResult(section.front()).getType());
      int64_t n = space.getNumElements(), blocks = (n + 1023) / 1024;
      // The ops these results need.
      llvm::SmallPtrSet<Operation *, 16> slice;
      SmallVector<Value> work;
      for (unsigned r : section)
        work.push_back(yield.getValues()[r]);
      while (!work.empty()) {
        Operation *def = work.pop_back_val().getDefiningOp();
        if (def && slice.insert(def).second)
          llvm::append_range(work, def->getOperands());
      }
      os << "  " << (k ? "else " : "") << "if (blockIdx.x < " << start + blocks
         << "u) {\n"
         << "    const long long base = (long long)(blockIdx.x - " << start
         << "u) * 1024;\n"
         << "    D2L_THREADS {\n"
         << "      for (int e = 0; e < 4; ++e) {\n"
         << "        const long long i = base + e * 256 + threadIdx.x;\n"
         << "        if (i >= " << str(n) << ")\n          break;\n";
      if (failed(printFusedElement(os, "        ", fused, "i", space, slice,
                                   section, nullptr, "")))
        return failure();
      os << "      }\n    }\n  }\n";
      start += blocks;
    }
    return success();
  }
  return fused.emitOpError()
         << "has no kernel for kind '" << fused.getKind() << "' here";
}
