// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.3 objective=saved policy=exact" | FileCheck %s
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.3 objective=saved policy=exhaustive" | FileCheck %s --check-prefix=EXHAUSTIVE
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.3 objective=saved policy=greedy" | FileCheck %s --check-prefix=GREEDY
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-remat="policy=sqrt" | FileCheck %s --check-prefix=SQRT
// RUN: not d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-remat="budget=100" 2>&1 | FileCheck %s --check-prefix=TOOSMALL
// RUN: not d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-remat="budget=100 policy=exhaustive" 2>&1 | FileCheck %s --check-prefix=TOOSMALL-ALL
// RUN: not d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-remat="budget=100 policy=greedy" 2>&1 | FileCheck %s --check-prefix=TOOSMALL-GREEDY
// RUN: not d2lc-opt %s --d2l-train-step --d2l-remat="budget=0.5 policy=magic" 2>&1 | FileCheck %s --check-prefix=POLICY
// RUN: not d2lc-opt %s --d2l-train-step --d2l-remat="budget=lots" 2>&1 | FileCheck %s --check-prefix=BUDGET
// RUN: not d2lc %models/resnet18.mlir --train --batch 2 --remat-budget 0.5 --remat-policy exhaustive 2>&1 | FileCheck %s --check-prefix=EXHAUSTIVE-LIMIT
// The numbers (recomputed = not recomputed, bit for bit, for ResNet-18 at
// batch 32 under half its saved bytes) are checked by
// test/Runtime/remat.py.

// Two conv + BN + ReLU blocks. Saved without recomputation: the two conv
// outputs (1152 + 512 bytes), four statistics vectors (4 x 16) and the
// logits (24): 1752 bytes. Under 30% (525 bytes) both conv outputs must go;
// the cheapest way recomputes the second block from the first (the first
// conv's output comes along and is reused by the first block's gradient):
// the forward conv2d_batch_stats ops appear again in the backward pass,
// once each. Extra FLOPs by hand: conv1 2 x 288 outputs x 27 = 15552, conv2
// 2 x 128 x 36 = 9216, the normalisation (4 ops x 2 x 288) and ReLU (288):
// 27360.
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: d2l.remat = {activations_saved = false, budget = 525 : i64, candidates = 7 : i64, evaluations = {{[0-9]+}} : i64, extra_flops = 2.736000e+04 : f64, margin = 0 : i64, objective = "saved", optimal = true, peak_after = {{[0-9]+}} : i64, peak_before = {{[0-9]+}} : i64, policy = "exact", recomputed = 4 : i64, retained = 0 : i64, retained_flops = 0.000000e+00 : f64, saved_after = 56 : i64, saved_before = 1752 : i64, stem_fused = false}
// CHECK: d2l.conv2d_batch_stats %arg0, %arg1, %arg5, %arg6, %arg2 {padding
// CHECK: d2l.conv2d_batch_stats %{{.+}}, %arg7, %arg10, %arg11 {d2l.saved = array<i64: 1, 2>}
// CHECK: d2l.cross_entropy_backward
// CHECK: %[[Y1R:[^,]+]], %[[M1R:[^,]+]], %[[S1R:[^,]+]], %{{.+}} = d2l.conv2d_batch_stats %arg0, %arg1, %arg5, %arg6, %arg2 {padding
// CHECK: %[[Y2R:[^,]+]], %{{.+}} = d2l.conv2d_batch_stats %{{.+}}, %arg7, %arg10, %arg11 :
// CHECK: d2l.batch_norm_act_backward %{{.+}}, %[[Y2R]], %arg8, %arg9
// CHECK-NOT: d2l.conv2d_batch_stats
// CHECK: d2l.batch_norm_act_backward %{{.+}}, %[[Y1R]], %arg3, %arg4, %[[M1R]], %[[S1R]]
// CHECK-LABEL: func.func @eval_step

// Every subset evaluated: the same minimum, with the two conv outputs
// only (exact keeps greedy's choice of equal cost, which also drops the
// first block's mean and inverse std, free with its recomputed conv).
// EXHAUSTIVE: evaluations = 127 : i64, extra_flops = 2.736000e+04 : f64, margin = 0 : i64, objective = "saved", optimal = true, {{.+}} policy = "exhaustive", recomputed = 2 : i64, {{.+}} saved_after = 88 : i64

