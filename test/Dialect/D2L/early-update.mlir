// RUN: d2lc-opt %s --d2l-early-update | FileCheck %s
// RUN: d2lc-opt %s --d2l-early-update --d2l-schedule | FileCheck %s --check-prefix=SCHED

// loss = sum(w2 * (w1 * x)): dL/dw2 = w1 x, dL/dw1 = w2 x. The update of w1
// (with its gradient, which only it reads) moves to right after w1's other
// reader; the update of w2 waits for w2's last other reader (the gradient
// of w1). Both are then written over their parameters in place.
// CHECK-LABEL: func.func @step
// CHECK: %[[A:.+]] = d2l.mul %arg0, %arg2
// CHECK-NEXT: %[[G1:.+]] = d2l.mul %arg1, %arg2
// CHECK-NEXT: %[[S1:.+]] = d2l.mul %[[G1]], %arg3
// CHECK-NEXT: %[[N1:.+]] = d2l.sub %arg0, %[[S1]]
// CHECK-NEXT: %[[B:.+]] = d2l.mul %arg1, %[[A]]
// CHECK-NEXT: %[[S2:.+]] = d2l.mul %[[A]], %arg3
// CHECK-NEXT: %[[N2:.+]] = d2l.sub %arg1, %[[S2]]
// CHECK-NEXT: %[[L:.+]] = d2l.sum %[[B]]
// CHECK-NEXT: return %[[L]], %[[N1]], %[[N2]]
// The new w1 and w2 are written over buffers 0 and 1, the parameters.
// SCHED: d2l.sub %arg0, %{{.*}} {d2l.buffer = array<i64: 0>
// SCHED: d2l.sub %arg1, %{{.*}} {d2l.buffer = array<i64: 1>
func.func @step(%w1: tensor<4xf32> {d2l.param = "w1"}, %w2: tensor<4xf32> {d2l.param = "w2"},
                %x: tensor<4xf32> {d2l.input = "x"}, %lr: tensor<f32> {d2l.input = "lr"})
    -> (tensor<f32> {d2l.output = "loss"}, tensor<4xf32> {d2l.param = "w1"},
        tensor<4xf32> {d2l.param = "w2"}) {
  %a = d2l.mul %w1, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %b = d2l.mul %w2, %a : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %loss = d2l.sum %b {dims = array<i64>} : (tensor<4xf32>) -> tensor<f32>
  %g1 = d2l.mul %w2, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %s2 = d2l.mul %a, %lr : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %s1 = d2l.mul %g1, %lr : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %n2 = d2l.sub %w2, %s2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %n1 = d2l.sub %w1, %s1 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %loss, %n1, %n2 : tensor<f32>, tensor<4xf32>, tensor<4xf32>
}

// A gradient accumulated over several terms (a weight read twice, like a
// recurrent weight at every step): the sums stay where the terms are
// complete, so each term dies at once; only the update (scale, subtract)
// moves. Moved after the last term, the sums would keep every term live.
// CHECK-LABEL: func.func @accumulate
// CHECK: %[[T1:.+]] = d2l.sum %arg2
// CHECK-NEXT: %[[T2:.+]] = d2l.sum %arg3
// CHECK-NEXT: %[[G12:.+]] = d2l.add %[[T1]], %[[T2]]
// CHECK-NEXT: %[[T3:.+]] = d2l.sum %arg4
// CHECK-NEXT: %[[G:.+]] = d2l.add %[[G12]], %[[T3]]
// CHECK-NEXT: %[[S:.+]] = d2l.mul %[[G]], %arg5
// CHECK-NEXT: d2l.sub %arg0, %[[S]]
func.func @accumulate(%w: tensor<4xf32> {d2l.param = "w"}, %x: tensor<4xf32> {d2l.input = "x"},
                      %t1in: tensor<3x4xf32> {d2l.input = "a"}, %t2in: tensor<3x4xf32> {d2l.input = "b"},
                      %t3in: tensor<3x4xf32> {d2l.input = "c"}, %lr: tensor<f32> {d2l.input = "lr"})
    -> (tensor<f32> {d2l.output = "loss"}, tensor<4xf32> {d2l.param = "w"}) {
  %a = d2l.mul %w, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %loss = d2l.sum %a {dims = array<i64>} : (tensor<4xf32>) -> tensor<f32>
  %t1 = d2l.sum %t1in {dims = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
  %t2 = d2l.sum %t2in {dims = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
  %g12 = d2l.add %t1, %t2 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %t3 = d2l.sum %t3in {dims = array<i64: 0>} : (tensor<3x4xf32>) -> tensor<4xf32>
  %g = d2l.add %g12, %t3 : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %s = d2l.mul %g, %lr : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %n = d2l.sub %w, %s : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %loss, %n : tensor<f32>, tensor<4xf32>
}
