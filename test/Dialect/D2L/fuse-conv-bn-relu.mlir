// RUN: d2lc-opt %s --split-input-file --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu | FileCheck %s
// RUN: d2lc-opt %s --split-input-file --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-fuse-elementwise | FileCheck %s --check-prefix=FUSED
// The numbers (fused = unfused = PyTorch, batch size 1 included) are
// checked by test/Runtime/fusion.py.

// Two conv -> BN -> ReLU blocks. Forward: the convolutions give their
// statistics; the normalisation + ReLU is elementwise. Backward: one
// batch_norm_act_backward per block; no relu_backward, batch_norm or
// batch_norm_backward is left. The second convolution's filter gradient
// reads the first block's ReLU output recomputed from the saved conv
// output, so the saved values are the conv outputs and the statistics.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[Y0:[^,]+]], %[[M0:[^,]+]], %[[S0:[^,]+]], %{{[^,]+}}, %{{[^ ]+}} = d2l.conv2d_batch_stats %arg0, %arg1, %arg5, %arg6, %arg2 {d2l.saved = array<i64: 0, 1, 2>
// CHECK: d2l.sub %[[Y0]]
// CHECK: %[[A0:.+]] = d2l.relu
// CHECK-NOT: d2l.saved
// CHECK: %[[Y1:[^,]+]], %{{.+}} = d2l.conv2d_batch_stats %[[A0]], %arg7, %arg10, %arg11 {d2l.saved = array<i64: 0, 1, 2>}
// CHECK-NOT: d2l.batch_norm %
// CHECK: d2l.cross_entropy_backward
// CHECK: d2l.batch_norm_act_backward %{{.+}}, %[[Y1]], %arg8, %arg9, {{.+}} {activation = "relu"}
// CHECK: d2l.sub %[[Y0]]
// CHECK: %[[AGAIN:.+]] = d2l.relu
// CHECK-NEXT: d2l.conv2d_backward_filter %[[AGAIN]]
// CHECK-NEXT: d2l.batch_norm_act_backward %{{.+}}, %[[Y0]], %arg3, %arg4, %[[M0]], %[[S0]] {activation = "relu"}
// CHECK-NOT: d2l.relu_backward
// CHECK-NOT: d2l.batch_norm_backward
// CHECK-LABEL: func.func @eval_step
// After elementwise fusion: normalise + ReLU is one kernel forward, the
// recomputation one kernel backward.
// FUSED-LABEL: func.func @train_step
// FUSED: d2l.conv2d_batch_stats
// FUSED: d2l.fused "elementwise"
// FUSED-NEXT: ^bb0
// FUSED-NEXT: d2l.sub
// FUSED-NEXT: d2l.mul
// FUSED-NEXT: d2l.mul
// FUSED-NEXT: d2l.add
// FUSED-NEXT: d2l.relu
// FUSED-NEXT: d2l.yield

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

// -----

// The degenerate cases, in one model (batch size 1):
// - conv -> BN -> max pool: fused with activation "none"; the max pool's
//   gradient reads the BN output recomputed;
// - a conv output read by its BN and by a residual add: not fused (the
//   batch_norm and its backward stay);
// - conv -> ReLU -> BN: not fused, there is no conv right before the BN.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[Y:[^,]+]], %[[M:[^,]+]], %[[S:[^,]+]], %{{.+}} = d2l.conv2d_batch_stats %arg0, %arg1, %arg4, %arg5 {d2l.saved = array<i64: 0, 1, 2>
// CHECK: %[[BN0:.+]] = d2l.add
// CHECK: d2l.max_pool2d %[[BN0]]
// CHECK: %[[C1:.+]] = d2l.conv2d
// CHECK: d2l.batch_norm %[[C1]]
// CHECK: %[[C2:.+]] = d2l.conv2d
// CHECK: %[[R2:.+]] = d2l.relu %[[C2]]
// CHECK: d2l.batch_norm %[[R2]]
// CHECK: d2l.batch_norm_backward %{{.+}}, %[[R2]]
// CHECK: d2l.batch_norm_backward %{{.+}}, %[[C1]]
// CHECK: d2l.sub %[[Y]]
// CHECK: %[[AGAIN:.+]] = d2l.add
// CHECK-NEXT: %[[DP:.+]] = d2l.max_pool2d_backward %{{.+}}, %[[AGAIN]]
// CHECK-NEXT: d2l.batch_norm_act_backward %[[DP]], %[[Y]], %arg2, %arg3, %[[M]], %[[S]] {activation = "none"}
// CHECK-LABEL: func.func @eval_step

