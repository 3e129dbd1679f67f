// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-early-update --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.8 policy=exact" | FileCheck %s
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-early-update --d2l-fuse-conv-bn-relu --d2l-remat="budget=0.8 policy=exact retain=false" | FileCheck %s --check-prefix=FRESH

// Retention (objective peak): a conv block, a block of two branches of one
// conv (sigmoid and tanh, summed and rectified) pooled, and a residual pair
// of blocks. Under 80% of the peak the search (over the step with its
// activations saved) recomputes the first block's conv from the input for
// three backward readers. Each recomputation starts from the saved values
// (with retain=false the first block's conv2d_batch_stats on %arg0 appears three
// times in the backward pass); with retention the first block's ReLU output,
// recomputed for the first of them, stays live for the other two and the
// step still fits: the conv runs once. The FLOPs saved, by hand: two convs
// of 8 x 3 x 6 x 6 = 864 outputs x (1 x 3 x 3) x 2 = 15552 each: 31104
// (extra FLOPs 85248 without, 54144 with).
// CHECK-LABEL: func.func @train_step
// CHECK-SAME: extra_flops = 5.414400e+04 : f64, {{.+}} optimal = true, peak_after = 16024 : i64, {{.+}} retained = 1 : i64, retained_flops = 3.110400e+04 : f64
// CHECK: d2l.cross_entropy_backward
// CHECK: d2l.conv2d_batch_stats %arg0, %arg1
// CHECK-NOT: d2l.conv2d_batch_stats %arg0, %arg1
// CHECK-LABEL: func.func @eval_step
// FRESH-LABEL: func.func @train_step
// FRESH-SAME: extra_flops = 8.524800e+04 : f64, {{.+}} peak_after = 16024 : i64, {{.+}} retained = 0 : i64
// FRESH: d2l.cross_entropy_backward
// FRESH-COUNT-3: d2l.conv2d_batch_stats %arg0, %arg1
// FRESH-NOT: d2l.conv2d_batch_stats %arg0, %arg1
// FRESH-LABEL: func.func @eval_step

func.func @forward(%x: tensor<8x1x6x6xf32> {d2l.input = "X"},
    %w0: tensor<3x1x3x3xf32> {d2l.param = "0.conv.weight", d2l.init = "xavier_uniform"},
    %g0: tensor<3xf32> {d2l.param = "0.bn.weight", d2l.init = "ones"},
    %be0: tensor<3xf32> {d2l.param = "0.bn.bias", d2l.init = "zeros"},
    %m0: tensor<3xf32> {d2l.state = "0.bn.running_mean", d2l.init = "zeros"},
    %v0: tensor<3xf32> {d2l.state = "0.bn.running_var", d2l.init = "ones"},
    %wq0: tensor<3x3x3x3xf32> {d2l.param = "0.q.weight", d2l.init = "xavier_uniform"},
    %w1: tensor<4x3x3x3xf32> {d2l.param = "1.conv.weight", d2l.init = "xavier_uniform"},
    %g1: tensor<4xf32> {d2l.param = "1.bn.weight", d2l.init = "ones"},
    %be1: tensor<4xf32> {d2l.param = "1.bn.bias", d2l.init = "zeros"},
    %m1: tensor<4xf32> {d2l.state = "1.bn.running_mean", d2l.init = "zeros"},
    %v1: tensor<4xf32> {d2l.state = "1.bn.running_var", d2l.init = "ones"},
    %w2: tensor<4x4x3x3xf32> {d2l.param = "2.conv.weight", d2l.init = "xavier_uniform"},
    %g2: tensor<4xf32> {d2l.param = "2.bn.weight", d2l.init = "ones"},
    %be2: tensor<4xf32> {d2l.param = "2.bn.bias", d2l.init = "zeros"},
    %m2: tensor<4xf32> {d2l.state = "2.bn.running_mean", d2l.init = "zeros"},
    %v2: tensor<4xf32> {d2l.state = "2.bn.running_var", d2l.init = "ones"},
    %wl: tensor<3x36xf32> {d2l.param = "head.weight", d2l.init = "xavier_uniform"}) -> (tensor<8x3xf32> {d2l.output = "logits"}) {
  %c0 = d2l.conv2d %x, %w0 {padding = array<i64: 1, 1>} : (tensor<8x1x6x6xf32>, tensor<3x1x3x3xf32>) -> tensor<8x3x6x6xf32>
  %n0 = d2l.batch_norm_inference %c0, %g0, %be0, %m0, %v0 : (tensor<8x3x6x6xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<8x3x6x6xf32>
  %r0 = d2l.relu %n0 : tensor<8x3x6x6xf32>
  %q0 = d2l.conv2d %r0, %wq0 {padding = array<i64: 1, 1>} : (tensor<8x3x6x6xf32>, tensor<3x3x3x3xf32>) -> tensor<8x3x6x6xf32>
  %s0 = d2l.sigmoid %q0 : tensor<8x3x6x6xf32>
  %t0 = d2l.tanh %q0 : tensor<8x3x6x6xf32>
  %u0 = d2l.add %s0, %t0 : (tensor<8x3x6x6xf32>, tensor<8x3x6x6xf32>) -> tensor<8x3x6x6xf32>
  %br0 = d2l.relu %u0 : tensor<8x3x6x6xf32>
  %p0 = d2l.max_pool2d %br0 {kernel_size = array<i64: 2, 2>, padding = array<i64: 0, 0>, stride = array<i64: 2, 2>} : (tensor<8x3x6x6xf32>) -> tensor<8x3x3x3xf32>
  %c1 = d2l.conv2d %p0, %w1 {padding = array<i64: 1, 1>} : (tensor<8x3x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<8x4x3x3xf32>
  %n1 = d2l.batch_norm_inference %c1, %g1, %be1, %m1, %v1 : (tensor<8x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8x4x3x3xf32>
  %r1 = d2l.relu %n1 : tensor<8x4x3x3xf32>
  %c2 = d2l.conv2d %r1, %w2 {padding = array<i64: 1, 1>} : (tensor<8x4x3x3xf32>, tensor<4x4x3x3xf32>) -> tensor<8x4x3x3xf32>
  %n2 = d2l.batch_norm_inference %c2, %g2, %be2, %m2, %v2 : (tensor<8x4x3x3xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8x4x3x3xf32>
  %a2 = d2l.add %n2, %r1 : (tensor<8x4x3x3xf32>, tensor<8x4x3x3xf32>) -> tensor<8x4x3x3xf32>
  %r2 = d2l.relu %a2 : tensor<8x4x3x3xf32>
  %f = d2l.flatten %r2 : (tensor<8x4x3x3xf32>) -> tensor<8x36xf32>
  %y = d2l.linear %f, %wl : (tensor<8x36xf32>, tensor<3x36xf32>) -> tensor<8x3xf32>
  return %y : tensor<8x3xf32>
}
