// RUN: d2lc-opt %s --split-input-file --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-fuse-stem-backward | FileCheck %s
// RUN: d2lc-opt %s --split-input-file --d2l-train-step --d2l-simplify --d2l-fuse-conv-bn-relu --d2l-fuse-stem-backward --d2l-fuse-elementwise --d2l-schedule | FileCheck %s --check-prefix=SCHED

// A conv + BN + ReLU + max-pool stem on the input: its backward (the
// max-pool's, BatchNorm's, the weight gradient and the bias's sum, and the
// recomputed activation they read) becomes one op that reads the input,
// the parameters, the batch statistics and the pooled gradient; the conv
// output is then saved no more (d2l.saved lists the statistics only).
// test/Runtime/stem-backward.py checks its numbers against PyTorch.
// CHECK-LABEL: func.func @train_step
// CHECK: %[[Y:[^,]+]], %[[MEAN:[^,]+]], %[[INVSTD:[^,]+]], %{{.+}}, %{{.+}} = d2l.conv2d_batch_stats %arg0, %arg1, %arg5, %arg6, %arg2 {d2l.saved = array<i64: 1, 2>, padding = array<i64: 1, 1>}
// CHECK: %[[P:.+]] = d2l.max_pool2d
// CHECK: d2l.cross_entropy_backward
// CHECK-NOT: d2l.max_pool2d_backward
// CHECK-NOT: d2l.batch_norm_act_backward
// CHECK-NOT: d2l.conv2d_backward_filter
// CHECK: %[[DW:[^,]+]], %[[DG:[^,]+]], %[[DB:[^,]+]], %[[DBIAS:[^,]+]] = d2l.conv_bn_relu_pool_backward %{{.+}}, %arg0, %arg1, %arg3, %arg4, %[[MEAN]], %[[INVSTD]], %arg2 {padding = array<i64: 1, 1>, pool_kernel_size = array<i64: 2, 2>, pool_stride = array<i64: 2, 2>}
// CHECK-NOT: d2l.relu
// CHECK-NOT: d2l.sum
// CHECK: d2l.mul %[[DW]]
// CHECK: d2l.mul %[[DBIAS]]
// CHECK: d2l.mul %[[DG]]
// CHECK: d2l.mul %[[DB]]
// CHECK-LABEL: func.func @eval_step
// CHECK-NOT: d2l.conv_bn_relu_pool_backward

