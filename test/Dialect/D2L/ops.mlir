// RUN: d2lc-opt %s | d2lc-opt | FileCheck %s
// RUN: d2lc-opt %s --mlir-print-op-generic | d2lc-opt | FileCheck %s

// Round trip of every op of the dialect, with non-default attributes.

// CHECK-LABEL: func.func @conv
func.func @conv(%x: tensor<2x4x9x9xf32>, %w: tensor<6x2x3x3xf32>, %b: tensor<6xf32>,
                %tw: tensor<4x3x3x3xf32>) -> (tensor<2x6x4x4xf32>, tensor<2x6x7x7xf32>, tensor<2x6x23x23xf32>) {
  // CHECK: d2l.conv2d %{{.*}}, %{{.*}}, %{{.*}} {dilation = array<i64: 2, 2>, groups = 2 : i64, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<2x4x9x9xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  %0 = d2l.conv2d %x, %w, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, dilation = array<i64: 2, 2>, groups = 2} : (tensor<2x4x9x9xf32>, tensor<6x2x3x3xf32>, tensor<6xf32>) -> tensor<2x6x4x4xf32>
  // CHECK: d2l.conv2d %{{.*}}, %{{.*}} : (tensor<2x4x9x9xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x7x7xf32>
  %1 = d2l.conv2d %x, %w {groups = 2} : (tensor<2x4x9x9xf32>, tensor<6x2x3x3xf32>) -> tensor<2x6x7x7xf32>
  // CHECK: d2l.conv_transpose2d {{.*}} {groups = 2 : i64, output_padding = array<i64: 1, 1>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<2x4x9x9xf32>, tensor<4x3x3x3xf32>, tensor<6xf32>) -> tensor<2x6x18x18xf32>
  %2 = d2l.conv_transpose2d %x, %tw, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 1, 1>, groups = 2} : (tensor<2x4x9x9xf32>, tensor<4x3x3x3xf32>, tensor<6xf32>) -> tensor<2x6x18x18xf32>
  // CHECK: d2l.conv_transpose2d {{.*}} {dilation = array<i64: 3, 3>, groups = 2 : i64, output_padding = array<i64: 2, 2>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>}
  %3 = d2l.conv_transpose2d %x, %tw, %b {stride = array<i64: 2, 2>, padding = array<i64: 1, 1>, output_padding = array<i64: 2, 2>, dilation = array<i64: 3, 3>, groups = 2} : (tensor<2x4x9x9xf32>, tensor<4x3x3x3xf32>, tensor<6xf32>) -> tensor<2x6x23x23xf32>
  return %0, %1, %3 : tensor<2x6x4x4xf32>, tensor<2x6x7x7xf32>, tensor<2x6x23x23xf32>
}

// CHECK-LABEL: func.func @linalg
func.func @linalg(%x: tensor<8x3x16xf32>, %w: tensor<5x16xf32>, %b: tensor<5xf32>,
                  %a: tensor<7x16xf32>, %c: tensor<4x8x16xf32>, %d: tensor<4x16x3xf32>)
    -> (tensor<8x3x5xf32>, tensor<7x5xf32>, tensor<4x8x3xf32>, tensor<4x3x8xf32>) {
  // CHECK: d2l.linear %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x3x16xf32>, tensor<5x16xf32>, tensor<5xf32>) -> tensor<8x3x5xf32>
  %0 = d2l.linear %x, %w, %b : (tensor<8x3x16xf32>, tensor<5x16xf32>, tensor<5xf32>) -> tensor<8x3x5xf32>
  // CHECK: d2l.matmul %{{.*}}, %{{.*}} {transpose_rhs = true} : (tensor<7x16xf32>, tensor<5x16xf32>) -> tensor<7x5xf32>
  %1 = d2l.matmul %a, %w {transpose_rhs = true} : (tensor<7x16xf32>, tensor<5x16xf32>) -> tensor<7x5xf32>
  // CHECK: d2l.batch_matmul %{{.*}}, %{{.*}} : (tensor<4x8x16xf32>, tensor<4x16x3xf32>) -> tensor<4x8x3xf32>
  %2 = d2l.batch_matmul %c, %d : (tensor<4x8x16xf32>, tensor<4x16x3xf32>) -> tensor<4x8x3xf32>
  // CHECK: d2l.batch_matmul %{{.*}}, %{{.*}} {transpose_lhs = true, transpose_rhs = true} : (tensor<4x16x3xf32>, tensor<4x8x16xf32>) -> tensor<4x3x8xf32>
  %3 = d2l.batch_matmul %d, %c {transpose_lhs = true, transpose_rhs = true} : (tensor<4x16x3xf32>, tensor<4x8x16xf32>) -> tensor<4x3x8xf32>
  return %0, %1, %2, %3 : tensor<8x3x5xf32>, tensor<7x5xf32>, tensor<4x8x3xf32>, tensor<4x3x8xf32>
}

