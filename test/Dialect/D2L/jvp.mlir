// RUN: d2lc-opt %s --split-input-file --d2l-jvp=entry=f | FileCheck %s

// Forward mode: each op's tangent is built right after it, from the
// tangents of its operands (named tangent.<argument>).

// CHECK-LABEL: func.func @f_jvp
// CHECK-SAME: %[[TX:[^:]+]]: tensor<2x1x8x8xf32> {d2l.input = "tangent.x"}
// CHECK-SAME: %[[TW:[^:]+]]: tensor<3x1x3x3xf32> {d2l.input = "tangent.w"}
// CHECK-SAME: -> (tensor<2x3x3x3xf32> {d2l.output = "y"}, tensor<2x3x3x3xf32> {d2l.output = "tangent.y"})
// The convolution is bilinear: conv(tx, w) + conv(x, tw).
// CHECK: %[[Y:.+]] = d2l.conv2d %[[X:[^,]+]], %[[W:[^ ]+]] :
// CHECK: %[[T1:.+]] = d2l.conv2d %[[TX]], %[[W]]
// CHECK: %[[T2:.+]] = d2l.conv2d %[[X]], %[[TW]]
// CHECK: %[[T:.+]] = d2l.add %[[T1]], %[[T2]]
// Max pooling selects the tangent where the input is maximal.
// CHECK: %[[R:.+]] = d2l.relu %[[Y]]
// CHECK: %[[TR:.+]] = d2l.relu_backward %[[T]], %[[R]]
// CHECK: %[[P:.+]] = d2l.max_pool2d %[[R]]
// CHECK: %[[TP:.+]] = d2l.max_pool2d_select %[[R]], %[[TR]]
// CHECK: return %[[P]], %[[TP]]
func.func @f(%x: tensor<2x1x8x8xf32> {d2l.input = "x"}, %w: tensor<3x1x3x3xf32> {d2l.param = "w"})
    -> (tensor<2x3x3x3xf32> {d2l.output = "y"}) {
  %0 = d2l.conv2d %x, %w : (tensor<2x1x8x8xf32>, tensor<3x1x3x3xf32>) -> tensor<2x3x6x6xf32>
  %1 = d2l.relu %0 : tensor<2x3x6x6xf32>
  %2 = d2l.max_pool2d %1 {kernel_size = array<i64: 2, 2>} : (tensor<2x3x6x6xf32>) -> tensor<2x3x3x3xf32>
  return %2 : tensor<2x3x3x3xf32>
}

// -----

// Product rule, and the softmax's symmetric Jacobian (its JVP is the VJP's
// formula). A constant has no tangent: the tangent of y * c is t * c.
// CHECK-LABEL: func.func @f_jvp
// CHECK: %[[M:.+]] = d2l.matmul %[[A:[^,]+]], %[[B:[^ ]+]] :
// CHECK: %[[T1:.+]] = d2l.matmul %{{.+}}, %[[B]]
// CHECK: %[[T2:.+]] = d2l.matmul %[[A]], %{{.+}}
// CHECK: %[[TM:.+]] = d2l.add %[[T1]], %[[T2]]
// CHECK: %[[S:.+]] = d2l.softmax %[[M]]
// CHECK: %[[TS:.+]] = d2l.softmax_backward %[[TM]], %[[S]] {dim = 1 : i64}
// CHECK: d2l.mul %[[TS]], %{{.+}}
// CHECK-NOT: d2l.add
func.func @f(%a: tensor<3x4xf32> {d2l.input = "a"}, %b: tensor<4x5xf32> {d2l.input = "b"})
    -> (tensor<3x5xf32> {d2l.output = "y"}) {
  %c = d2l.constant dense<2.0> : tensor<f32>
  %0 = d2l.matmul %a, %b : (tensor<3x4xf32>, tensor<4x5xf32>) -> tensor<3x5xf32>
  %1 = d2l.softmax %0 {dim = 1} : (tensor<3x5xf32>) -> tensor<3x5xf32>
  %2 = d2l.mul %1, %c : (tensor<3x5xf32>, tensor<f32>) -> tensor<3x5xf32>
  return %2 : tensor<3x5xf32>
}

// -----

// Integer results and arguments get no tangent.
// CHECK-LABEL: func.func @f_jvp
// CHECK-SAME: {d2l.input = "tangent.x"})
// CHECK-NOT: tangent.labels
// CHECK: d2l.cross_entropy_backward
// CHECK: d2l.sum %{{.+}} {dims = array<i64>}
func.func @f(%x: tensor<4x3xf32> {d2l.input = "x"}, %y: tensor<4xi64> {d2l.input = "labels"})
    -> (tensor<f32> {d2l.output = "loss"}) {
  %0 = d2l.cross_entropy %x, %y : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}
