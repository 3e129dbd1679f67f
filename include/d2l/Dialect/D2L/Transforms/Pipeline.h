//===- Pipeline.h - the d2lc compilation pipeline ---------------*- C++ -*-===//
//
// What `d2lc` runs between parsing and printing CUDA, shared by d2lc and
// d2lc-bench so that a benchmark measures exactly what users compile.
//
//===----------------------------------------------------------------------===//

#ifndef D2L_DIALECT_D2L_TRANSFORMS_PIPELINE_H
#define D2L_DIALECT_D2L_TRANSFORMS_PIPELINE_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::d2l {

struct PipelineOptions {
  /// --d2l-set-batch when positive.
  int64_t batch = 0;
  /// --d2l-train-step: @train_step and @eval_step replace @forward.
  bool train = false;
  std::string loss = "cross_entropy";
  double momentum = 0, weightDecay = 0, l1 = 0, clipNorm = 0;
  double lossScale = 1;
  /// sgd or adam (with beta1, beta2, eps).
  std::string optimizer = "sgd";
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  bool emitGrads = false;
  /// @train_step also returns the training-mode logits (d2lc-train's
  /// training accuracy).
  bool emitLogits = true;
  /// The fusion passes (--d2l-fuse-conv-bn-relu in training,
  /// --d2l-fold-bn, --d2l-fuse-elementwise); false gives one kernel per op.
  bool fuse = true;
  /// Each parameter's update right after its gradient, in place
  /// (--d2l-early-update): a lower peak, one launch per parameter.
  bool earlyUpdate = false;
  /// Training: a conv-BN-ReLU-max-pool stem's backward as one kernel that
  /// recomputes its activations (--d2l-fuse-stem-backward); --d2l-remat
  /// also chooses it when it is the cheaper way to fit a budget.
  bool fuseStem = false;
  /// The memory-aware order of the ops (--d2l-reorder), kept only when it
  /// lowers the estimated peak.
  bool reorder = true;
  /// --d2l-remat when a budget (or policy sqrt) is given.
  std::string rematBudget;
  std::string rematPolicy = "auto";
  std::string rematObjective = "peak";
};

/// set-batch, train-step, simplify, (fusion), schedule. Diagnostics go to
/// the context's handler.
LogicalResult runPipeline(ModuleOp module, const PipelineOptions &options);

} // namespace mlir::d2l

#endif // D2L_DIALECT_D2L_TRANSFORMS_PIPELINE_H
