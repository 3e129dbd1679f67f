//===- Passes.td - passes of the d2l dialect ---------------*- tablegen -*-===//

#ifndef D2L_TRANSFORMS_PASSES_TD
#define D2L_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def D2LUnroll : Pass<"d2l-unroll", "ModuleOp"> {
  let summary = "Unroll every d2l.scan into its steps";
  let description = [{
    Replaces each `d2l.scan` of T steps by T copies of its body: step t reads
    `sequences[i][t]` (a `d2l.slice` of the leading dimension and a
    `d2l.reshape` that drops it) and the values the previous copy yielded;
    the stacked outputs are the steps' outputs concatenated along dimension
    0 and reshaped to [T, ...]. Every copy of a `d2l.dropout` gets a salt of
    its own (the largest salt of the function plus one, and so on), so each
    step draws an independent mask, as PyTorch does. Nested scans are
    unrolled from the inside out.

    The pipeline of `d2lc` runs it first: differentiation, the memory report
    and recomputation then see every step and its saved values. Passes that
    cannot look inside a scan (batch rewriting, differentiation, scheduling)
    stop with an error that names this pass.

    ```
    d2lc-opt --d2l-unroll models/gru_lm.mlir
    ```
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

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

def D2LGrad : Pass<"d2l-grad", "ModuleOp"> {
  let summary = "Reverse mode: build @F_grad returning F's scalar value and "
                "its gradients";
  let description = [{
    For a function `@F` returning one scalar (a 0-d float tensor), builds
    `@F_grad` with `@F`'s arguments, returning the value and then the
    gradient of every selected argument, named `grad.<name>`. The
    derivative is built as IR by the ops' DifferentiableOpInterface
    (symbol-to-symbol, not a tape); the forward values that the backward ops
    use are marked `d2l.saved`.

    ```
    d2lc-opt --d2l-grad="entry=loss wrt=0.weight,0.bias" model.mlir
    ```
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "The function to differentiate">,
    ListOption<"wrt", "wrt", "std::string",
               "Arguments (names or indices) to differentiate with respect "
               "to; default: every d2l.param">,
  ];
}

def D2LVjp : Pass<"d2l-vjp", "ModuleOp"> {
  let summary = "Reverse mode for any function: build @F_vjp";
  let description = [{
    Builds `@F_vjp(arguments..., cotangents...) -> (results...,
    gradients...)`: one cotangent argument per floating-point result, named
    `cotangent.<result>`, and the vector-Jacobian product for every selected
    argument (default: every floating-point argument), named
    `grad.<argument>`.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "The function to differentiate">,
    ListOption<"wrt", "wrt", "std::string",
               "Arguments to differentiate with respect to; default: every "
               "floating-point argument">,
  ];
}

def D2LJvp : Pass<"d2l-jvp", "ModuleOp"> {
  let summary = "Forward mode: build @F_jvp(primals, tangents) -> (outputs, "
                "tangent outputs)";
  let description = [{
    Builds `@F_jvp` taking `@F`'s arguments and one tangent per selected
    argument (default: every floating-point argument), named
    `tangent.<argument>`, and returning `@F`'s results followed by their
    tangents, named `tangent.<result>`. Each op's tangent is built right
    after it by its DifferentiableOpInterface.
  }];
  let options = [
    Option<"entry", "entry", "std::string", /*default=*/"\"forward\"",
           "The function to differentiate">,
    ListOption<"wrt", "wrt", "std::string",
               "Arguments with a tangent; default: every floating-point "
               "argument">,
  ];
}

def D2LTrainStep : Pass<"d2l-train-step", "ModuleOp"> {
  let summary = "Wrap @forward into @train_step (loss, gradients, SGD) and "
                "@eval_step";
  let description = [{
    `@train_step` takes `@forward`'s arguments plus the inputs `labels` and
    `lr` (a scalar), a `seed` input when the model has dropout, and one
    `momentum.<param>` state per parameter when momentum is non-zero. It
    runs the forward pass in training mode (BatchNorm on batch statistics,
    dropout active), computes the loss, differentiates it, and applies
    PyTorch's SGD: `d = g + weight_decay p`, `buf = momentum buf + d`,
    `p -= lr buf` (`d` without momentum). With `l1` the loss includes
    `l1 Σ|p|`. It returns `loss`, the new value of every parameter and state
    (same names), and with `emit-grads` the gradients `grad.<param>`. With
    `clip-norm` the gradients are first scaled as
    `torch.nn.utils.clip_grad_norm_(params, clip_norm)` does (by
    `min(1, clip_norm / (‖g‖ + 1e-6))`, ‖g‖ the L2 norm of all of them
    together); the emitted gradients are the clipped ones. With
    `loss-scale` S the gradients are those of S times the loss (the
    returned loss is not scaled): the book's `train_seq2seq` backpropagates
    `MaskedSoftmaxCELoss(...).sum()`, the sum over the batch of per-sequence
    means, which is B times d2lc's mean over the B T positions, so
    `loss-scale=B` gives its gradients and what its clipping sees.

    With `optimizer=adam` the update is torch.optim.Adam's (no amsgrad):
    `d = g + weight_decay p`, `m = β1 m + (1 - β1) d`,
    `v = β2 v + (1 - β2) d²`, `p -= lr (m / (1 - β1^t)) /
    (sqrt(v) / sqrt(1 - β2^t) + eps)`, with the states
    `adam.exp_avg.<param>`, `adam.exp_avg_sq.<param>` (zeros) and the step
    count `adam.step` (a float scalar, t - 1 before the step).

    `@eval_step` takes `@forward`'s arguments and `labels` and returns the
    logits (inference mode: running statistics, no dropout) and the loss.
  }];
  let options = [
    Option<"forward", "forward", "std::string", /*default=*/"\"forward\"",
           "The model's inference function">,
    Option<"loss", "loss", "std::string", /*default=*/"\"cross_entropy\"",
           "cross_entropy or mse">,
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"sgd\"",
           "sgd or adam">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9",
           "Adam: decay of the first moment">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999",
           "Adam: decay of the second moment">,
    Option<"eps", "eps", "double", /*default=*/"1e-8",
           "Adam: added to the denominator">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0",
           "SGD momentum">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.0",
           "L2 penalty applied by the optimizer, as torch.optim.SGD">,
    Option<"l1", "l1", "double", /*default=*/"0.0",
           "Adds l1 * Σ|p| over the parameters to the loss">,
    Option<"clipNorm", "clip-norm", "double", /*default=*/"0.0",
           "Clips the gradients to this global L2 norm before the update, "
           "as torch.nn.utils.clip_grad_norm_ (0: no clipping)">,
    Option<"lossScale", "loss-scale", "double", /*default=*/"1.0",
           "Differentiates loss-scale times the loss (the returned loss "
           "is not scaled)">,
    Option<"emitLogits", "emit-logits", "bool", /*default=*/"false",
           "Also return the training-mode output of @forward (under its "
           "name), for the training accuracy">,
    Option<"emitGrads", "emit-grads", "bool", /*default=*/"false",
           "Also return the gradients, named grad.<param>">,
  ];
}

def D2LSimplify : Pass<"d2l-simplify", "ModuleOp"> {
  let summary = "Simplify derivative graphs: algebra, zeros, CSE, dead code";
  let description = [{
    Canonicalization patterns for what differentiation produces (x*1, x+0,
    multiplication by zero, double negation, x - (-y), constant arithmetic,
    transpose∘transpose, reshape chains, broadcast-then-reduce, ReLU
    gradients through the same mask), then common-subexpression and dead-code
    elimination, repeated to a fixed point. Finally re-marks `d2l.saved`: the
    forward values that the backward ops still use.
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LGradStats : Pass<"d2l-grad-stats", "ModuleOp"> {
  let summary = "Print, per function, the op counts of the forward, gradient "
                "and update parts and the saved bytes";
  let description = [{
    For every function whose result 0 is a scalar loss: forward ops (those
    the loss depends on), gradient ops (the rest, except the optimizer's),
    update ops (those that depend on an argument named `lr`), the ratio of
    gradient to forward ops, and the values and bytes marked `d2l.saved`.
    Other functions get their op count. Printed to stdout, one line each.
  }];
}

def D2LSchedule : Pass<"d2l-schedule", "ModuleOp"> {
  let summary = "Decide kernels, launch configurations, tiles and buffers";
  let description = [{
    Everything the CUDA emitter needs, decided here and stored as attributes
    so that it can be checked with FileCheck and the emitter only prints:

    - on each op, `d2l.launches`: the kernels it runs, each a dictionary
      with `kernel` (a name shared by identical kernels), `family` (the code
      template: pointwise, gemm, conv_fwd, conv_transpose, conv_wgrad,
      split_sum, pool, pool_backward, bn_stats, bn_apply, bn_infer,
      bn_bwd_reduce, bn_bwd_apply, reduce, softmax, ce_fwd, ce_bwd, gather,
      argmax), `grid`, `block`, `args` (buffer ids, in the kernel's
      parameter order) and family parameters (`tile` = [BM, BN, BK] for the
      GEMMs, `splits` for split-K, `strategy` for reductions);
    - on each op, `d2l.buffer`: the buffer of each result (reshapes and
      flattens alias their operand's buffer and launch nothing);
    - on each function, `d2l.buffers`: the buffer table (id, kind, dtype,
      shape, bytes, first and last launch, name), and `d2l.arg_buffers` /
      `d2l.result_buffers`.

    Buffer kinds: parameter, state, input, constant, output (a returned
    value), saved (a forward value the backward part reads, from
    `d2l.saved`), activation (another forward value), gradient (a value of
    the backward part), workspace (kernel scratch).
  }];
}

def D2LFuseElementwise : Pass<"d2l-fuse-elementwise", "ModuleOp"> {
  let summary = "Fuse producer-consumer chains of elementwise ops, GEMM "
                "epilogues, and the optimizer update (multi-tensor apply)";
  let description = [{
    Groups, in program order, each elementwise op with the group of one of
    its producers when they iterate over the same shape: bias adds,
    activations, dropout, residual add + ReLU, scalings. A chain that starts
    at a conv2d, conv_transpose2d, conv2d_backward_input, linear, matmul or
    batch_matmul becomes that op's epilogue. An op joins a group only when
    every other input is defined before the group starts, so the group runs
    where its first op was (a GEMM epilogue where the GEMM was). Finally the groups whose results only leave the function
    (the update of every parameter and momentum buffer in a training step)
    merge into one launch, unless `early-update` keeps each where it is (see
    `--d2l-early-update`). Each group becomes a `d2l.fused` op.
  }];
  let options = [
    Option<"earlyUpdate", "early-update", "bool", /*default=*/"false",
           "Keep each parameter's update where it is instead of merging "
           "all of them into one launch at the end">,
  ];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LEarlyUpdate : Pass<"d2l-early-update", "ModuleOp"> {
  let summary = "Move each parameter's optimizer update to right after its "
                "gradient is complete";
  let description = [{
    In a function that returns new values of its parameters and states (a
    training step), the update chains are the elementwise ops whose results
    reach only those returned values (SGD's `w - lr g`, the momentum buffer,
    Adam's moments). Each connected
    chain moves to right after the last of its inputs and of the other
    readers of the parameters and states it updates; a gradient accumulated
    over several terms (a recurrent weight's) is summed where its terms are
    complete, only the update moves. The scheduler then
    writes the update over the parameter in place and the gradient dies at
    once instead of waiting for the end of the backward pass, which lowers
    the step's peak memory. With gradient clipping by global norm every
    update waits for the norm, as it must.

    ```
    d2lc-opt --d2l-train-step --d2l-simplify --d2l-early-update model.mlir
    ```
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LFoldBatchNorm : Pass<"d2l-fold-bn", "ModuleOp"> {
  let summary = "Fold inference BatchNorm into the preceding conv2d or linear";
  let description = [{
    `batch_norm_inference(conv2d(x, w, b))` becomes `conv2d(x, w', b')` with
    `w' = w gamma / sqrt(var + eps)` per output channel and
    `b' = (b - mean) gamma / sqrt(var + eps) + beta`; likewise a linear
    followed by BatchNorm1d. Every folded pair of a function gets its `w'`
    and `b'` from one `d2l.fused "multi"` at the function's entry. A
    producer whose output has another use is left alone. Run
    --d2l-fuse-elementwise after it to make the following activation the
    convolution's epilogue.
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LFuseConvBnRelu : Pass<"d2l-fuse-conv-bn-relu", "ModuleOp"> {
  let summary = "Fuse conv2d + BatchNorm (training) + activation, forward "
                "and backward, saving only the conv output";
  let description = [{
    In a training step (after --d2l-train-step), each
    `conv2d -> batch_norm -> relu|sigmoid|tanh` (or no activation) whose
    conv output feeds only the BatchNorm and its gradient becomes:

    - forward: `conv2d_batch_stats` (the convolution's kernel accumulates
      each channel's sum and sum of squares as it stores, then a tiny
      kernel finishes the statistics and the running averages), and the
      normalisation + activation as elementwise ops that
      --d2l-fuse-elementwise turns into one kernel (with a following
      residual add and ReLU when there is one);
    - backward: `batch_norm_act_backward`, one kernel for the activation's
      derivative (recomputed from the conv output: no ReLU mask or
      normalised tensor is kept), the BatchNorm reductions and its input
      gradient; then the convolution's backward kernels;
    - saved: the conv output and the per-channel statistics. The
      activation's output, which the backward pass would read (the next
      convolution's input), is recomputed there from them.
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LReorder : Pass<"d2l-reorder", "ModuleOp"> {
  let summary = "Reorder the ops to lower the peak of live bytes";
  let description = [{
    A memory-aware list schedule of each function: among the ops whose
    operands are ready, the one that frees the most bytes net of what it
    allocates runs first (ties in program order). The new order replaces
    the old one only when its peak of live bytes is lower (each value from
    its definition to its last reader, views sharing their source,
    parameters and their new values outside the count). An op returning a
    new value of a parameter or state runs after every other reader of the
    argument, so the scheduler can still write it in place. The estimates
    are recorded as `d2l.reorder` on the function.
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LFuseStemBackward : Pass<"d2l-fuse-stem-backward", "ModuleOp"> {
  let summary = "A conv-BN-ReLU-max-pool stem's backward pass as one kernel "
                "that recomputes its activations";
  let description = [{
    On a training step (after --d2l-fuse-conv-bn-relu): the backward ops of
    a conv + BatchNorm + ReLU + max-pool whose input needs no gradient (the
    max-pool backward, BatchNorm's backward, the weight gradient and the
    bias's sum) become one d2l.conv_bn_relu_pool_backward, which reads the
    input, the parameters, the batch statistics and the pooled gradient
    only; the convolution's output is then no longer saved. --d2l-remat
    applies it when it recomputes the stem; this pass applies it alone.
  }];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

def D2LRemat : Pass<"d2l-remat", "ModuleOp"> {
  let summary = "Recompute saved activations in the backward pass to fit a "
                "memory budget with the fewest extra FLOPs";
  let description = [{
    On a training step: chooses which values saved for the backward pass to
    recompute (from the values still saved) so that the step's estimated
    peak memory (`objective=peak`) or the bytes saved for the backward pass
    (`objective=saved`) fit `budget` (bytes, or a fraction < 1 of the value
    without recomputation) with the fewest extra FLOPs. `policy`: `exact` or `auto` (branch
    and bound over every subset of the saved values, seeded with the greedy
    choice; `optimal` in `d2l.remat` says whether it finished), `greedy`
    (the largest peak reduction per extra FLOP first), `exhaustive` (every
    subset evaluated, up to 20 saved values: a cross-check of exact),
    `sqrt` (keep every ceil(sqrt(n))-th saved value: Chen et al.'s
    checkpointing, the baseline). When the step's own saved values cannot
    meet a peak budget, the search also tries the step with the activations
    FuseConvBnRelu recomputes saved instead (`activations_saved`). With
    objective=peak each recomputation starts from the saved values; then
    `retain` keeps, greedily, recomputed values whose reuse by later
    recomputations saves FLOPs, while the step fits. An unreachable budget is
    an error naming the smallest feasible one. The choice is recorded as
    `d2l.remat` on the function.
  }];
  let options = [
    Option<"budget", "budget", "std::string", /*default=*/"\"\"",
           "Bytes, or a fraction (< 1) of the peak without recomputation">,
    Option<"policy", "policy", "std::string", /*default=*/"\"auto\"",
           "auto, exact, greedy, sqrt or exhaustive">,
    Option<"objective", "objective", "std::string", /*default=*/"\"peak\"",
           "What the budget bounds: peak (the step's memory) or saved (the "
           "bytes kept for the backward pass)">,
    Option<"margin", "margin", "int64_t", /*default=*/"0",
           "With objective=peak: bytes to keep below the budget (by how "
           "much a planned arena exceeded the estimate; d2lc sets it when "
           "it plans again)">,
    Option<"earlyUpdate", "early-update", "bool", /*default=*/"false",
           "The updates run right after their gradients "
           "(--d2l-early-update, with --d2l-fuse-elementwise's early-update "
           "after this pass): a conv's weight gradient read only by its "
           "update fuses with it and takes no memory">,
    Option<"retain", "retain", "bool", /*default=*/"true",
           "With objective=peak: after the search, keep recomputed values "
           "that save FLOPs until their last reader while the step fits "
           "(`retained` in d2l.remat)">,
  ];
  let dependentDialects = ["::mlir::d2l::D2LDialect"];
}

#endif // D2L_TRANSFORMS_PASSES_TD
