// RUN: d2lc-opt %s --d2l-train-step="momentum=0.9 weight-decay=0.001 emit-grads=true" | FileCheck %s
// RUN: d2lc-opt %s --d2l-train-step="l1=0.01" | FileCheck %s --check-prefix=L1
// RUN: d2lc-opt %s --d2l-train-step="emit-logits=true" | FileCheck %s --check-prefix=LOGITS
// RUN: d2lc-opt %s --d2l-train-step="clip-norm=1.0" | FileCheck %s --check-prefix=CLIP
// RUN: not d2lc-opt %s --d2l-train-step="clip-norm=-1.0" 2>&1 | FileCheck %s --check-prefix=CLIP-ERR
// RUN: d2lc-opt %s --d2l-train-step --d2l-simplify --d2l-grad-stats -o /dev/null | FileCheck %s --check-prefix=STATS
// RUN: d2lc-opt %s --d2l-train-step="optimizer=adam" | FileCheck %s --check-prefix=ADAM
// RUN: not d2lc-opt %s --d2l-train-step="optimizer=adam momentum=0.9" 2>&1 | FileCheck %s --check-prefix=ADAM-ERR
// RUN: not d2lc-opt %s --d2l-train-step="optimizer=rmsprop" 2>&1 | FileCheck %s --check-prefix=OPT-ERR

