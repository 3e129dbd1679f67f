// RUN: d2lc-opt %s --split-input-file --d2l-unroll | FileCheck %s
// RUN: d2lc-opt %s --split-input-file --d2l-unroll --d2l-simplify | FileCheck %s --check-prefix=SIMPLE
// RUN: not d2lc-opt %s --split-input-file --d2l-vjp=entry=rnn 2>&1 | FileCheck %s --check-prefix=NOT-UNROLLED

// Three steps of h = tanh(W h + x_t): step t reads xs[t] (slice + reshape),
// the next step the previous tanh; the outputs concatenate to [3 * 2, 4]
// and are viewed as [3, 2, 4].
// CHECK-LABEL: func.func @rnn
// CHECK-NOT: d2l.scan
// CHECK: %[[S0:.+]] = d2l.slice %[[XS:.+]] {dim = 0 : i64, end = 1 : i64, start = 0 : i64}
// CHECK: %[[X0:.+]] = d2l.reshape %[[S0]] {shape = array<i64: 2, 4>}
// CHECK: %[[L0:.+]] = d2l.linear %[[H0:.+]], %[[W:.+]] :
// CHECK: %[[A0:.+]] = d2l.add %[[L0]], %[[X0]]
// CHECK: %[[T0:.+]] = d2l.tanh %[[A0]]
// CHECK: %[[S1:.+]] = d2l.slice %[[XS]] {dim = 0 : i64, end = 2 : i64, start = 1 : i64}
// CHECK: %[[X1:.+]] = d2l.reshape %[[S1]]
// CHECK: %[[L1:.+]] = d2l.linear %[[T0]], %[[W]] :
// CHECK: %[[A1:.+]] = d2l.add %[[L1]], %[[X1]]
// CHECK: %[[T1:.+]] = d2l.tanh %[[A1]]
// CHECK: d2l.slice %[[XS]] {dim = 0 : i64, end = 3 : i64, start = 2 : i64}
// CHECK: %[[T2:.+]] = d2l.tanh
// CHECK: %[[C:.+]] = d2l.concat %[[T0]], %[[T1]], %[[T2]] : (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<6x4xf32>
// CHECK: %[[Y:.+]] = d2l.reshape %[[C]] {shape = array<i64: 3, 2, 4>} : (tensor<6x4xf32>) -> tensor<3x2x4xf32>
// CHECK: return %[[T2]], %[[Y]]
func.func @rnn(%h0: tensor<2x4xf32>, %xs: tensor<3x2x4xf32>, %w: tensor<4x4xf32>)
    -> (tensor<2x4xf32>, tensor<3x2x4xf32>) {
  %h, %ys = d2l.scan (%h0) over (%xs) : (tensor<2x4xf32>, tensor<3x2x4xf32>) -> (tensor<2x4xf32>, tensor<3x2x4xf32>) {
  ^bb0(%hp: tensor<2x4xf32>, %x: tensor<2x4xf32>):
    %l = d2l.linear %hp, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
    %a = d2l.add %l, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %t = d2l.tanh %a : tensor<2x4xf32>
    d2l.yield %t, %t : tensor<2x4xf32>, tensor<2x4xf32>
  }
  return %h, %ys : tensor<2x4xf32>, tensor<3x2x4xf32>
}
// NOT-UNROLLED: error: 'd2l.scan' op must be unrolled before differentiation (run --d2l-unroll first; d2lc does)

// -----

// Each step's copy of a dropout draws its own mask: salts after the
// function's largest (6); 0-d outputs stack through [1] views. The step's
// loop-invariant work (the sum of %w) is copied per step and then merged.
// CHECK-LABEL: func.func @dropout_steps
// CHECK: d2l.dropout %arg2, %arg1 {salt = 6 : i64}
// CHECK: d2l.dropout %{{.*}}, %arg1 {salt = 7 : i64}
// CHECK: d2l.dropout %{{.*}}, %arg1 {salt = 8 : i64}
// CHECK-NOT: d2l.dropout
// CHECK: d2l.reshape %{{.*}} {shape = array<i64: 1>} : (tensor<f32>) -> tensor<1xf32>
// CHECK: d2l.concat {{.*}} -> tensor<2xf32>
// CHECK: d2l.reshape {{.*}} {shape = array<i64: 2>} : (tensor<2xf32>) -> tensor<2xf32>
// SIMPLE-LABEL: func.func @dropout_steps
// SIMPLE-COUNT-1: d2l.sum %arg2
// SIMPLE-NOT: d2l.sum %arg2
func.func @dropout_steps(%xs: tensor<2x3xf32>, %seed: tensor<i64>, %w: tensor<3xf32>)
    -> (tensor<3xf32>, tensor<2xf32>) {
  %z = d2l.dropout %w, %seed {p = 5.000000e-01 : f64, salt = 6 : i64} : (tensor<3xf32>, tensor<i64>) -> tensor<3xf32>
  %h, %s = d2l.scan (%z) over (%xs) : (tensor<3xf32>, tensor<2x3xf32>) -> (tensor<3xf32>, tensor<2xf32>) {
  ^bb0(%hp: tensor<3xf32>, %x: tensor<3xf32>):
    %d = d2l.dropout %x, %seed {p = 5.000000e-01 : f64, salt = 0 : i64} : (tensor<3xf32>, tensor<i64>) -> tensor<3xf32>
    %a = d2l.add %hp, %d : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
    %ws = d2l.sum %w {dims = array<i64>} : (tensor<3xf32>) -> tensor<f32>
    %t = d2l.sum %a {dims = array<i64>} : (tensor<3xf32>) -> tensor<f32>
    %u = d2l.add %t, %ws : (tensor<f32>, tensor<f32>) -> tensor<f32>
    d2l.yield %a, %u : tensor<3xf32>, tensor<f32>
  }
  return %h, %s : tensor<3xf32>, tensor<2xf32>
}
