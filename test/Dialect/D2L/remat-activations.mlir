// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-early-update --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.8 policy=exact" | FileCheck %s
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-early-update --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.8 policy=exhaustive" | FileCheck %s --check-prefix=EXHAUSTIVE
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-early-update --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.99 policy=exact" | FileCheck %s --check-prefix=NARROW

// Two conv + BN + ReLU blocks (batch 8, 2 channels at 8x8: 4096 bytes per
// activation) and a linear head. FuseConvBnRelu saves the conv outputs and
// recomputes the ReLU outputs the backward pass reads (the first for the
// second conv's filter gradient, the second for the head's weight gradient).
// Under 80% of the estimated peak no choice among those saved values fits,
// so --d2l-remat also searches the step with the activations saved
// (restoreActivations: the backward pass reads the forward ReLU outputs)
// and finds one there: it keeps the second block's output (through its
// flatten) and recomputes the first block from the input three times (for
// the second BatchNorm's backward with the second conv, for the second
// conv's filter gradient, for the first BatchNorm's backward). Extra FLOPs
// by hand: conv0 3 x 2 x 1024 outputs x 27 = 165888, its normalisation and
// ReLU twice (sub, mul, mul, add at 2 x 1024, relu 1024: 9216 each),
// conv1 2 x 1024 x 18 = 36864, less the two ReLU chains the step no longer
// recomputes (18432): 202752. Exhaustive, which evaluates every subset of
// both variants' saved values, finds the same minimum (another choice of
// that cost: it keeps the first block's statistics).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: d2l.remat = {activations_saved = true, budget = 19385 : i64, candidates = 9 : i64, evaluations = {{[0-9]+}} : i64, extra_flops = 2.027520e+05 : f64, margin = 0 : i64, objective = "peak", optimal = true, peak_after = 18616 : i64, peak_before = 24232 : i64, policy = "exact"
// CHECK: %[[A:.+]] = d2l.relu
// CHECK: d2l.conv2d_batch_stats %[[A]], %arg6
// CHECK: %[[B:.+]] = d2l.relu
// CHECK: %[[F:.+]] = d2l.flatten %[[B]] {d2l.saved = array<i64: 0>}
// CHECK: d2l.cross_entropy_backward
// CHECK: d2l.matmul %{{.+}}, %[[F]] {transpose_lhs = true}
// CHECK-COUNT-3: d2l.conv2d_batch_stats %arg0, %arg1
// CHECK-NOT: d2l.conv2d_batch_stats
// CHECK: d2l.conv2d_backward_filter %arg0
// CHECK-LABEL: func.func @eval_step
// EXHAUSTIVE: d2l.remat = {activations_saved = true, {{.+}} extra_flops = 2.027520e+05 : f64, {{.+}} optimal = true, {{.+}} policy = "exhaustive"

// Where the step's own saved values fit (99%), the activations stay
// recomputed by FuseConvBnRelu's elementwise kernels.
// NARROW: d2l.remat = {activations_saved = false, {{.+}} optimal = true, peak_after = 22728 : i64

func.func @forward(%x: tensor<8x3x8x8xf32> {d2l.input = "X"},
    %w0: tensor<2x3x3x3xf32> {d2l.param = "0.conv.weight", d2l.init = "xavier_uniform"},
    %g0: tensor<2xf32> {d2l.param = "0.bn.weight", d2l.init = "ones"},
    %be0: tensor<2xf32> {d2l.param = "0.bn.bias", d2l.init = "zeros"},
    %m0: tensor<2xf32> {d2l.state = "0.bn.running_mean", d2l.init = "zeros"},
    %v0: tensor<2xf32> {d2l.state = "0.bn.running_var", d2l.init = "ones"},
    %w1: tensor<2x2x3x3xf32> {d2l.param = "1.conv.weight", d2l.init = "xavier_uniform"},
    %g1: tensor<2xf32> {d2l.param = "1.bn.weight", d2l.init = "ones"},
    %be1: tensor<2xf32> {d2l.param = "1.bn.bias", d2l.init = "zeros"},
    %m1: tensor<2xf32> {d2l.state = "1.bn.running_mean", d2l.init = "zeros"},
    %v1: tensor<2xf32> {d2l.state = "1.bn.running_var", d2l.init = "ones"},
    %wl: tensor<3x128xf32> {d2l.param = "head.weight", d2l.init = "xavier_uniform"}) -> (tensor<8x3xf32> {d2l.output = "logits"}) {
  %c0 = d2l.conv2d %x, %w0 {padding = array<i64: 1, 1>} : (tensor<8x3x8x8xf32>, tensor<2x3x3x3xf32>) -> tensor<8x2x8x8xf32>
  %n0 = d2l.batch_norm_inference %c0, %g0, %be0, %m0, %v0 : (tensor<8x2x8x8xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<8x2x8x8xf32>
  %r0 = d2l.relu %n0 : tensor<8x2x8x8xf32>
  %c1 = d2l.conv2d %r0, %w1 {padding = array<i64: 1, 1>} : (tensor<8x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<8x2x8x8xf32>
  %n1 = d2l.batch_norm_inference %c1, %g1, %be1, %m1, %v1 : (tensor<8x2x8x8xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<8x2x8x8xf32>
  %r1 = d2l.relu %n1 : tensor<8x2x8x8xf32>
  %f = d2l.flatten %r1 : (tensor<8x2x8x8xf32>) -> tensor<8x128xf32>
  %y = d2l.linear %f, %wl : (tensor<8x128xf32>, tensor<3x128xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}