// A small BatchNorm + dropout network (the shape of the book's models).
func.func @forward(%x: tensor<8x6xf32> {d2l.input = "X"},
                   %w: tensor<4x6xf32> {d2l.param = "0.weight", d2l.init = "xavier_uniform"},
                   %g: tensor<4xf32> {d2l.param = "1.weight", d2l.init = "ones"},
                   %b: tensor<4xf32> {d2l.param = "1.bias", d2l.init = "zeros"},
                   %m: tensor<4xf32> {d2l.state = "1.running_mean", d2l.init = "zeros"},
                   %v: tensor<4xf32> {d2l.state = "1.running_var", d2l.init = "ones"},
                   %w2: tensor<3x4xf32> {d2l.param = "4.weight", d2l.init = "xavier_uniform"})
    -> (tensor<8x3xf32> {d2l.output = "logits"}) {
  %0 = d2l.linear %x, %w : (tensor<8x6xf32>, tensor<4x6xf32>) -> tensor<8x4xf32>
  %1 = d2l.batch_norm_inference %0, %g, %b, %m, %v : (tensor<8x4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8x4xf32>
  %2 = d2l.relu %1 : tensor<8x4xf32>
  %3 = d2l.dropout %2 {p = 2.000000e-01 : f64, salt = 0 : i64} : (tensor<8x4xf32>) -> tensor<8x4xf32>
  %4 = d2l.linear %3, %w2 : (tensor<8x4xf32>, tensor<3x4xf32>) -> tensor<8x3xf32>
  return %4 : tensor<8x3xf32>
}

// @forward stays as it was.
// CHECK-LABEL: func.func @forward
// CHECK: d2l.batch_norm_inference
// CHECK-NOT: d2l.batch_norm %
// CHECK: return

// CHECK-LABEL: func.func @train_step
// CHECK-SAME: %[[X:[^:]+]]: tensor<8x6xf32> {d2l.input = "X"}
// CHECK-SAME: %[[W:[^:]+]]: tensor<4x6xf32> {d2l.init = "xavier_uniform", d2l.param = "0.weight"}
// CHECK-SAME: %[[M:[^:]+]]: tensor<4xf32> {d2l.init = "zeros", d2l.state = "1.running_mean"}
// CHECK-SAME: %[[Y:[^:]+]]: tensor<8xi64> {d2l.input = "labels"}
// CHECK-SAME: %[[LR:[^:]+]]: tensor<f32> {d2l.input = "lr"}
// CHECK-SAME: %[[SEED:[^:]+]]: tensor<i64> {d2l.input = "seed"}
// CHECK-SAME: %[[BUF:[^:]+]]: tensor<4x6xf32> {d2l.init = "zeros", d2l.state = "momentum.0.weight"}
// CHECK-SAME: -> (tensor<f32> {d2l.output = "loss"}, tensor<4x6xf32> {d2l.param = "0.weight"}, tensor<4xf32> {d2l.param = "1.weight"}, tensor<4xf32> {d2l.param = "1.bias"}, tensor<3x4xf32> {d2l.param = "4.weight"},
// CHECK-SAME: tensor<4xf32> {d2l.state = "1.running_mean"}, tensor<4xf32> {d2l.state = "1.running_var"}, tensor<4x6xf32> {d2l.state = "momentum.0.weight"}
// CHECK-SAME: tensor<4x6xf32> {d2l.output = "grad.0.weight"}
// Training mode: batch statistics (momentum 0.1) and a seeded dropout.
// CHECK-NOT: d2l.batch_norm_inference
// CHECK: %{{.+}}, %{{.+}}, %{{.+}}, %[[NRM:.+]], %[[NRV:.+]] = d2l.batch_norm %{{.+}}, %{{.+}}, %{{.+}}, %[[M]], %{{.+}} : (tensor<8x4xf32>
// CHECK: d2l.dropout %{{.+}}, %[[SEED]] {{{.*}}p = 2.000000e-01 : f64}
// CHECK: %[[LOSS:.+]] = d2l.cross_entropy %{{.+}}, %[[Y]]
// CHECK: d2l.batch_norm_backward
// SGD: d = g + wd p; buf = momentum buf + d; p - lr buf.
// CHECK: %[[DECAY:.+]] = d2l.mul %[[W]], %{{.+}} : (tensor<4x6xf32>, tensor<f32>)
// CHECK: %[[D:.+]] = d2l.add %[[G:.+]], %[[DECAY]]
// CHECK: %[[B0:.+]] = d2l.mul %[[BUF]], %{{.+}} : (tensor<4x6xf32>, tensor<f32>)
// CHECK: %[[B1:.+]] = d2l.add %[[B0]], %[[D]]
// CHECK: %[[STEP:.+]] = d2l.mul %[[B1]], %[[LR]]
// CHECK: %[[NEW:.+]] = d2l.sub %[[W]], %[[STEP]]
// CHECK: return %[[LOSS]], %[[NEW]], {{.+}}, %[[NRM]], %[[NRV]], %[[B1]], {{.*}}%[[G]],

// Inference mode, plus the loss.
// CHECK-LABEL: func.func @eval_step
// CHECK-SAME: %{{[^:]+}}: tensor<8xi64> {d2l.input = "labels"}
// CHECK-SAME: -> (tensor<8x3xf32> {d2l.output = "logits"}, tensor<f32> {d2l.output = "loss"})
// CHECK: d2l.batch_norm_inference
// CHECK: d2l.dropout %{{[^,]+}} {p
// CHECK: d2l.cross_entropy
// CHECK-NOT: d2l.cross_entropy_backward

// L1-LABEL: func.func @train_step
// L1-NOT: momentum.
// L1: d2l.abs %{{.+}} : tensor<4x6xf32>
// L1: %[[PEN:.+]] = d2l.mul %{{.+}}, %{{.+}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// L1-NEXT: %[[L1:.+]] = d2l.add %{{.+}}, %[[PEN]] : (tensor<f32>, tensor<f32>) -> tensor<f32>
// L1: d2l.sign
// L1: return %[[L1]],

// With emit-logits, the training-mode output of @forward (dropout on,
// batch statistics) is returned last, under forward's result name.
// LOGITS-LABEL: func.func @train_step
// LOGITS-SAME: tensor<4x6xf32> {d2l.param = "0.weight"}
// LOGITS-SAME: tensor<8x3xf32> {d2l.output = "logits"})
// LOGITS: d2l.dropout %{{.+}}, %{{.+}} {
// LOGITS: %[[PRED:.+]] = d2l.linear
// LOGITS: d2l.cross_entropy %[[PRED]],
// LOGITS: return {{.*}}, %[[PRED]] : {{.*}}
// LOGITS-LABEL: func.func @eval_step

// clip_grad_norm_: the norm of all gradients together, the factor
// min(1, clip / (norm + 1e-6)) as 1 - relu(1 - ...), every gradient scaled
// before the update.
// CLIP-LABEL: func.func @train_step
// CLIP: d2l.cross_entropy_backward
// CLIP: %[[SS:.+]] = d2l.sum %{{.+}} {dims = array<i64>} : (tensor<4x6xf32>) -> tensor<f32>
// CLIP: %[[NORM:.+]] = d2l.sqrt %{{.+}} : tensor<f32>
// CLIP: %[[DEN:.+]] = d2l.add %[[NORM]], %{{.+}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// CLIP: %[[COEF:.+]] = d2l.div %{{.+}}, %[[DEN]]
// CLIP: %[[GAP:.+]] = d2l.sub %{{.+}}, %[[COEF]]
// CLIP: %[[R:.+]] = d2l.relu %[[GAP]]
// CLIP: %[[SCALE:.+]] = d2l.sub %{{.+}}, %[[R]]
// CLIP: %[[G:.+]] = d2l.mul %{{.+}}, %[[SCALE]] : (tensor<4x6xf32>, tensor<f32>) -> tensor<4x6xf32>
// CLIP: d2l.mul %[[G]], %{{.+}} : (tensor<4x6xf32>, tensor<f32>)
// CLIP-ERR: momentum, weight-decay, l1 and clip-norm must be non-negative

// STATS: @forward: 5 ops
// STATS: @train_step: forward 6 ops, gradient 7 ops (1.17x forward), update 8 ops; saved 6 values, 512 bytes
// STATS: @eval_step: 6 ops

// Adam: one step count and two moments per parameter, as zero states; the
// bias corrections 1 - β^t = 1 - exp(t log β) once for all parameters.
// ADAM-LABEL: func.func @train_step
// ADAM-SAME: %[[T:[^:]+]]: tensor<f32> {d2l.init = "zeros", d2l.state = "adam.step"}
// ADAM-SAME: %[[M:[^:]+]]: tensor<4x6xf32> {d2l.init = "zeros", d2l.state = "adam.exp_avg.0.weight"}
// ADAM-SAME: %[[V:[^:]+]]: tensor<4x6xf32> {d2l.init = "zeros", d2l.state = "adam.exp_avg_sq.0.weight"}
// ADAM-SAME: tensor<3x4xf32> {d2l.init = "zeros", d2l.state = "adam.exp_avg_sq.4.weight"})
// ADAM-SAME: tensor<f32> {d2l.state = "adam.step"}, tensor<4x6xf32> {d2l.state = "adam.exp_avg.0.weight"}
// ADAM: %[[T1:.+]] = d2l.add %[[T]], %{{.+}} : (tensor<f32>, tensor<f32>) -> tensor<f32>
// ADAM: d2l.mul %[[T1]], %{{.+}}
// ADAM: d2l.exp
// ADAM: d2l.exp
// ADAM: d2l.sqrt %{{.+}} : tensor<f32>
// ADAM: d2l.mul %[[M]], %{{.+}} : (tensor<4x6xf32>, tensor<f32>)
// ADAM: d2l.mul %[[V]], %{{.+}} : (tensor<4x6xf32>, tensor<f32>)
// ADAM: d2l.sqrt %{{.+}} : tensor<4x6xf32>
// ADAM: return
// ADAM-ERR: adam takes beta1 and beta2 in [0, 1) and eps > 0, and no momentum
// OPT-ERR: unknown optimizer 'rmsprop' (expected sgd or adam)
