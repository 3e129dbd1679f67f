// RUN: d2lc-opt %s --split-input-file --d2l-fold-bn | FileCheck %s
// RUN: d2lc-opt %s --split-input-file --d2l-fold-bn --d2l-fuse-elementwise | FileCheck %s --check-prefix=FUSED
// The numbers (folded = unfolded = PyTorch) are checked by
// test/Runtime/fusion.py.

// conv -> BN -> ReLU: the BN is gone; one multi launch at entry computes
// w' = w gamma / sqrt(var + eps) (the vectors viewed as [C, 1, 1, 1]) and
// b' = (b - mean) gamma / sqrt(var + eps) + beta; the conv reads them.
// CHECK-LABEL: func.func @conv_bn_relu
// CHECK-SAME: (%[[X:[^:]+]]: tensor<2x3x8x8xf32>, %[[W:[^:]+]]: tensor<4x3x3x3xf32>, %[[B:[^:]+]]: tensor<4xf32>, %[[G:[^:]+]]: tensor<4xf32>, %[[BETA:[^:]+]]: tensor<4xf32>, %[[M:[^:]+]]: tensor<4xf32>, %[[V:[^:]+]]: tensor<4xf32>)
// CHECK-DAG: %[[EPS:.+]] = d2l.constant dense<9.99999974E-6> : tensor<f32>
// CHECK-DAG: %[[GV:.+]] = d2l.reshape %[[G]] {shape = array<i64: 4, 1, 1, 1>}
// CHECK-DAG: %[[VV:.+]] = d2l.reshape %[[V]] {shape = array<i64: 4, 1, 1, 1>}
// CHECK: %[[F:.+]]:2 = d2l.fused "multi"(%[[W]], %[[GV]], %[[VV]], %[[EPS]], %[[G]], %[[BETA]], %[[M]], %[[V]], %[[B]])
// CHECK-NEXT: ^bb0(%[[AW:[^:]+]]: {{.+}}, %[[AGV:[^:]+]]: {{.+}}, %[[AVV:[^:]+]]: {{.+}}, %[[AEPS:[^:]+]]: {{.+}}, %[[AG:[^:]+]]: {{.+}}, %[[ABETA:[^:]+]]: {{.+}}, %[[AM:[^:]+]]: {{.+}}, %[[AV:[^:]+]]: {{.+}}, %[[AB:[^:]+]]: {{.+}}):
// CHECK-NEXT: %[[S1:.+]] = d2l.add %[[AVV]], %[[AEPS]]
// CHECK-NEXT: %[[S2:.+]] = d2l.sqrt %[[S1]]
// CHECK-NEXT: %[[S3:.+]] = d2l.div %[[AGV]], %[[S2]]
// CHECK-NEXT: %[[WF:.+]] = d2l.mul %[[AW]], %[[S3]]
// CHECK-NEXT: %[[T1:.+]] = d2l.add %[[AV]], %[[AEPS]]
// CHECK-NEXT: %[[T2:.+]] = d2l.sqrt %[[T1]]
// CHECK-NEXT: %[[T3:.+]] = d2l.div %[[AG]], %[[T2]]
// CHECK-NEXT: %[[T4:.+]] = d2l.sub %[[AB]], %[[AM]]
// CHECK-NEXT: %[[T5:.+]] = d2l.mul %[[T4]], %[[T3]]
// CHECK-NEXT: %[[BF:.+]] = d2l.add %[[T5]], %[[ABETA]]
// CHECK-NEXT: d2l.yield %[[WF]], %[[BF]]
// CHECK: %[[Y:.+]] = d2l.conv2d %[[X]], %[[F]]#0, %[[F]]#1
// CHECK-NOT: d2l.batch_norm_inference
// CHECK: %[[R:.+]] = d2l.relu %[[Y]]
// CHECK: return %[[R]]
// After elementwise fusion the ReLU is the conv's epilogue: two launches.
// FUSED-LABEL: func.func @conv_bn_relu
// FUSED: d2l.fused "multi"
// FUSED: %[[E:.+]] = d2l.fused "epilogue"
// FUSED-NEXT: ^bb0
// FUSED-NEXT: d2l.conv2d
// FUSED-NEXT: d2l.relu
// FUSED-NEXT: d2l.yield
// FUSED-NOT: d2l.relu
// FUSED: return %[[E]]
func.func @conv_bn_relu(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<4xf32>,
                        %g: tensor<4xf32>, %beta: tensor<4xf32>, %m: tensor<4xf32>,
                        %v: tensor<4xf32>) -> tensor<2x4x6x6xf32> {
  %0 = d2l.conv2d %x, %w, %b : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %1 = d2l.batch_norm_inference %0, %g, %beta, %m, %v : (tensor<2x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %2 = d2l.relu %1 : tensor<2x4x6x6xf32>
  return %2 : tensor<2x4x6x6xf32>
}

// -----

// Without a conv bias the folded bias is beta - mean scale; a BatchNorm1d
// after a linear folds the same way; both pairs share the one launch.
// CHECK-LABEL: func.func @no_bias_and_linear
// CHECK: %[[F:.+]]:4 = d2l.fused "multi"
// CHECK: d2l.neg
// CHECK: d2l.yield
// CHECK: %[[Y:.+]] = d2l.conv2d %{{.+}}, %[[F]]#0, %[[F]]#1
// CHECK: d2l.flatten
// CHECK: d2l.linear %{{.+}}, %[[F]]#2, %[[F]]#3
// CHECK-NOT: d2l.batch_norm_inference
func.func @no_bias_and_linear(%x: tensor<2x3x4x4xf32>, %w: tensor<4x3x3x3xf32>,
                              %g: tensor<4xf32>, %beta: tensor<4xf32>, %m: tensor<4xf32>, %v: tensor<4xf32>,
                              %w2: tensor<5x16xf32>, %b2: tensor<5xf32>,
                              %g2: tensor<5xf32>, %beta2: tensor<5xf32>, %m2: tensor<5xf32>, %v2: tensor<5xf32>) -> tensor<2x5xf32> {
  %0 = d2l.conv2d %x, %w {padding = array<i64: 1, 1>} : (tensor<2x3x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x4x4xf32>
  %1 = d2l.batch_norm_inference %0, %g, %beta, %m, %v : (tensor<2x4x4x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x4x4xf32>
  %2 = d2l.max_pool2d %1 {kernel_size = array<i64: 2, 2>} : (tensor<2x4x4x4xf32>) -> tensor<2x4x2x2xf32>
  %3 = d2l.flatten %2 : (tensor<2x4x2x2xf32>) -> tensor<2x16xf32>
  %4 = d2l.linear %3, %w2, %b2 : (tensor<2x16xf32>, tensor<5x16xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  %5 = d2l.batch_norm_inference %4, %g2, %beta2, %m2, %v2 : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  return %5 : tensor<2x5xf32>
}

// -----

// Not folded: the conv output is also returned (it must exist unscaled),
// and a BN after a ReLU has no conv to fold into.
// CHECK-LABEL: func.func @not_folded
// CHECK-NOT: d2l.fused
// CHECK: %[[Y:.+]] = d2l.conv2d
// CHECK: d2l.batch_norm_inference %[[Y]]
// CHECK: %[[R:.+]] = d2l.relu %[[Y]]
// CHECK: d2l.batch_norm_inference %[[R]]
func.func @not_folded(%x: tensor<2x3x8x8xf32>, %w: tensor<4x3x3x3xf32>,
                      %g: tensor<4xf32>, %beta: tensor<4xf32>, %m: tensor<4xf32>,
                      %v: tensor<4xf32>) -> (tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>) {
  %0 = d2l.conv2d %x, %w : (tensor<2x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<2x4x6x6xf32>
  %1 = d2l.batch_norm_inference %0, %g, %beta, %m, %v : (tensor<2x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  %2 = d2l.relu %0 : tensor<2x4x6x6xf32>
  %3 = d2l.batch_norm_inference %2, %g, %beta, %m, %v : (tensor<2x4x6x6xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<2x4x6x6xf32>
  return %0, %1, %3 : tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>, tensor<2x4x6x6xf32>
}