// CHECK-LABEL: func.func @norm
func.func @norm(%x: tensor<4x3x5x5xf32>, %g: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>)
    -> (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<4x3x5x5xf32>) {
  // CHECK: d2l.batch_norm %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f64, momentum = 2.000000e-01 : f64} : (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  %y, %mean, %invstd, %rm, %rv = d2l.batch_norm %x, %g, %b, %m, %v {eps = 1.0e-3, momentum = 0.2} : (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  // CHECK: d2l.batch_norm_inference %{{.*}} : (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3x5x5xf32>
  %z = d2l.batch_norm_inference %x, %g, %b, %m, %v : (tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3x5x5xf32>
  return %y, %rv, %z : tensor<4x3x5x5xf32>, tensor<3xf32>, tensor<4x3x5x5xf32>
}

// CHECK-LABEL: func.func @pool
func.func @pool(%x: tensor<2x3x9x9xf32>) -> (tensor<2x3x5x5xf32>, tensor<2x3x4x4xf32>, tensor<2x3x2x3xf32>) {
  // CHECK: d2l.max_pool2d %{{.*}} {kernel_size = array<i64: 3, 3>, padding = array<i64: 1, 1>, stride = array<i64: 2, 2>} : (tensor<2x3x9x9xf32>) -> tensor<2x3x5x5xf32>
  %0 = d2l.max_pool2d %x {kernel_size = array<i64: 3, 3>, stride = array<i64: 2, 2>, padding = array<i64: 1, 1>} : (tensor<2x3x9x9xf32>) -> tensor<2x3x5x5xf32>
  // CHECK: d2l.avg_pool2d %{{.*}} {count_include_pad = false, kernel_size = array<i64: 2, 2>} : (tensor<2x3x9x9xf32>) -> tensor<2x3x4x4xf32>
  %1 = d2l.avg_pool2d %x {kernel_size = array<i64: 2, 2>, count_include_pad = false} : (tensor<2x3x9x9xf32>) -> tensor<2x3x4x4xf32>
  // CHECK: d2l.adaptive_avg_pool2d %{{.*}} {output_size = array<i64: 2, 3>} : (tensor<2x3x9x9xf32>) -> tensor<2x3x2x3xf32>
  %2 = d2l.adaptive_avg_pool2d %x {output_size = array<i64: 2, 3>} : (tensor<2x3x9x9xf32>) -> tensor<2x3x2x3xf32>
  return %0, %1, %2 : tensor<2x3x5x5xf32>, tensor<2x3x4x4xf32>, tensor<2x3x2x3xf32>
}

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%x: tensor<4x3xf32>, %r: tensor<3xf32>, %s: tensor<f32>, %seed: tensor<i64>) -> tensor<4x3xf32> {
  // CHECK: d2l.relu %{{.*}} : tensor<4x3xf32>
  %0 = d2l.relu %x : tensor<4x3xf32>
  // CHECK: d2l.sigmoid
  %1 = d2l.sigmoid %0 : tensor<4x3xf32>
  // CHECK: d2l.tanh
  %2 = d2l.tanh %1 : tensor<4x3xf32>
  // CHECK: d2l.exp
  %3 = d2l.exp %2 : tensor<4x3xf32>
  // CHECK: d2l.log
  %4 = d2l.log %3 : tensor<4x3xf32>
  // CHECK: d2l.sqrt
  %5 = d2l.sqrt %4 : tensor<4x3xf32>
  // CHECK: d2l.neg
  %6 = d2l.neg %5 : tensor<4x3xf32>
  // CHECK: d2l.add %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %7 = d2l.add %6, %r : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  // CHECK: d2l.sub %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  %8 = d2l.sub %r, %7 : (tensor<3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  // CHECK: d2l.mul %{{.*}}, %{{.*}} : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  %9 = d2l.mul %8, %s : (tensor<4x3xf32>, tensor<f32>) -> tensor<4x3xf32>
  // CHECK: d2l.div
  %10 = d2l.div %9, %x : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  // CHECK: d2l.dropout %{{.*}}, %{{.*}} {p = 2.500000e-01 : f64, salt = 3 : i64} : (tensor<4x3xf32>, tensor<i64>) -> tensor<4x3xf32>
  %11 = d2l.dropout %10, %seed {p = 0.25 : f64, salt = 3} : (tensor<4x3xf32>, tensor<i64>) -> tensor<4x3xf32>
  // CHECK: d2l.dropout %{{.*}} : (tensor<4x3xf32>) -> tensor<4x3xf32>
  %12 = d2l.dropout %11 : (tensor<4x3xf32>) -> tensor<4x3xf32>
  return %12 : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @shapes
func.func @shapes(%x: tensor<2x3x4x5xf32>, %y: tensor<2x1x4x5xf32>, %s: tensor<f32>)
    -> (tensor<2x60xf32>, tensor<6x20xf32>, tensor<5x4x3x2xf32>, tensor<2x4x4x5xf32>, tensor<2x3x2x5xf32>, tensor<3x2x5xf32>) {
  // CHECK: d2l.flatten %{{.*}} : (tensor<2x3x4x5xf32>) -> tensor<2x60xf32>
  %0 = d2l.flatten %x : (tensor<2x3x4x5xf32>) -> tensor<2x60xf32>
  // CHECK: d2l.flatten %{{.*}} {end_dim = 1 : i64, start_dim = 0 : i64} : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  %1 = d2l.flatten %x {start_dim = 0, end_dim = 1} : (tensor<2x3x4x5xf32>) -> tensor<6x4x5xf32>
  // CHECK: d2l.reshape %{{.*}} {shape = array<i64: -1, 20>} : (tensor<6x4x5xf32>) -> tensor<6x20xf32>
  %2 = d2l.reshape %1 {shape = array<i64: -1, 20>} : (tensor<6x4x5xf32>) -> tensor<6x20xf32>
  // CHECK: d2l.transpose %{{.*}} {permutation = array<i64: 3, 2, 1, 0>} : (tensor<2x3x4x5xf32>) -> tensor<5x4x3x2xf32>
  %3 = d2l.transpose %x {permutation = array<i64: 3, 2, 1, 0>} : (tensor<2x3x4x5xf32>) -> tensor<5x4x3x2xf32>
  // CHECK: d2l.concat %{{.*}}, %{{.*}} {dim = 1 : i64} : (tensor<2x3x4x5xf32>, tensor<2x1x4x5xf32>) -> tensor<2x4x4x5xf32>
  %4 = d2l.concat %x, %y {dim = 1} : (tensor<2x3x4x5xf32>, tensor<2x1x4x5xf32>) -> tensor<2x4x4x5xf32>
  // CHECK: d2l.slice %{{.*}} {dim = -2 : i64, end = 4 : i64, start = 1 : i64, step = 2 : i64} : (tensor<2x3x4x5xf32>) -> tensor<2x3x2x5xf32>
  %5 = d2l.slice %x {dim = -2, start = 1, end = 4, step = 2} : (tensor<2x3x4x5xf32>) -> tensor<2x3x2x5xf32>
  // CHECK: d2l.broadcast_to %{{.*}} {shape = array<i64: 3, 2, 5>} : (tensor<f32>) -> tensor<3x2x5xf32>
  %6 = d2l.broadcast_to %s {shape = array<i64: 3, 2, 5>} : (tensor<f32>) -> tensor<3x2x5xf32>
  return %0, %2, %3, %4, %5, %6 : tensor<2x60xf32>, tensor<6x20xf32>, tensor<5x4x3x2xf32>, tensor<2x4x4x5xf32>, tensor<2x3x2x5xf32>, tensor<3x2x5xf32>
}

// CHECK-LABEL: func.func @reductions_and_losses
func.func @reductions_and_losses(%x: tensor<8x10xf32>, %l: tensor<8xi64>, %img: tensor<2x4x3x3xf32>, %pix: tensor<2x3x3xi32>)
    -> (tensor<10xf32>, tensor<8x1xf32>, tensor<8x10xf32>, tensor<8x10xf32>, tensor<f32>, tensor<f32>, tensor<f32>) {
  // CHECK: d2l.sum %{{.*}} {dims = array<i64: 0>} : (tensor<8x10xf32>) -> tensor<10xf32>
  %0 = d2l.sum %x {dims = array<i64: 0>} : (tensor<8x10xf32>) -> tensor<10xf32>
  // CHECK: d2l.mean %{{.*}} {dims = array<i64: -1>, keepdim = true} : (tensor<8x10xf32>) -> tensor<8x1xf32>
  %1 = d2l.mean %x {dims = array<i64: -1>, keepdim = true} : (tensor<8x10xf32>) -> tensor<8x1xf32>
  // CHECK: d2l.softmax %{{.*}} {dim = 1 : i64} : (tensor<8x10xf32>) -> tensor<8x10xf32>
  %2 = d2l.softmax %x {dim = 1} : (tensor<8x10xf32>) -> tensor<8x10xf32>
  // CHECK: d2l.log_softmax %{{.*}} {dim = -1 : i64}
  %3 = d2l.log_softmax %x {dim = -1} : (tensor<8x10xf32>) -> tensor<8x10xf32>
  // CHECK: d2l.cross_entropy %{{.*}}, %{{.*}} : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  %4 = d2l.cross_entropy %x, %l : (tensor<8x10xf32>, tensor<8xi64>) -> tensor<f32>
  // CHECK: d2l.cross_entropy %{{.*}}, %{{.*}} : (tensor<2x4x3x3xf32>, tensor<2x3x3xi32>) -> tensor<f32>
  %5 = d2l.cross_entropy %img, %pix : (tensor<2x4x3x3xf32>, tensor<2x3x3xi32>) -> tensor<f32>
  // CHECK: d2l.mse_loss %{{.*}}, %{{.*}} : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  %6 = d2l.mse_loss %2, %3 : (tensor<8x10xf32>, tensor<8x10xf32>) -> tensor<f32>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<10xf32>, tensor<8x1xf32>, tensor<8x10xf32>, tensor<8x10xf32>, tensor<f32>, tensor<f32>, tensor<f32>
}

// CHECK-LABEL: func.func @constants
func.func @constants() -> (tensor<2xf32>, tensor<3x3xf64>, tensor<2xi64>) {
  // CHECK: d2l.constant dense<[2.000000e+00, -3.400000e+00]> : tensor<2xf32>
  %0 = d2l.constant dense<[2.0, -3.4]> : tensor<2xf32>
  // CHECK: d2l.constant dense<0.000000e+00> : tensor<3x3xf64>
  %1 = d2l.constant dense<0.0> : tensor<3x3xf64>
  // CHECK: d2l.constant dense<[1, 7]> : tensor<2xi64>
  %2 = d2l.constant dense<[1, 7]> : tensor<2xi64>
  return %0, %1, %2 : tensor<2xf32>, tensor<3x3xf64>, tensor<2xi64>
}

// CHECK-LABEL: func.func @named
// CHECK-SAME: {d2l.input = "X"}
// CHECK-SAME: {d2l.init = "normal(0.01)", d2l.param = "1.weight"}
// CHECK-SAME: {d2l.init = "zeros", d2l.state = "2.running_mean"}
// CHECK-SAME: {d2l.output = "logits"}
func.func @named(%x: tensor<4x3xf32> {d2l.input = "X"},
                 %w: tensor<5x3xf32> {d2l.param = "1.weight", d2l.init = "normal(0.01)"},
                 %m: tensor<5xf32> {d2l.state = "2.running_mean", d2l.init = "zeros"})
    -> (tensor<4x5xf32> {d2l.output = "logits"}) {
  %0 = d2l.linear %x, %w : (tensor<4x3xf32>, tensor<5x3xf32>) -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// The ops of the fusion passes.
// CHECK-LABEL: func.func @fusion_ops
// CHECK: d2l.conv2d_batch_stats %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} {eps = 1.000000e-03 : f64, momentum = 2.000000e-01 : f64, padding = array<i64: 1, 1>}
// CHECK: d2l.batch_norm_act_backward {{.+}} {activation = "sigmoid"}
// CHECK: d2l.fused "elementwise"(%{{.+}}, %{{.+}})
// CHECK-NEXT: ^bb0(%{{.+}}: tensor<2x4x4x4xf32>, %{{.+}}: tensor<4x1x1xf32>):
// CHECK-NEXT: d2l.sub
// CHECK-NEXT: d2l.relu
// CHECK-NEXT: d2l.yield
func.func @fusion_ops(%x: tensor<2x3x4x4xf32>, %w: tensor<4x3x3x3xf32>, %m: tensor<4xf32>,
                      %v: tensor<4xf32>, %b: tensor<4xf32>, %da: tensor<2x4x4x4xf32>,
                      %c: tensor<4x1x1xf32>) -> (tensor<2x4x4x4xf32>, tensor<2x4x4x4xf32>) {
  %y, %mean, %invstd, %rm, %rv = d2l.conv2d_batch_stats %x, %w, %m, %v, %b {padding = array<i64: 1, 1>, eps = 1.0e-3, momentum = 0.2} : (tensor<2x3x4x4xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
  %dx, %dg, %db = d2l.batch_norm_act_backward %da, %y, %m, %v, %mean, %invstd {activation = "sigmoid"} : (tensor<2x4x4x4xf32>, tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>)
  %r = d2l.fused "elementwise"(%y, %c) : (tensor<2x4x4x4xf32>, tensor<4x1x1xf32>) -> tensor<2x4x4x4xf32> {
  ^bb0(%a: tensor<2x4x4x4xf32>, %s: tensor<4x1x1xf32>):
    %0 = d2l.sub %a, %s : (tensor<2x4x4x4xf32>, tensor<4x1x1xf32>) -> tensor<2x4x4x4xf32>
    %1 = d2l.relu %0 : tensor<2x4x4x4xf32>
    d2l.yield %1 : tensor<2x4x4x4xf32>
  }
  return %dx, %r : tensor<2x4x4x4xf32>, tensor<2x4x4x4xf32>
}

// CHECK-LABEL: func.func @embeddings
func.func @embeddings(%ids: tensor<4x10xi64>, %w: tensor<28x32xf32>, %g: tensor<4x10x32xf32>)
    -> (tensor<4x10x32xf32>, tensor<28x32xf32>) {
  // CHECK: d2l.embedding %{{.*}}, %{{.*}} : (tensor<4x10xi64>, tensor<28x32xf32>) -> tensor<4x10x32xf32>
  %0 = d2l.embedding %ids, %w : (tensor<4x10xi64>, tensor<28x32xf32>) -> tensor<4x10x32xf32>
  // CHECK: d2l.embedding_backward %{{.*}}, %{{.*}} {num_embeddings = 28 : i64} : (tensor<4x10x32xf32>, tensor<4x10xi64>) -> tensor<28x32xf32>
  %1 = d2l.embedding_backward %g, %ids {num_embeddings = 28} : (tensor<4x10x32xf32>, tensor<4x10xi64>) -> tensor<28x32xf32>
  return %0, %1 : tensor<4x10x32xf32>, tensor<28x32xf32>
}

// CHECK-LABEL: func.func @masked_softmax
func.func @masked_softmax(%x: tensor<8x4x6xf32>, %l: tensor<8xi64>, %lq: tensor<8x4xi32>)
    -> (tensor<8x4x6xf32>, tensor<8x4x6xf32>) {
  // CHECK: d2l.masked_softmax %{{.*}}, %{{.*}} : (tensor<8x4x6xf32>, tensor<8xi64>) -> tensor<8x4x6xf32>
  %0 = d2l.masked_softmax %x, %l : (tensor<8x4x6xf32>, tensor<8xi64>) -> tensor<8x4x6xf32>
  // CHECK: d2l.masked_softmax_backward %{{.*}}, %{{.*}}, %{{.*}} : (tensor<8x4x6xf32>, tensor<8x4x6xf32>, tensor<8x4xi32>) -> tensor<8x4x6xf32>
  %1 = d2l.masked_softmax_backward %x, %0, %lq : (tensor<8x4x6xf32>, tensor<8x4x6xf32>, tensor<8x4xi32>) -> tensor<8x4x6xf32>
  return %0, %1 : tensor<8x4x6xf32>, tensor<8x4x6xf32>
}

// CHECK-LABEL: func.func @layer_norm
func.func @layer_norm(%x: tensor<4x3x8xf32>, %w: tensor<8xf32>, %b: tensor<8xf32>, %g: tensor<4x3x8xf32>)
    -> (tensor<4x3x8xf32>, tensor<8xf32>) {
  // CHECK: d2l.layer_norm %{{.*}}, %{{.*}}, %{{.*}} {eps = 1.000000e-03 : f64} : (tensor<4x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x3x8xf32>, tensor<4x3xf32>, tensor<4x3xf32>)
  %y, %m, %s = d2l.layer_norm %x, %w, %b {eps = 1.000000e-03 : f64} : (tensor<4x3x8xf32>, tensor<8xf32>, tensor<8xf32>) -> (tensor<4x3x8xf32>, tensor<4x3xf32>, tensor<4x3xf32>)
  // CHECK: d2l.layer_norm_backward %{{.*}} : (tensor<4x3x8xf32>, tensor<4x3x8xf32>, tensor<8xf32>, tensor<4x3xf32>, tensor<4x3xf32>) -> (tensor<4x3x8xf32>, tensor<8xf32>, tensor<8xf32>)
  %dx, %dw, %db = d2l.layer_norm_backward %g, %x, %w, %m, %s : (tensor<4x3x8xf32>, tensor<4x3x8xf32>, tensor<8xf32>, tensor<4x3xf32>, tensor<4x3xf32>) -> (tensor<4x3x8xf32>, tensor<8xf32>, tensor<8xf32>)
  return %dx, %dw : tensor<4x3x8xf32>, tensor<8xf32>
}

// CHECK-LABEL: func.func @scan
func.func @scan(%h0: tensor<2x4xf32>, %xs: tensor<5x2x4xf32>, %w: tensor<4x4xf32>)
    -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  // CHECK: d2l.scan(%{{.*}}) over(%{{.*}}) : (tensor<2x4xf32>, tensor<5x2x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  // CHECK: ^bb0(%{{.*}}: tensor<2x4xf32>, %{{.*}}: tensor<2x4xf32>):
  // CHECK: d2l.yield %{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<2x4xf32>
  %h, %ys = d2l.scan (%h0) over (%xs) : (tensor<2x4xf32>, tensor<5x2x4xf32>) -> (tensor<2x4xf32>, tensor<5x2x4xf32>) {
  ^bb0(%hp: tensor<2x4xf32>, %x: tensor<2x4xf32>):
    %l = d2l.linear %hp, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
    %a = d2l.add %l, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
    %t = d2l.tanh %a : tensor<2x4xf32>
    d2l.yield %t, %t : tensor<2x4xf32>, tensor<2x4xf32>
  }
  return %h, %ys : tensor<2x4xf32>, tensor<5x2x4xf32>
}