func.func @forward(%x: tensor<1x3x6x6xf32> {d2l.input = "X"},
                   %w0: tensor<4x3x3x3xf32> {d2l.param = "c0.weight", d2l.init = "xavier_uniform"},
                   %g0: tensor<4xf32> {d2l.param = "bn0.weight", d2l.init = "ones"},
                   %be0: tensor<4xf32> {d2l.param = "bn0.bias", d2l.init = "zeros"},
                   %m0: tensor<4xf32> {d2l.state = "bn0.running_mean", d2l.init = "zeros"},
                   %v0: tensor<4xf32> {d2l.state = "bn0.running_var", d2l.init = "ones"},
                   %w1: tensor<4x4x3x3xf32> {d2l.param = "c1.weight", d2l.init = "xavier_uniform"},
                   %g1: tensor<4xf32> {d2l.param = "bn1.weight", d2l.init = "ones"},
                   %be1: tensor<4xf32> {d2l.param = "bn1.bias", d2l.init = "zeros"},
                   %m1: tensor<4xf32> {d2l.state = "bn1.running_mean", d2l.init = "zeros"},
                   %v1: tensor<4xf32> {d2l.state = "bn1.running_var", d2l.init = "ones"},
                   %w2: tensor<4x4x3x3xf32> {d2l.param = "c2.weight", d2l.init = "xavier_uniform"},
                   %g2: tensor<4xf32> {d2l.param = "bn2.weight", d2l.init = "ones"},
                   %be2: tensor<4xf32> {d2l.param = "bn2.bias", d2l.init = "zeros"},
                   %m2: tensor<4xf32> {d2l.state = "bn2.running_mean", d2l.init = "zeros"},
                   %v2: tensor<4xf32> {d2l.state = "bn2.running_var", d2l.init = "ones"},
                   %w3: tensor<3x36xf32> {d2l.param = "fc.weight", d2l.init = "xavier_uniform"})
    -> (tensor<1x3xf32> {d2l.output = "logits"}) {
  // BN without a following activation (a max pool reads it).
  %0 = d2l.conv2d %x, %w0 {padding = array<i64: 1, 1>} : (tensor<1x3x6x6xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  %1 = d2l.batch_norm_inference %0, %g0, %be0, %m0, %v0 : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %2 = d2l.max_pool2d %1 {kernel_size = array<i64: 3, 3>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  // A conv output read twice: by its BN and by the residual add.
  %3 = d2l.conv2d %2, %w1 {padding = array<i64: 1, 1>} : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  %4 = d2l.batch_norm_inference %3, %g1, %be1, %m1, %v1 : (tensor<1x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %5 = d2l.relu %4 : tensor<1x4x6x6xf32>
  %6 = d2l.add %5, %3 : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  // ReLU before BN.
  %7 = d2l.conv2d %6, %w2 : (tensor<1x4x6x6xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  %8 = d2l.relu %7 : tensor<1x4x4x4xf32>
  %9 = d2l.batch_norm_inference %8, %g2, %be2, %m2, %v2 : (tensor<1x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  %10 = d2l.tanh %9 : tensor<1x4x4x4xf32>
  %11 = d2l.avg_pool2d %10 {kernel_size = array<i64: 2, 2>, stride = array<i64: 1, 1>, padding = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>) -> tensor<1x4x5x5xf32>
  %12 = d2l.slice %11 {dim = 2 : i64, start = 0 : i64, end = 3 : i64} : (tensor<1x4x5x5xf32>) -> tensor<1x4x3x5xf32>
  %13 = d2l.slice %12 {dim = 3 : i64, start = 0 : i64, end = 3 : i64} : (tensor<1x4x3x5xf32>) -> tensor<1x4x3x3xf32>
  %14 = d2l.flatten %13 : (tensor<1x4x3x3xf32>) -> tensor<1x36xf32>
  %15 = d2l.linear %14, %w3 : (tensor<1x36xf32>, tensor<3x36xf32>) -> tensor<1x3xf32>
  return %15 : tensor<1x3xf32>
}
