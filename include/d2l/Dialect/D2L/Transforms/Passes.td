//===- Passes.td - passes of the d2l dialect ---------------*- tablegen -*-===//

#ifndef D2L_TRANSFORMS_PASSES_TD
#define D2L_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def D2LSetBatch : Pass<"d2l-set-batch", "ModuleOp"> {
  let summary = "Rewrite a model's batch size and re-infer every shape";
  let description = [{
    Sets dimension 0 of every `d2l.input` argument of rank 1 or more to
    `batch`, rewrites the shape attributes that carried the old batch size
    (`reshape`, `broadcast_to`, splat `constant`s whose dimension 0 is the old
    batch size), then re-infers the type of every op in order with the ops'
    own shape rules and updates each function's signature. A model whose
    inputs disagree on the batch size, or an op whose shape rule rejects the
    new size (BatchNorm in training with one value per channel), is a located
    error.

    ```
    d2lc-opt --d2l-set-batch=batch=32 models/lenet.mlir
    ```
  }];
  let options = [
    Option<"batch", "batch", "int64_t", /*default=*/"0",
           "The new batch size (required, >= 1)">,
  ];
}

#endif // D2L_TRANSFORMS_PASSES_TD