// The scheduler gives it one launch of one block per channel.
// SCHED-LABEL: func.func @train_step
// SCHED: d2l.conv_bn_relu_pool_backward {{.+}}family = "stem_bwd", grid = array<i64: 4, 1, 1>
func.func @forward(%x: tensor<2x1x8x8xf32> {d2l.input = "X"},
                   %w0: tensor<4x1x3x3xf32> {d2l.param = "0.weight", d2l.init = "xavier_uniform"},
                   %b0: tensor<4xf32> {d2l.param = "0.bias", d2l.init = "zeros"},
                   %g0: tensor<4xf32> {d2l.param = "1.weight", d2l.init = "ones"},
                   %be0: tensor<4xf32> {d2l.param = "1.bias", d2l.init = "zeros"},
                   %m0: tensor<4xf32> {d2l.state = "1.running_mean", d2l.init = "zeros"},
                   %v0: tensor<4xf32> {d2l.state = "1.running_var", d2l.init = "ones"},
                   %w2: tensor<3x64xf32> {d2l.param = "5.weight", d2l.init = "xavier_uniform"})
    -> (tensor<2x3xf32> {d2l.output = "logits"}) {
  %0 = d2l.conv2d %x, %w0, %b0 {padding = array<i64: 1, 1>} : (tensor<2x1x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
  %1 = d2l.batch_norm_inference %0, %g0, %be0, %m0, %v0 : (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
  %2 = d2l.relu %1 : tensor<2x4x8x8xf32>
  %3 = d2l.max_pool2d %2 {kernel_size = array<i64: 2, 2>} : (tensor<2x4x8x8xf32>) -> tensor<2x4x4x4xf32>
  %4 = d2l.flatten %3 : (tensor<2x4x4x4xf32>) -> tensor<2x64xf32>
  %5 = d2l.linear %4, %w2 : (tensor<2x64xf32>, tensor<3x64xf32>) -> tensor<2x3xf32>
  return %5 : tensor<2x3xf32>
}

// -----

// The same stem on the output of another conv: its input needs a gradient
// (d2l.conv2d_backward_input reads BatchNorm's input gradient), so nothing
// is fused. And an average pool is not a max-pool.
// CHECK-LABEL: func.func @train_step
// CHECK-NOT: d2l.conv_bn_relu_pool_backward
// CHECK: d2l.max_pool2d_backward
// CHECK: d2l.batch_norm_act_backward
// CHECK: d2l.conv2d_backward_input
// CHECK: d2l.avg_pool2d_backward
// CHECK: d2l.batch_norm_act_backward
// CHECK-LABEL: func.func @eval_step
func.func @forward(%x: tensor<2x1x8x8xf32> {d2l.input = "X"},
                   %w0: tensor<4x1x3x3xf32> {d2l.param = "0.weight", d2l.init = "xavier_uniform"},
                   %g0: tensor<4xf32> {d2l.param = "1.weight", d2l.init = "ones"},
                   %be0: tensor<4xf32> {d2l.param = "1.bias", d2l.init = "zeros"},
                   %m0: tensor<4xf32> {d2l.state = "1.running_mean", d2l.init = "zeros"},
                   %v0: tensor<4xf32> {d2l.state = "1.running_var", d2l.init = "ones"},
                   %w1: tensor<4x4x3x3xf32> {d2l.param = "4.weight", d2l.init = "xavier_uniform"},
                   %g1: tensor<4xf32> {d2l.param = "5.weight", d2l.init = "ones"},
                   %be1: tensor<4xf32> {d2l.param = "5.bias", d2l.init = "zeros"},
                   %m1: tensor<4xf32> {d2l.state = "5.running_mean", d2l.init = "zeros"},
                   %v1: tensor<4xf32> {d2l.state = "5.running_var", d2l.init = "ones"},
                   %w2: tensor<3x16xf32> {d2l.param = "9.weight", d2l.init = "xavier_uniform"})
    -> (tensor<2x3xf32> {d2l.output = "logits"}) {
  %0 = d2l.conv2d %x, %w0 {padding = array<i64: 1, 1>} : (tensor<2x1x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<2x4x8x8xf32>
  %1 = d2l.batch_norm_inference %0, %g0, %be0, %m0, %v0 : (tensor<2x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x8x8xf32>
  %2 = d2l.relu %1 : tensor<2x4x8x8xf32>
  %3 = d2l.avg_pool2d %2 {kernel_size = array<i64: 2, 2>} : (tensor<2x4x8x8xf32>) -> tensor<2x4x4x4xf32>
  %4 = d2l.conv2d %3, %w1 {padding = array<i64: 1, 1>} : (tensor<2x4x4x4xf32>, tensor<4x4x3x3xf32>) -> tensor<2x4x4x4xf32>
  %5 = d2l.batch_norm_inference %4, %g1, %be1, %m1, %v1 : (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32>
  %6 = d2l.relu %5 : tensor<2x4x4x4xf32>
  %7 = d2l.max_pool2d %6 {kernel_size = array<i64: 2, 2>} : (tensor<2x4x4x4xf32>) -> tensor<2x4x2x2xf32>
  %8 = d2l.flatten %7 : (tensor<2x4x2x2xf32>) -> tensor<2x16xf32>
  %9 = d2l.linear %8, %w2 : (tensor<2x16xf32>, tensor<3x16xf32>) -> tensor<2x3xf32>
  return %9 : tensor<2x3xf32>
}

// -----

// A wide convolution (40 channels x 3 x 3 = 360 taps, over the kernel's 340:
// its per-thread sums would not fit) is left alone.
// CHECK-LABEL: func.func @train_step
// CHECK-NOT: d2l.conv_bn_relu_pool_backward
// CHECK: d2l.max_pool2d_backward
// CHECK: d2l.batch_norm_act_backward
// CHECK: d2l.conv2d_backward_filter
// CHECK-LABEL: func.func @eval_step
func.func @forward(%x: tensor<2x40x4x4xf32> {d2l.input = "X"},
                   %w0: tensor<2x40x3x3xf32> {d2l.param = "0.weight", d2l.init = "xavier_uniform"},
                   %g0: tensor<2xf32> {d2l.param = "1.weight", d2l.init = "ones"},
                   %be0: tensor<2xf32> {d2l.param = "1.bias", d2l.init = "zeros"},
                   %m0: tensor<2xf32> {d2l.state = "1.running_mean", d2l.init = "zeros"},
                   %v0: tensor<2xf32> {d2l.state = "1.running_var", d2l.init = "ones"},
                   %w2: tensor<3x8xf32> {d2l.param = "5.weight", d2l.init = "xavier_uniform"})
    -> (tensor<2x3xf32> {d2l.output = "logits"}) {
  %0 = d2l.conv2d %x, %w0 {padding = array<i64: 1, 1>} : (tensor<2x40x4x4xf32>, tensor<2x40x3x3xf32>) -> tensor<2x2x4x4xf32>
  %1 = d2l.batch_norm_inference %0, %g0, %be0, %m0, %v0 : (tensor<2x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<2x2x4x4xf32>
  %2 = d2l.relu %1 : tensor<2x2x4x4xf32>
  %3 = d2l.max_pool2d %2 {kernel_size = array<i64: 2, 2>} : (tensor<2x2x4x4xf32>) -> tensor<2x2x2x2xf32>
  %4 = d2l.flatten %3 : (tensor<2x2x2x2xf32>) -> tensor<2x8xf32>
  %5 = d2l.linear %4, %w2 : (tensor<2x8xf32>, tensor<3x8xf32>) -> tensor<2x3xf32>
  return %5 : tensor<2x3xf32>
}
