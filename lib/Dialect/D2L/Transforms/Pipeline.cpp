//===- Pipeline.cpp - the d2lc compilation pipeline -----------------------===//

#include "d2l/Dialect/D2L/Transforms/Pipeline.h"
#include "d2l/Dialect/D2L/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

using namespace mlir;

LogicalResult mlir::d2l::runPipeline(ModuleOp module,
                                     const PipelineOptions &options) {
  PassManager pm(module.getContext());
  // Recurrences stated once (d2l.scan) become their steps first: every later
  // pass sees plain dataflow.
  pm.addPass(createD2LUnroll());
  if (options.batch > 0) {
    D2LSetBatchOptions o;
    o.batch = options.batch;
    pm.addPass(createD2LSetBatch(o));
  }
  if (options.train) {
    D2LTrainStepOptions o;
    o.loss = options.loss;
    o.momentum = options.momentum;
    o.optimizer = options.optimizer;
    o.beta1 = options.beta1;
    o.beta2 = options.beta2;
    o.eps = options.eps;
    o.weightDecay = options.weightDecay;
    o.clipNorm = options.clipNorm;
    o.lossScale = options.lossScale;
    o.l1 = options.l1;
    o.emitGrads = options.emitGrads;
    o.emitLogits = options.emitLogits;
    pm.addPass(createD2LTrainStep(o));
  }
  pm.addPass(createD2LSimplify());
  if (failed(pm.run(module)))
    return failure();
  // A training module keeps @train_step and @eval_step only.
  if (options.train)
    if (auto forward = module.lookupSymbol<func::FuncOp>("forward"))
      forward.erase();
  auto addSchedule = [&](PassManager &schedule, int64_t margin) {
    if (options.train && options.earlyUpdate)
      schedule.addPass(createD2LEarlyUpdate());
    if (options.fuse) {
      // Training: conv + BN + activation fused forward and backward;
      // inference (and eval_step): BN folded into the conv's weights; then
      // elementwise chains, epilogues and the multi-tensor update.
      if (options.train)
        schedule.addPass(createD2LFuseConvBnRelu());
      if (options.train && options.fuseStem)
        schedule.addPass(createD2LFuseStemBackward());
    }
    // Recomputation to a budget: after the training fusion (which decides
    // what is saved), before elementwise fusion (which groups the
    // recomputed chains like any others).
    if (options.train &&
        (!options.rematBudget.empty() || options.rematPolicy == "sqrt")) {
      D2LRematOptions o;
      o.budget = options.rematBudget;
      o.policy = options.rematPolicy;
      o.objective = options.rematObjective;
      o.margin = margin;
      // The weight gradients fuse with their updates only when fusion runs.
      o.earlyUpdate = options.earlyUpdate && options.fuse;
      schedule.addPass(createD2LRemat(o));
    }
    if (options.fuse) {
      schedule.addPass(createD2LFoldBatchNorm());
      D2LFuseElementwiseOptions o;
      o.earlyUpdate = options.train && options.earlyUpdate;
      schedule.addPass(createD2LFuseElementwise(o));
    }
    if (options.reorder)
      schedule.addPass(createD2LReorder());
    schedule.addPass(createD2LSchedule());
  };
  bool peakBudget = options.train && !options.rematBudget.empty() &&
                    options.rematPolicy != "sqrt" &&
                    options.rematObjective == "peak";
  if (!peakBudget) {
    PassManager schedule(module.getContext());
    addSchedule(schedule, 0);
    return schedule.run(module);
  }
  // A peak budget bounds the arena the scheduler plans, which the
  // recomputation's estimate only approximates: plan, and while an arena
  // exceeds its budget, plan again with the budget lowered by the excess.
  constexpr int kPlans = 6;
  int64_t margin = 0;
  int64_t lastArena = 0, lastBudget = 0;
  for (int attempt = 0; attempt < kPlans; ++attempt) {
    OwningOpRef<ModuleOp> trial = module.clone();
    PassManager schedule(module.getContext());
    addSchedule(schedule, margin);
    if (failed(schedule.run(*trial)))
      return failure();
    int64_t excess = 0;
    for (auto func : trial->getOps<func::FuncOp>()) {
      auto remat = func->getAttrOfType<DictionaryAttr>("d2l.remat");
      auto arena = func->getAttrOfType<IntegerAttr>("d2l.arena");
      if (!remat || !arena)
        continue;
      int64_t budget = remat.getAs<IntegerAttr>("budget").getInt();
      if (arena.getInt() - budget > excess) {
        excess = arena.getInt() - budget;
        lastArena = arena.getInt();
        lastBudget = budget;
      }
    }
    if (excess <= 0) {
      // Record how many plans it took, for --mem-report.
      for (auto func : trial->getOps<func::FuncOp>())
        if (auto remat = func->getAttrOfType<DictionaryAttr>("d2l.remat")) {
          NamedAttrList attrs(remat);
          attrs.set("plans",
                    IntegerAttr::get(IntegerType::get(module.getContext(), 64),
                                     attempt + 1));
          func->setAttr("d2l.remat", attrs.getDictionary(module.getContext()));
        }
      module->setAttrs(trial->getOperation()->getAttrDictionary());
      module.getBodyRegion().takeBody(trial->getBodyRegion());
      return success();
    }
    // At least 0.5% of the budget more each time, so that small excesses
    // do not take many plans.
    margin += std::max(excess, lastBudget / 200);
  }
  return emitError(module.getLoc())
         << "--remat-budget: the planned arena (" << lastArena
         << " bytes) still exceeds the budget of " << lastBudget
         << " bytes after " << kPlans
         << " plans, each with the budget lowered by the "
            "previous excess (margin now "
         << margin << " bytes)";
}
