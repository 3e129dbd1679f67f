// RUN: d2lc-opt %s --split-input-file --d2l-fuse-elementwise=early-update=true | FileCheck %s
// RUN: d2lc-opt %s --split-input-file --d2l-fuse-elementwise | FileCheck %s --check-prefix=DEFAULT
// RUN: d2lc-opt %s --split-input-file --d2l-fuse-elementwise=early-update=true --d2l-schedule | FileCheck %s --check-prefix=SCHED

// With early updates a conv's weight gradient is the root of an epilogue
// group holding its update, so the gradient is never stored: here momentum
// (mu v + g + wd w, then w - lr v'), whose mu v and wd w come after the
// gradient and join the group with it. The reduction over batch x pixels
// (8 x 32 x 32 = 8192) is split: the partial sums go to a workspace, and
// the launch that adds them runs the epilogue, writing the new momentum
// and weight over the old ones (in place).
// CHECK-LABEL: func.func @momentum
// CHECK: %[[G:.+]]:2 = d2l.fused "epilogue"(%arg1, %arg2, %arg0, %arg6, %arg3, %arg5, %arg4)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: d2l.conv2d_backward_filter
// CHECK-NEXT: d2l.mul
// CHECK-NEXT: d2l.add
// CHECK-NEXT: d2l.mul
// CHECK-NEXT: d2l.add
// CHECK-NEXT: d2l.mul
// CHECK-NEXT: d2l.sub
// CHECK-NEXT: d2l.yield
// CHECK-NOT: d2l.conv2d_backward_filter
// CHECK: return %[[G]]#1, %[[G]]#0
// Without early updates the gradient is stored: the updates are sinks, one
// multi-tensor launch at the end when there are several (here one group).
// DEFAULT-LABEL: func.func @momentum
// DEFAULT: %[[W:.+]] = d2l.conv2d_backward_filter
// DEFAULT: d2l.fused "elementwise"(%arg0, %arg6, %[[W]],
// The schedule: no gradient buffer; the conv_wgrad launch writes 16
// partial sums to the workspace (buffer 7); split_sum reads the group's
// inputs and writes the new momentum over buffer 3 and the new weight over
// buffer 0.
// SCHED-LABEL: func.func @momentum
// SCHED-NOT: kind = "gradient"
// SCHED: d2l.fused "epilogue"{{.*}}args = array<i64: 1, 2, 0, 6, 3, 5, 4, 7>{{.*}}family = "conv_wgrad"{{.*}}splits = 16 : i64{{.*}}tensor<16x108xf32>]}, {args = array<i64: 1, 2, 0, 6, 3, 5, 4, 3, 0, 7>{{.*}}family = "split_sum"{{.*}}in_place = 1 : i64{{.*}}outputs = 3 : i64, role = "sum_splits"
func.func @momentum(%w: tensor<4x3x3x3xf32> {d2l.param = "w"}, %x: tensor<8x3x32x32xf32> {d2l.input = "x"},
                    %dy: tensor<8x4x32x32xf32> {d2l.input = "dy"}, %v: tensor<4x3x3x3xf32> {d2l.state = "momentum.w"},
                    %lr: tensor<f32> {d2l.input = "lr"}, %mu: tensor<f32> {d2l.input = "mu"},
                    %wd: tensor<f32> {d2l.input = "wd"})
    -> (tensor<4x3x3x3xf32> {d2l.param = "w"}, tensor<4x3x3x3xf32> {d2l.state = "momentum.w"}) {
  %g = d2l.conv2d_backward_filter %x, %dy {kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1>} : (tensor<8x3x32x32xf32>, tensor<8x4x32x32xf32>) -> tensor<4x3x3x3xf32>
  %mv = d2l.mul %v, %mu : (tensor<4x3x3x3xf32>, tensor<f32>) -> tensor<4x3x3x3xf32>
  %dw = d2l.mul %w, %wd : (tensor<4x3x3x3xf32>, tensor<f32>) -> tensor<4x3x3x3xf32>
  %gd = d2l.add %g, %dw : (tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
  %nv = d2l.add %mv, %gd : (tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
  %s = d2l.mul %nv, %lr : (tensor<4x3x3x3xf32>, tensor<f32>) -> tensor<4x3x3x3xf32>
  %nw = d2l.sub %w, %s : (tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
  return %nw, %nv : tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>
}

// -----

// The weight is read after its gradient's GEMM (the input's gradient comes
// second): the update cannot run where the GEMM is and still be written
// over the weight, so it stays out of the group (its own in-place launch
// after the input's gradient); the scaling by lr, no update, joins.
// CHECK-LABEL: func.func @late_reader
// CHECK: %[[G:.+]] = d2l.fused "epilogue"(%arg1, %arg2, %arg3)
// CHECK-NEXT: ^bb0
// CHECK-NEXT: d2l.conv2d_backward_filter
// CHECK-NEXT: d2l.mul
// CHECK-NEXT: d2l.yield
// CHECK: d2l.conv2d_backward_input %arg2, %arg0
// CHECK-NEXT: d2l.sub %arg0, %[[G]]
func.func @late_reader(%w: tensor<4x3x3x3xf32> {d2l.param = "w"}, %x: tensor<2x3x8x8xf32> {d2l.input = "x"},
                       %dy: tensor<2x4x8x8xf32> {d2l.input = "dy"}, %lr: tensor<f32> {d2l.input = "lr"})
    -> (tensor<2x3x8x8xf32> {d2l.output = "dx"}, tensor<4x3x3x3xf32> {d2l.param = "w"}) {
  %g = d2l.conv2d_backward_filter %x, %dy {kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1>} : (tensor<2x3x8x8xf32>, tensor<2x4x8x8xf32>) -> tensor<4x3x3x3xf32>
  %dx = d2l.conv2d_backward_input %dy, %w {input_shape = array<i64: 2, 3, 8, 8>, padding = array<i64: 1, 1>} : (tensor<2x4x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x3x8x8xf32>
  %s = d2l.mul %g, %lr : (tensor<4x3x3x3xf32>, tensor<f32>) -> tensor<4x3x3x3xf32>
  %nw = d2l.sub %w, %s : (tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<4x3x3x3xf32>
  return %dx, %nw : tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>
}
