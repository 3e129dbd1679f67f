// RUN: d2lc-opt %s --split-input-file --d2l-simplify | FileCheck %s

// Zero propagation: x * 0 is a zero constant, and what only fed it is dead.
// CHECK-LABEL: func.func @mul_by_zero
// CHECK: %[[Z:.+]] = d2l.constant dense<0.000000e+00> : tensor<4x3xf32>
// CHECK-NOT: d2l.mul
// CHECK-NOT: d2l.exp
// CHECK: return %[[Z]]
func.func @mul_by_zero(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %zero = d2l.constant dense<0.0> : tensor<f32>
  %0 = d2l.exp %x : tensor<4x3xf32>
  %1 = d2l.mul %0, %zero : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  return %1 : tensor<4x3xf32>
}

// -----

// Arithmetic on constants folds; chains of scalings become one.
// CHECK-LABEL: func.func @constants
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK: %[[C:.+]] = d2l.constant dense<6.000000e+00> : tensor<f32>
// CHECK: %[[R:.+]] = d2l.mul %[[X]], %[[C]]
// CHECK-NOT: d2l.mul
// CHECK: return %[[R]]
func.func @constants(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = d2l.constant dense<2.0> : tensor<f32>
  %b = d2l.constant dense<1.0> : tensor<f32>
  %c = d2l.add %a, %b : (tensor<f32>, tensor<f32>) -> tensor<f32>
  %0 = d2l.mul %x, %a : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = d2l.mul %0, %c : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// Negations cancel into subtraction and addition.
// CHECK-LABEL: func.func @negations
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>, %[[Y:.+]]: tensor<4xf32>)
// CHECK-NOT: d2l.neg
// CHECK-DAG: %[[A:.+]] = d2l.add %[[X]], %[[Y]]
// CHECK-DAG: %[[S:.+]] = d2l.sub %[[X]], %[[Y]]
// CHECK-DAG: %[[T:.+]] = d2l.sub %[[Y]], %[[X]]
// CHECK: return %[[A]], %[[S]], %[[T]]
func.func @negations(%x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %n = d2l.neg %y : tensor<4xf32>
  %0 = d2l.sub %x, %n : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = d2l.add %n, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = d2l.sub %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = d2l.neg %2 : tensor<4xf32>
  return %0, %1, %3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Broadcast then reduce over the broadcast dimensions is a scaling.
// CHECK-LABEL: func.func @broadcast_then_reduce
// CHECK-SAME: (%[[X:.+]]: tensor<3x1xf32>)
// CHECK-NOT: d2l.broadcast_to
// CHECK-NOT: d2l.sum
// CHECK: %[[C:.+]] = d2l.constant dense<2.000000e+01> : tensor<f32>
// CHECK: %[[M:.+]] = d2l.mul %[[X]], %[[C]]
// CHECK: %[[R:.+]] = d2l.reshape %[[M]] {shape = array<i64: 3>}
// CHECK: return %[[R]]
func.func @broadcast_then_reduce(%x: tensor<3x1xf32>) -> tensor<3xf32> {
  %0 = d2l.broadcast_to %x {shape = array<i64: 4, 3, 5>} : (tensor<3x1xf32>) -> tensor<4x3x5xf32>
  %1 = d2l.sum %0 {dims = array<i64: 0, 2>} : (tensor<4x3x5xf32>) -> tensor<3xf32>
  return %1 : tensor<3xf32>
}

// -----

// Reducing over some, not all, broadcast dimensions stays.
// CHECK-LABEL: func.func @partial_reduce
// CHECK: d2l.broadcast_to
// CHECK: d2l.sum
func.func @partial_reduce(%x: tensor<3x1xf32>) -> tensor<3x5xf32> {
  %0 = d2l.broadcast_to %x {shape = array<i64: 4, 3, 5>} : (tensor<3x1xf32>) -> tensor<4x3x5xf32>
  %1 = d2l.sum %0 {dims = array<i64: 0>} : (tensor<4x3x5xf32>) -> tensor<3x5xf32>
  return %1 : tensor<3x5xf32>
}

// -----

// A ReLU gradient masked twice by the same output is masked once; relu of
// relu is relu.
// CHECK-LABEL: func.func @relu_mask
// CHECK-SAME: (%[[G:.+]]: tensor<4xf32>, %[[X:.+]]: tensor<4xf32>)
// CHECK: %[[Y:.+]] = d2l.relu %[[X]]
// CHECK-NOT: d2l.relu %
// CHECK: %[[D:.+]] = d2l.relu_backward %[[G]], %[[Y]]
// CHECK-NOT: d2l.relu_backward
// CHECK: return %[[D]]
func.func @relu_mask(%g: tensor<4xf32>, %x: tensor<4xf32>) -> tensor<4xf32> {
  %y = d2l.relu %x : tensor<4xf32>
  %z = d2l.relu %y : tensor<4xf32>
  %0 = d2l.relu_backward %g, %z : tensor<4xf32>
  %1 = d2l.relu_backward %0, %z : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// Common subexpressions merge; broadcasts of broadcasts collapse; sums over
// unit dimensions are reshapes.
// CHECK-LABEL: func.func @cse
// CHECK-COUNT-1: d2l.sigmoid_backward
// CHECK-NOT: d2l.sigmoid_backward
// CHECK: d2l.broadcast_to %{{.+}} {shape = array<i64: 2, 4, 3>} : (tensor<f32>)
// CHECK-NOT: d2l.broadcast_to
// CHECK-NOT: d2l.sum
func.func @cse(%g: tensor<4x3xf32>, %y: tensor<4x3xf32>, %s: tensor<f32>) -> (tensor<4x3xf32>, tensor<2x4x3xf32>, tensor<4xf32>) {
  %0 = d2l.sigmoid_backward %g, %y : tensor<4x3xf32>
  %1 = d2l.sigmoid_backward %g, %y : tensor<4x3xf32>
  %2 = d2l.add %0, %1 : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %3 = d2l.broadcast_to %s {shape = array<i64: 4, 3>} : (tensor<f32>) -> tensor<4x3xf32>
  %4 = d2l.broadcast_to %3 {shape = array<i64: 2, 4, 3>} : (tensor<4x3xf32>) -> tensor<2x4x3xf32>
  %5 = d2l.reshape %g {shape = array<i64: 4, 3, 1>} : (tensor<4x3xf32>) -> tensor<4x3x1xf32>
  %6 = d2l.slice %5 {dim = 1, start = 0, end = 1} : (tensor<4x3x1xf32>) -> tensor<4x1x1xf32>
  %7 = d2l.sum %6 {dims = array<i64: 1, 2>} : (tensor<4x1x1xf32>) -> tensor<4xf32>
  return %2, %4, %7 : tensor<4x3xf32>, tensor<2x4x3xf32>, tensor<4xf32>
}

// -----

// d2l.saved marks the forward values that the backward part still reads
// (the loss is result 0): the sigmoid's output, not its input.
// CHECK-LABEL: func.func @saved
// CHECK: %[[H:.+]] = d2l.linear %{{.+}}, %{{.+}} : (
// CHECK: %[[S:.+]] = d2l.sigmoid %[[H]] {d2l.saved = array<i64: 0>}
// CHECK: d2l.sigmoid_backward %{{.+}}, %[[S]]
func.func @saved(%x: tensor<4x3xf32>, %w: tensor<5x3xf32>) -> (tensor<f32>, tensor<4x5xf32>) {
  %h = d2l.linear %x, %w : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<4x5xf32>
  %s = d2l.sigmoid %h : tensor<4x5xf32>
  %l = d2l.sum %s {dims = array<i64>} : (tensor<4x5xf32>) -> tensor<f32>
  %one = d2l.constant dense<1.0> : tensor<4x5xf32>
  %g = d2l.sigmoid_backward %one, %s : tensor<4x5xf32>
  return %l, %g : tensor<f32>, tensor<4x5xf32>
}
