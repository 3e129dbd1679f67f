// RUN: d2lc-opt %s --split-input-file --d2l-grad=entry=f | FileCheck %s
// RUN: d2lc-opt %s --split-input-file --d2l-grad="entry=f wrt=x" | FileCheck %s --check-prefix=WRTX

// Reverse mode builds each op's VJP from the dialect's gradient ops. By
// default only parameters are differentiated: no input gradient is built.

// CHECK-LABEL: func.func @f_grad
// CHECK-SAME: -> (tensor<f32> {d2l.output = "loss"}, tensor<6x1x5x5xf32> {d2l.output = "grad.w"}, tensor<6xf32> {d2l.output = "grad.b"})
// CHECK: %[[Y:.+]] = d2l.conv2d %[[X:.+]], %{{.+}}, %{{.+}} {d2l.saved
// CHECK-NOT: d2l.conv2d_backward_input
// CHECK: %[[DW:.+]] = d2l.conv2d_backward_filter %[[X]], %{{.+}} {kernel_size = array<i64: 5, 5>, padding = array<i64: 2, 2>}
// CHECK: %[[DB:.+]] = d2l.sum %{{.+}} {dims = array<i64: 0, 2, 3>}
// CHECK: return %{{.+}}, %[[DW]], %[[DB]]
// WRTX-LABEL: func.func @f_grad
// WRTX: d2l.conv2d_backward_input %{{.+}}, %{{.+}} {input_shape = array<i64: 2, 1, 8, 8>, padding = array<i64: 2, 2>}
// WRTX-NOT: d2l.conv2d_backward_filter
func.func @f(%x: tensor<2x1x8x8xf32> {d2l.input = "x"}, %w: tensor<6x1x5x5xf32> {d2l.param = "w"},
             %b: tensor<6xf32> {d2l.param = "b"}) -> (tensor<f32> {d2l.output = "loss"}) {
  %y = d2l.conv2d %x, %w, %b {padding = array<i64: 2, 2>} : (tensor<2x1x8x8xf32>, tensor<6x1x5x5xf32>, tensor<6xf32>) -> tensor<2x6x8x8xf32>
  %s = d2l.mul %y, %y : (tensor<2x6x8x8xf32>, tensor<2x6x8x8xf32>) -> tensor<2x6x8x8xf32>
  %l = d2l.sum %s {dims = array<i64>} : (tensor<2x6x8x8xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// linear: dW = dYᵀ X, db = Σ dY; activations differentiate through their
// saved outputs.
// CHECK-LABEL: func.func @f_grad
// CHECK: %[[H:.+]] = d2l.sigmoid %{{.+}} {d2l.saved = array<i64: 0>}
// CHECK: %[[DZ:.+]] = d2l.cross_entropy_backward
// CHECK: %[[DH:.+]] = d2l.matmul %[[DZ]], %{{.+}} : (tensor<4x10xf32>, tensor<10x8xf32>) -> tensor<4x8xf32>
// CHECK: d2l.matmul %[[DZ]], %[[H]] {transpose_lhs = true}
// CHECK: d2l.sum %[[DZ]] {dims = array<i64: 0>}
// CHECK: d2l.sigmoid_backward %[[DH]], %[[H]]
// The input gradient of the first layer is not built.
// CHECK-NOT: tensor<4x3xf32>) -> tensor<4x3xf32>
// WRTX-LABEL: func.func @f_grad
func.func @f(%x: tensor<4x3xf32> {d2l.input = "x"}, %w1: tensor<8x3xf32> {d2l.param = "w1"},
             %w2: tensor<10x8xf32> {d2l.param = "w2"}, %b2: tensor<10xf32> {d2l.param = "b2"},
             %y: tensor<4xi64> {d2l.input = "labels"}) -> tensor<f32> {
  %0 = d2l.linear %x, %w1 : (tensor<4x3xf32>, tensor<8x3xf32>) -> tensor<4x8xf32>
  %1 = d2l.sigmoid %0 : tensor<4x8xf32>
  %2 = d2l.linear %1, %w2, %b2 : (tensor<4x8xf32>, tensor<10x8xf32>, tensor<10xf32>) -> tensor<4x10xf32>
  %3 = d2l.cross_entropy %2, %y : (tensor<4x10xf32>, tensor<4xi64>) -> tensor<f32>
  return %3 : tensor<f32>
}

// -----

// Pooling and BatchNorm in training form: the backward op reads the saved
// batch statistics.
// CHECK-LABEL: func.func @f_grad
// CHECK: %[[Y:.+]], %[[MEAN:.+]], %[[INVSTD:.+]], %{{.+}}, %{{.+}} = d2l.batch_norm {{.+}} {d2l.saved = array<i64: 1, 2>}
// CHECK: %[[R:.+]] = d2l.relu %[[Y]] {d2l.saved = array<i64: 0>}
// CHECK: %[[P:.+]] = d2l.max_pool2d %[[R]] {kernel_size
// CHECK: %[[Q:.+]] = d2l.avg_pool2d %[[P]] {d2l.saved = array<i64: 0>
// CHECK: d2l.avg_pool2d_backward
// CHECK: d2l.max_pool2d_backward %{{.+}}, %[[R]]
// CHECK: d2l.relu_backward %{{.+}}, %[[R]]
// CHECK: d2l.batch_norm_backward %{{.+}}, %{{.+}}, %{{.+}}, %[[MEAN]], %[[INVSTD]]
// WRTX-LABEL: func.func @f_grad
func.func @f(%x: tensor<2x3x8x8xf32> {d2l.input = "x"}, %g: tensor<3xf32> {d2l.param = "g"},
             %b: tensor<3xf32> {d2l.param = "b"}, %m: tensor<3xf32> {d2l.state = "m"},
             %v: tensor<3xf32> {d2l.state = "v"}) -> tensor<f32> {
  %y, %mean, %invstd, %rm, %rv = d2l.batch_norm %x, %g, %b, %m, %v : (tensor<2x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<2x3x8x8xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  %r = d2l.relu %y : tensor<2x3x8x8xf32>
  %p = d2l.max_pool2d %r {kernel_size = array<i64: 2, 2>} : (tensor<2x3x8x8xf32>) -> tensor<2x3x4x4xf32>
  %q = d2l.avg_pool2d %p {kernel_size = array<i64: 2, 2>} : (tensor<2x3x4x4xf32>) -> tensor<2x3x2x2xf32>
  %s = d2l.mul %q, %q : (tensor<2x3x2x2xf32>, tensor<2x3x2x2xf32>) -> tensor<2x3x2x2xf32>
  %l = d2l.mean %s {dims = array<i64>} : (tensor<2x3x2x2xf32>) -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// Broadcasting: the bias's cotangent is summed back to its shape.
// CHECK-LABEL: func.func @f_grad
// CHECK: %[[S:.+]] = d2l.sum %{{.+}} {dims = array<i64: 0>, keepdim = true} : (tensor<5x4xf32>) -> tensor<1x4xf32>
// CHECK: %[[G:.+]] = d2l.reshape %[[S]] {shape = array<i64: 4>}
// CHECK: return %{{.+}}, %[[G]]
// WRTX-LABEL: func.func @f_grad
// WRTX-NOT: d2l.sum %{{.+}} {dims = array<i64: 0>, keepdim = true}
func.func @f(%x: tensor<5x4xf32> {d2l.input = "x"}, %b: tensor<4xf32> {d2l.param = "b"}) -> tensor<f32> {
  %0 = d2l.add %x, %b : (tensor<5x4xf32>, tensor<4xf32>) -> tensor<5x4xf32>
  %1 = d2l.tanh %0 : tensor<5x4xf32>
  %2 = d2l.mse_loss %1, %x : (tensor<5x4xf32>, tensor<5x4xf32>) -> tensor<f32>
  return %2 : tensor<f32>
}
