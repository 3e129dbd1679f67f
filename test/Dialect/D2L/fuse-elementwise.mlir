// RUN: d2lc-opt %s --split-input-file --d2l-fuse-elementwise | FileCheck %s

// linear + sigmoid: the activation is the GEMM's epilogue; nothing of the
// chain is left outside the group.
// CHECK-LABEL: func.func @linear_sigmoid
// CHECK: %[[F:.+]] = d2l.fused "epilogue"(%{{.+}}, %{{.+}}, %{{.+}})
// CHECK-NEXT: ^bb0
// CHECK-NEXT: d2l.linear
// CHECK-NEXT: d2l.sigmoid
// CHECK-NEXT: d2l.yield
// CHECK-NEXT: }
// CHECK-NOT: d2l.sigmoid
// CHECK: return %[[F]]
func.func @linear_sigmoid(%x: tensor<8x4xf32>, %w: tensor<3x4xf32>,
                          %b: tensor<3xf32>) -> tensor<8x3xf32> {
  %0 = d2l.linear %x, %w, %b : (tensor<8x4xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<8x3xf32>
  %1 = d2l.sigmoid %0 : tensor<8x3xf32>
  return %1 : tensor<8x3xf32>
}

// -----

// ResNet's tail: the residual add and the ReLU after a BatchNorm are one
// elementwise kernel; the BatchNorm itself is not elementwise.
// CHECK-LABEL: func.func @residual_add_relu
// CHECK: %[[BN:.+]] = d2l.batch_norm_inference
// CHECK: %[[F:.+]] = d2l.fused "elementwise"(%[[BN]], %{{.+}})
// CHECK-NEXT: ^bb0
// CHECK-NEXT: d2l.add
// CHECK-NEXT: d2l.relu
// CHECK-NEXT: d2l.yield
// CHECK-NOT: d2l.relu
// CHECK: return %[[F]]
func.func @residual_add_relu(%y: tensor<2x4x3x3xf32>, %x: tensor<2x4x3x3xf32>,
                             %g: tensor<4xf32>, %b: tensor<4xf32>,
                             %m: tensor<4xf32>, %v: tensor<4xf32>) -> tensor<2x4x3x3xf32> {
  %0 = d2l.batch_norm_inference %y, %g, %b, %m, %v : (tensor<2x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x3x3xf32>
  %1 = d2l.add %0, %x : (tensor<2x4x3x3xf32>, tensor<2x4x3x3xf32>) -> tensor<2x4x3x3xf32>
  %2 = d2l.relu %1 : tensor<2x4x3x3xf32>
  return %2 : tensor<2x4x3x3xf32>
}

// -----

// A chain whose middle value is also read by a later non-elementwise op:
// the group returns it too (two results), so nothing is recomputed or lost.
// CHECK-LABEL: func.func @used_twice
// CHECK: %[[F:.+]]:2 = d2l.fused "elementwise"
// CHECK: d2l.exp
// CHECK-NEXT: d2l.neg
// CHECK-NEXT: d2l.yield
// CHECK: %[[S:.+]] = d2l.sum %[[F]]#0
// CHECK: return %[[F]]#1, %[[S]]
func.func @used_twice(%x: tensor<4x3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>) {
  %0 = d2l.exp %x : tensor<4x3xf32>
  %1 = d2l.neg %0 : tensor<4x3xf32>
  %2 = d2l.sum %0 {dims = array<i64: 0>} : (tensor<4x3xf32>) -> tensor<3xf32>
  return %1, %2 : tensor<4x3xf32>, tensor<3xf32>
}

// -----

// An op cannot join a group when one of its other inputs is computed after
// the group starts (here by a reduction of the group's own value): the
// chain splits in two groups around the sum.
// CHECK-LABEL: func.func @no_join_across_a_reduction
// CHECK: d2l.fused "elementwise"
// CHECK: d2l.exp
// CHECK-NEXT: d2l.tanh
// CHECK: d2l.sum
// CHECK: d2l.fused "elementwise"
// CHECK: d2l.mul
// CHECK-NEXT: d2l.sigmoid
func.func @no_join_across_a_reduction(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %0 = d2l.exp %x : tensor<4x3xf32>
  %1 = d2l.tanh %0 : tensor<4x3xf32>
  %2 = d2l.sum %1 {dims = array<i64: 0>} : (tensor<4x3xf32>) -> tensor<3xf32>
  %3 = d2l.mul %1, %2 : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %4 = d2l.sigmoid %3 : tensor<4x3xf32>
  return %4 : tensor<4x3xf32>
}

// -----

// Dropout (with its seed) fuses like any elementwise op.
// CHECK-LABEL: func.func @dropout_chain
// CHECK: d2l.fused "epilogue"
// CHECK: d2l.matmul
// CHECK-NEXT: d2l.relu
// CHECK-NEXT: d2l.dropout
// CHECK-NOT: d2l.dropout
func.func @dropout_chain(%x: tensor<8x4xf32>, %w: tensor<4x6xf32>,
                         %seed: tensor<i64>) -> tensor<8x6xf32> {
  %0 = d2l.matmul %x, %w : (tensor<8x4xf32>, tensor<4x6xf32>) -> tensor<8x6xf32>
  %1 = d2l.relu %0 : tensor<8x6xf32>
  %2 = d2l.dropout %1, %seed {p = 0.5 : f64} : (tensor<8x6xf32>, tensor<i64>) -> tensor<8x6xf32>
  return %2 : tensor<8x6xf32>
}

// -----

// The SGD update of every parameter (different shapes) is one launch: the
// update chains only feed the return, so they merge into a multi group.
// CHECK-LABEL: func.func @sgd_update
// CHECK: %[[U:.+]]:3 = d2l.fused "multi"
// CHECK-COUNT-3: d2l.sub
// CHECK: d2l.yield
// CHECK-NOT: d2l.sub
// CHECK: return %[[U]]#0, %[[U]]#1, %[[U]]#2
func.func @sgd_update(%w: tensor<3x4xf32>, %gw: tensor<3x4xf32>,
                      %b: tensor<3xf32>, %gb: tensor<3xf32>,
                      %c: tensor<5x5xf32>, %gc: tensor<5x5xf32>) -> (tensor<3x4xf32>, tensor<3xf32>, tensor<5x5xf32>) {
  %lr = d2l.constant dense<0.1> : tensor<f32>
  %0 = d2l.mul %gw, %lr : (tensor<3x4xf32>, tensor<f32>) -> tensor<3x4xf32>
  %1 = d2l.sub %w, %0 : (tensor<3x4xf32>, tensor<3x4xf32>) -> tensor<3x4xf32>
  %2 = d2l.mul %gb, %lr : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
  %3 = d2l.sub %b, %2 : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %4 = d2l.mul %gc, %lr : (tensor<5x5xf32>, tensor<f32>) -> tensor<5x5xf32>
  %5 = d2l.sub %c, %4 : (tensor<5x5xf32>, tensor<5x5xf32>) -> tensor<5x5xf32>
  return %1, %3, %5 : tensor<3x4xf32>, tensor<3xf32>, tensor<5x5xf32>
}

// -----

// Ops of another shape (a broadcast result) start their own group.
// CHECK-LABEL: func.func @shapes_split
// CHECK: d2l.fused "elementwise"
// CHECK-NEXT: ^bb0(%{{.+}}: tensor<3xf32>)
// CHECK: d2l.fused "elementwise"
// CHECK-NEXT: ^bb0(%{{.+}}: tensor<4x3xf32>, %{{.+}}: tensor<3xf32>)
func.func @shapes_split(%x: tensor<4x3xf32>, %v: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = d2l.exp %v : tensor<3xf32>
  %1 = d2l.tanh %0 : tensor<3xf32>
  %2 = d2l.add %x, %1 : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %3 = d2l.relu %2 : tensor<4x3xf32>
  return %3 : tensor<4x3xf32>
}