// Greedy reaches the budget at the same cost; it also drops the first
// block's mean and inverse std.
// GREEDY: extra_flops = 2.736000e+04 : f64, {{.+}} policy = "greedy", recomputed = 4 : i64, {{.+}} saved_after = 56 : i64

// sqrt keeps every ceil(sqrt(7)) = 3rd saved value in forward order.
// SQRT: policy = "sqrt", recomputed = 5 : i64

// The smallest feasible budget that exact proves is the lowest peak of
// every subset (exhaustive's).
// TOOSMALL: error: --d2l-remat on @train_step: the budget of 100 bytes cannot be met: the smallest feasible budget is 5832 bytes (the lowest peak of every choice of values to recompute, proven by the exact search; without recomputation the step needs {{[0-9]+}})
// TOOSMALL-ALL: error: --d2l-remat on @train_step: the budget of 100 bytes cannot be met: the lowest peak the exhaustive search reaches is 5832 bytes
// TOOSMALL-GREEDY: error: --d2l-remat on @train_step: the budget of 100 bytes cannot be met: the lowest peak the greedy search reaches is {{[0-9]+}} bytes, the smallest feasible budget it found
// POLICY: error: --d2l-remat on @train_step: unknown policy 'magic' (expected auto, exact, greedy, sqrt or exhaustive)
// EXHAUSTIVE-LIMIT: error: --d2l-remat on @train_step: policy=exhaustive handles up to 20 saved values; this step has 57 (use policy=exact)
// BUDGET: error: --d2l-remat on @train_step: budget 'lots' is not a byte count or a fraction

func.func @forward(%x: tensor<2x3x6x6xf32> {d2l.input = "X"},
                   %w0: tensor<4x3x3x3xf32> {d2l.param = "0.weight", d2l.init = "xavier_uniform"},
                   %b0: tensor<4xf32> {d2l.param = "0.bias", d2l.init = "zeros"},
                   %g0: tensor<4xf32> {d2l.param = "1.weight", d2l.init = "ones"},
                   %be0: tensor<4xf32> {d2l.param = "1.bias", d2l.init = "zeros"},
                   %m0: tensor<4xf32> {d2l.state = "1.running_mean", d2l.init = "zeros"},
                   %v0: tensor<4xf32> {d2l.state = "1.running_var", d2l.init = "ones"},
                   %w1: tensor<4x4x3x3xf32> {d2l.param = "3.weight", d2l.init = "xavier_uniform"},
                   %g1: tensor<4xf32> {d2l.param = "4.weight", d2l.init = "ones"},
                   %be1: tensor<4xf32> {d2l.param = "4.bias", d2l.init = "zeros"},
                   %m1: tensor<4xf32> {d2l.state = "4.running_mean", d2l.init = "zeros"},
                   %v1: tensor<4xf32> {d2l.state = "4.running_var", d2l.init = "ones"},
                   %w2: tensor<3x64xf32> {d2l.param = "7.weight", d2l.init = "xavier_uniform"})
    -> (tensor<2x3xf32> {d2l.output = "logits"}) {
  %0 = d2l.conv2d %x, %w0, %b0 {padding = array<i64: 1, 1>} : (tensor<2x3x6x6xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %1 = d2l.batch_norm_inference %0, %g0, %be0, %m0, %v0 : (tensor<2x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %2 = d2l.relu %1 : tensor<2x4x6x6xf32>
  %3 = d2l.conv2d %2, %w1 : (tensor<2x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<2x4x4x4xf32>
  %4 = d2l.batch_norm_inference %3, %g1, %be1, %m1, %v1 : (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32>
  %5 = d2l.relu %4 : tensor<2x4x4x4xf32>
  %6 = d2l.flatten %5 : (tensor<2x4x4x4xf32>) -> tensor<2x64xf32>
  %7 = d2l.linear %6, %w2 : (tensor<2x64xf32>, tensor<3x64xf32>) -> tensor<2x3xf32>
  return %7 : tensor<2x3xf32>
}
