// RUN: d2lc-opt %s --canonicalize --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @add_zero
// CHECK-SAME: (%[[X:.+]]: tensor<4x3xf32>)
// CHECK-NOT: d2l.add
// CHECK: return %[[X]]
func.func @add_zero(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %z = d2l.constant dense<0.0> : tensor<3xf32>
  %0 = d2l.add %z, %x : (tensor<3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Adding a zero that broadcasts the other operand is not an identity.
// CHECK-LABEL: func.func @add_zero_broadcast
// CHECK: d2l.add
func.func @add_zero_broadcast(%x: tensor<3xf32>) -> tensor<4x3xf32> {
  %z = d2l.constant dense<0.0> : tensor<4x3xf32>
  %0 = d2l.add %x, %z : (tensor<3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @mul_one_sub_zero_div_one
// CHECK-SAME: (%[[X:.+]]: tensor<4x3xf32>)
// CHECK-NOT: d2l.mul
// CHECK-NOT: d2l.sub
// CHECK-NOT: d2l.div
// CHECK: return %[[X]]
func.func @mul_one_sub_zero_div_one(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %one = d2l.constant dense<1.0> : tensor<f32>
  %zero = d2l.constant dense<0.0> : tensor<f32>
  %0 = d2l.mul %one, %x : (tensor<f32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %1 = d2l.sub %0, %zero : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  %2 = d2l.div %1, %one : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  return %2 : tensor<4x3xf32>
}

// -----

// x - 0 folds, 0 - x does not.
// CHECK-LABEL: func.func @zero_minus
// CHECK: d2l.sub
func.func @zero_minus(%x: tensor<4xf32>) -> tensor<4xf32> {
  %zero = d2l.constant dense<0.0> : tensor<4xf32>
  %0 = d2l.sub %zero, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @double_neg
// CHECK-SAME: (%[[X:.+]]: tensor<4xf32>)
// CHECK-NOT: d2l.neg
// CHECK: return %[[X]]
func.func @double_neg(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = d2l.neg %x : tensor<4xf32>
  %1 = d2l.neg %0 : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @transposes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[T:.+]] = d2l.transpose %[[X]] {permutation = array<i64: 2, 0, 1>}
// CHECK-NOT: d2l.transpose
// CHECK: return %[[X]], %[[T]]
func.func @transposes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x2x3xf32>) {
  %0 = d2l.transpose %x {permutation = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %1 = d2l.transpose %0 {permutation = array<i64: 1, 0, 2>} : (tensor<3x2x4xf32>) -> tensor<2x3x4xf32>
  %2 = d2l.transpose %0 {permutation = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  return %1, %2 : tensor<2x3x4xf32>, tensor<4x2x3xf32>
}

// -----

// CHECK-LABEL: func.func @reshapes
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.+]] = d2l.reshape %[[X]] {shape = array<i64: 4, 6>}
// CHECK-NOT: d2l.flatten
// CHECK-NOT: d2l.reshape
// CHECK: return %[[X]], %[[R]]
func.func @reshapes(%x: tensor<2x3x4xf32>) -> (tensor<2x3x4xf32>, tensor<4x6xf32>) {
  %0 = d2l.flatten %x : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %1 = d2l.reshape %0 {shape = array<i64: 2, 3, 4>} : (tensor<2x12xf32>) -> tensor<2x3x4xf32>
  %2 = d2l.reshape %0 {shape = array<i64: 4, 6>} : (tensor<2x12xf32>) -> tensor<4x6xf32>
  return %1, %2 : tensor<2x3x4xf32>, tensor<4x6xf32>
}

// -----

// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.+]]: tensor<2x1x4xf32>)
// CHECK-NOT: d2l.
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<2x1x4xf32>) -> (tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>) {
  %0 = d2l.flatten %x {start_dim = 1, end_dim = 1} : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  %1 = d2l.slice %0 {dim = 2, start = 0, end = 4} : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  %2 = d2l.broadcast_to %1 {shape = array<i64: 2, 1, 4>} : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  %3 = d2l.concat %2 {dim = 0} : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  %4 = d2l.sum %3 {dims = array<i64: 1>, keepdim = true} : (tensor<2x1x4xf32>) -> tensor<2x1x4xf32>
  return %0, %1, %2, %3, %4 : tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>
}

// -----

// A broadcast splat constant folds into a bigger splat.
// CHECK-LABEL: func.func @broadcast_splat
// CHECK: %[[C:.+]] = d2l.constant dense<2.500000e+00> : tensor<3x4xf32>
// CHECK-NOT: d2l.broadcast_to
// CHECK: return %[[C]]
func.func @broadcast_splat() -> tensor<3x4xf32> {
  %c = d2l.constant dense<2.5> : tensor<f32>
  %0 = d2l.broadcast_to %c {shape = array<i64: 3, 4>} : (tensor<f32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Dead pure ops disappear.
// CHECK-LABEL: func.func @dead
// CHECK-NOT: d2l.
// CHECK: return
func.func @dead(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = d2l.sigmoid %x : tensor<4x6xf32>
  %1 = d2l.softmax %0 {dim = 1} : (tensor<4x6xf32>) -> tensor<4x6xf32>
  return %x : tensor<4x6xf32>
}
