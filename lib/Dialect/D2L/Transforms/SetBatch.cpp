//===- SetBatch.cpp - rewrite a model's batch size
//--------------------------===//
//
// Sets dimension 0 of every rank >= 1 input to the new batch size and
// re-infers every type with the ops' own shape rules.
//
//===----------------------------------------------------------------------===//

#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::d2l {
#define GEN_PASS_DEF_D2LSETBATCH
#include "d2l/Dialect/D2L/Transforms/Passes.h.inc"
} // namespace mlir::d2l

namespace mlir::d2l {
namespace {

struct SetBatchPass : impl::D2LSetBatchBase<SetBatchPass> {
  using D2LSetBatchBase::D2LSetBatchBase;

  void runOnOperation() override {
    if (batch < 1) {
      getOperation().emitError()
          << "--d2l-set-batch needs 'batch' >= 1 but got " << int64_t(batch)
          << " (use --d2l-set-batch=batch=N)";
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(rewrite(func)))
        return signalPassFailure();
  }

  LogicalResult rewrite(func::FuncOp func) {
    if (func.isExternal())
      return success();
    if (failed(expectUnrolled(func, "--d2l-set-batch")))
      return failure();
    // The old batch size: dimension 0 of the data inputs, which must agree.
    std::optional<int64_t> oldBatch;
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
      auto type = dyn_cast<RankedTensorType>(func.getArgument(i).getType());
      if (!func.getArgAttr(i, kInputAttr) || !type || type.getRank() == 0)
        continue;
      if (oldBatch && *oldBatch != type.getDimSize(0))
        return func.emitError()
               << "inputs disagree on the batch size: "
               << func.getArgAttr(i, kInputAttr) << " has "
               << type.getDimSize(0) << " rows, an earlier input " << *oldBatch;
      oldBatch = type.getDimSize(0);
    }
    if (!oldBatch)
      return success();

    Block &body = func.getBody().front();
    for (BlockArgument arg : body.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!func.getArgAttr(arg.getArgNumber(), kInputAttr) || !type ||
          type.getRank() == 0)
        continue;
      SmallVector<int64_t> shape(type.getShape());
      shape[0] = batch;
      arg.setType(type.clone(shape));
    }

    for (Operation &op : body) {
      if (auto ret = dyn_cast<func::ReturnOp>(op)) {
        func.setFunctionType(FunctionType::get(
            func.getContext(), body.getArgumentTypes(), ret.getOperandTypes()));
        continue;
      }
      if (failed(rewriteShapeAttrs(&op, *oldBatch)) || failed(reinfer(&op)))
        return failure();
    }
    return success();
  }

  /// Rewrites shape attributes that spell the old batch size at dimension 0.
  LogicalResult rewriteShapeAttrs(Operation *op, int64_t oldBatch) {
    auto withBatch = [&](ArrayRef<int64_t> shape) {
      SmallVector<int64_t> s(shape);
      if (!s.empty() && s[0] == oldBatch)
        s[0] = batch;
      return s;
    };
    if (auto reshape = dyn_cast<ReshapeOp>(op)) {
      auto inType = cast<RankedTensorType>(reshape.getInput().getType());
      if (inType.getRank() > 0 && inType.getDimSize(0) == batch)
        reshape.setShape(withBatch(reshape.getShape()));
    } else if (auto bcast = dyn_cast<BroadcastToOp>(op)) {
      bcast.setShape(withBatch(bcast.getShape()));
    } else if (auto cst = dyn_cast<ConstantOp>(op)) {
      auto type = cast<RankedTensorType>(cst.getType());
      if (type.getRank() == 0 || type.getDimSize(0) != oldBatch)
        return success();
      auto splat = dyn_cast<SplatElementsAttr>(cst.getValue());
      if (!splat)
        return op->emitError()
               << "cannot change the batch size of a non-splat constant of "
                  "type "
               << type;
      auto newType = type.clone(withBatch(type.getShape()));
      cst.setValueAttr(
          SplatElementsAttr::get(newType, splat.getSplatValue<Attribute>()));
      cst.getResult().setType(newType);
    }
    return success();
  }

  /// Re-infers the result types of `op` from its (already updated) operands.
  LogicalResult reinfer(Operation *op) {
    auto infer = dyn_cast<InferTypeOpInterface>(op);
    if (!infer) {
      if (op->hasTrait<mlir::OpTrait::SameOperandsAndResultType>() &&
          op->getNumOperands() > 0) {
        for (OpResult r : op->getResults())
          r.setType(op->getOperand(0).getType());
        return success();
      }
      if (op->getNumResults() == 0)
        return success();
      return op->emitError() << "cannot re-infer the result types of '"
                             << op->getName() << "' for a new batch size";
    }
    SmallVector<Type, 4> types;
    if (failed(infer.inferReturnTypes(
            op->getContext(), op->getLoc(), op->getOperands(),
            op->getRawDictionaryAttrs(), op->getPropertiesStorage(),
            op->getRegions(), types)))
      return failure(); // The op's shape rule said why.
    for (auto [r, t] : llvm::zip(op->getResults(), types))
      r.setType(t);
    return success();
  }
};

} // namespace
} // namespace mlir::d2l
