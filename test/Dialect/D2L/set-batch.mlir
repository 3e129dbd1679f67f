// RUN: d2lc-opt %s --d2l-set-batch=batch=32 --split-input-file --verify-diagnostics | FileCheck %s
// RUN: d2lc-opt %models/lenet_bn.mlir --d2l-set-batch=batch=7 | FileCheck %s --check-prefix=LENETBN
// The short form of the option:
// RUN: d2lc-opt %models/lenet_bn.mlir --d2l-set-batch=7 | FileCheck %s --check-prefix=LENETBN

// CHECK-LABEL: func.func @forward
// CHECK-SAME: tensor<32x1x28x28xf32> {d2l.input = "X"}
// CHECK-SAME: tensor<6x1x5x5xf32> {d2l.init = "xavier_uniform", d2l.param = "0.weight"}
// CHECK-SAME: tensor<32xi64> {d2l.input = "labels"}
// CHECK-SAME: -> (tensor<32x10xf32> {d2l.output = "logits"}, tensor<f32> {d2l.output = "loss"})
// CHECK: d2l.conv2d {{.*}} -> tensor<32x6x28x28xf32>
// CHECK: d2l.reshape {{.*}} {shape = array<i64: 32, 4704>} : (tensor<32x6x28x28xf32>) -> tensor<32x4704xf32>
// CHECK: d2l.linear {{.*}} -> tensor<32x10xf32>
// CHECK: d2l.constant dense<1.000000e+00> : tensor<32x10xf32>
// CHECK: d2l.cross_entropy {{.*}} : (tensor<32x10xf32>, tensor<32xi64>) -> tensor<f32>
// CHECK: return {{.*}} : tensor<32x10xf32>, tensor<f32>
func.func @forward(%x: tensor<256x1x28x28xf32> {d2l.input = "X"},
                   %w: tensor<6x1x5x5xf32> {d2l.param = "0.weight", d2l.init = "xavier_uniform"},
                   %fw: tensor<10x4704xf32> {d2l.param = "3.weight", d2l.init = "xavier_uniform"},
                   %labels: tensor<256xi64> {d2l.input = "labels"})
    -> (tensor<256x10xf32> {d2l.output = "logits"}, tensor<f32> {d2l.output = "loss"}) {
  %0 = d2l.conv2d %x, %w {padding = array<i64: 2, 2>} : (tensor<256x1x28x28xf32>, tensor<6x1x5x5xf32>) -> tensor<256x6x28x28xf32>
  %1 = d2l.reshape %0 {shape = array<i64: 256, 4704>} : (tensor<256x6x28x28xf32>) -> tensor<256x4704xf32>
  %2 = d2l.linear %1, %fw : (tensor<256x4704xf32>, tensor<10x4704xf32>) -> tensor<256x10xf32>
  %one = d2l.constant dense<1.0> : tensor<256x10xf32>
  %3 = d2l.mul %2, %one : (tensor<256x10xf32>, tensor<256x10xf32>) -> tensor<256x10xf32>
  %4 = d2l.cross_entropy %3, %labels : (tensor<256x10xf32>, tensor<256xi64>) -> tensor<f32>
  return %3, %4 : tensor<256x10xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{inputs disagree on the batch size: "labels" has 128 rows, an earlier input 256}}
func.func @disagree(%x: tensor<256x4xf32> {d2l.input = "X"}, %l: tensor<128xi64> {d2l.input = "labels"}) {
  return
}

// -----

func.func @non_splat(%x: tensor<2x2xf32> {d2l.input = "X"}) -> tensor<2x2xf32> {
  // expected-error @+1 {{cannot change the batch size of a non-splat constant of type 'tensor<2x2xf32>'}}
  %c = d2l.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %0 = d2l.add %x, %c : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// LENETBN-LABEL: func.func @forward
// LENETBN-SAME: tensor<7x1x28x28xf32> {d2l.input = "X"}
// LENETBN-SAME: -> (tensor<7x10xf32> {d2l.output = "logits"})
// LENETBN: d2l.batch_norm_inference {{.*}} -> tensor<7x6x24x24xf32>
// LENETBN: d2l.flatten {{.*}} : (tensor<7x16x4x4xf32>) -> tensor<7x256xf32>
// LENETBN: return {{.*}} : tensor<7x10xf32>
