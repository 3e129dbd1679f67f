//===- Unroll.cpp - expand d2l.scan into its steps ------------------------===//
//
// Each scan becomes T copies of its body: step t reads slice t of every
// sequence and the previous copy's carried values; the outputs of the steps
// are concatenated along dimension 0 and reshaped to [T, ...]. Cloned
// dropouts get fresh salts so that every step draws its own mask.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LUNROLL
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"
} // namespace mlir::d2l

using namespace mlir;
using namespace mlir::d2l;

LogicalResult mlir::d2l::expectUnrolled(Operation *root, StringRef what) {
  WalkResult r = root->walk([&](ScanOp scan) {
    scan.emitOpError() << "must be unrolled before " << what
                       << " (run --d2l-unroll first; d2lc does)";
    return WalkResult::interrupt();
  });
  return failure(r.wasInterrupted());
}

namespace {

void unroll(ScanOp scan, int64_t &nextSalt) {
  OpBuilder b(scan);
  Location loc = scan.getLoc();
  Block &body = scan.getBlock();
  auto yield = cast<YieldOp>(body.getTerminator());
  size_t carried = scan.getInit().size();
  int64_t steps = scan.getLength();
  SmallVector<Value> state(scan.getInit());
  SmallVector<SmallVector<Value>> outputs(scan.getNumResults() - carried);
  for (int64_t t = 0; t < steps; ++t) {
    IRMapping map;
    for (size_t i = 0; i < carried; ++i)
      map.map(body.getArgument(unsigned(i)), state[i]);
    for (auto [k, seq] : llvm::enumerate(scan.getSequences())) {
      auto type = cast<RankedTensorType>(seq.getType());
      Value one = b.create<SliceOp>(
          loc, seq, b.getI64IntegerAttr(0), b.getI64IntegerAttr(t),
          b.getI64IntegerAttr(t + 1), b.getI64IntegerAttr(1));
      map.map(
          body.getArgument(unsigned(carried + k)),
          b.create<ReshapeOp>(
              loc, one, b.getDenseI64ArrayAttr(type.getShape().drop_front())));
    }
    for (Operation &op : body.without_terminator()) {
      Operation *copy = b.clone(op, map);
      copy->walk(
          [&](DropoutOp d) { d.setSaltAttr(b.getI64IntegerAttr(nextSalt++)); });
    }
    for (size_t i = 0; i < carried; ++i)
      state[i] = map.lookupOrDefault(yield.getValues()[i]);
    for (size_t k = 0; k < outputs.size(); ++k)
      outputs[k].push_back(map.lookupOrDefault(yield.getValues()[carried + k]));
  }
  for (size_t i = 0; i < carried; ++i)
    scan.getResult(unsigned(i)).replaceAllUsesWith(state[i]);
  for (size_t k = 0; k < outputs.size(); ++k) {
    Value result = scan.getResult(unsigned(carried + k));
    auto type = cast<RankedTensorType>(result.getType());
    SmallVector<Value> parts = outputs[k];
    // [d0, ...] steps concatenate to [T d0, ...]; 0-d ones become [1] first.
    if (type.getRank() == 1)
      for (Value &p : parts)
        p = b.create<ReshapeOp>(loc, p, b.getDenseI64ArrayAttr({1}));
    Value all = parts.size() == 1
                    ? parts.front()
                    : b.create<ConcatOp>(loc, parts, b.getI64IntegerAttr(0))
                          .getResult();
    result.replaceAllUsesWith(
        b.create<ReshapeOp>(loc, all, b.getDenseI64ArrayAttr(type.getShape())));
  }
  scan.erase();
}

struct UnrollPass : d2l::impl::D2LUnrollBase<UnrollPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      int64_t nextSalt = 0;
      func.walk(
          [&](DropoutOp d) { nextSalt = std::max(nextSalt, d.getSalt() + 1); });
      // Post-order: inner scans first, so an outer body copies plain ops.
      SmallVector<ScanOp> scans;
      func.walk<WalkOrder::PostOrder>([&](ScanOp s) { scans.push_back(s); });
      for (ScanOp s : scans)
        unroll(s, nextSalt);
    }
  }
};

} // namespace
