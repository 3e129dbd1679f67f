// The memory report (d2lc --mem-report): saved values per op and the
// totals, golden for LeNet and a ResNet residual block at small batches.
// The saved sizes are hand-checkable: LeNet's first conv + sigmoid output
// is [32, 6, 28, 28] f32 = 32 * 6 * 784 * 4 = 602112 bytes; the residual
// block's conv outputs are [4, 128, 12, 12] f32 = 294912 bytes, and the
// sum of the listed values is the "saved activations" total.
// RUN: d2lc %models/lenet.mlir --train --batch 32 --mem-report | FileCheck %s --check-prefix=LENET
// RUN: d2lc %models/residual_block.mlir --train --batch 4 --mem-report --no-reorder | FileCheck %s --check-prefix=BLOCK
// RUN: d2lc %models/residual_block.mlir --train --batch 4 --mem-report | FileCheck %s --check-prefix=REORDERED
// RUN: d2lc %s --mem-report | FileCheck %s --check-prefix=FORWARD

// LENET-LABEL: memory of @train_step
// LENET-NEXT: saved for the backward pass: 6 values
// LENET: 602112 bytes d2l.fused epilogue (conv2d, sigmoid) #0 at {{.*}}models/lenet.mlir:5:10
// LENET: 150528 bytes d2l.avg_pool2d #0 at {{.*}}models/lenet.mlir:7:10
// LENET: 204800 bytes d2l.fused epilogue (conv2d, sigmoid) #0 at {{.*}}models/lenet.mlir:8:10
// LENET: 51200 bytes d2l.flatten #0 at {{.*}}models/lenet.mlir:11:10
// LENET: 15360 bytes d2l.fused epilogue (linear, sigmoid) #0 at {{.*}}models/lenet.mlir:12:10
// LENET: 10752 bytes d2l.fused epilogue (linear, sigmoid) #0 at {{.*}}models/lenet.mlir:14:10
// LENET: totals (bytes):
// LENET: parameters 246824
// LENET: optimizer state 0
// LENET: batchnorm state 0
// LENET: inputs 100612
// LENET: saved activations 1034752
// LENET: other activations 0
// LENET: gradients 1047176
// LENET: workspace 87128
// The new parameters are written over the old ones: the outputs are the
// loss and the logits, 4 + 32 * 10 * 4 = 1284 bytes.
// LENET: outputs 1284
// LENET: arena 1468160
// LENET: lower bound 1468160
// LENET: naive 2272768
// LENET: arena / lower bound 1.000
// LENET: in-place launches 6
// BLOCK-LABEL: memory of @train_step
// BLOCK-NEXT: saved for the backward pass: 8 values
// BLOCK: 294912 bytes d2l.conv2d_batch_stats #0 at {{.*}}models/residual_block.mlir:5:10
// BLOCK: 512 bytes d2l.conv2d_batch_stats #1 at {{.*}}models/residual_block.mlir:5:10
// BLOCK: 512 bytes d2l.conv2d_batch_stats #2 at {{.*}}models/residual_block.mlir:5:10
// BLOCK: 294912 bytes d2l.conv2d_batch_stats #0 at {{.*}}models/residual_block.mlir:8:10
// BLOCK: 512 bytes d2l.conv2d_batch_stats #1 at {{.*}}models/residual_block.mlir:8:10
// BLOCK: 512 bytes d2l.conv2d_batch_stats #2 at {{.*}}models/residual_block.mlir:8:10
// BLOCK: 294912 bytes d2l.fused epilogue (conv2d, add, relu) #0 at {{.*}}models/residual_block.mlir:10:10
// BLOCK: 2048 bytes d2l.flatten #0 at {{.*}}models/residual_block.mlir:14:10
// BLOCK: totals (bytes):
// BLOCK: parameters 926248
// BLOCK: optimizer state 0
// BLOCK: batchnorm state 2048
// BLOCK: inputs 589860
// BLOCK: saved activations 888832
// BLOCK: other activations 589824
// Both BatchNorm backward kernels write the input's gradient over the
// incoming gradient: 2 x 294912 bytes fewer than the 2397896 without.
// BLOCK: gradients 1808072
// BLOCK: workspace 36880
// BLOCK: outputs 2212
// BLOCK: arena 2397696
// BLOCK: lower bound 2397696
// BLOCK: naive 3917056
// BLOCK: arena / lower bound 1.000
// BLOCK: in-place launches 5
// The memory-aware order (--d2l-reorder, d2lc's default) lowers the
// block's peak by a quarter (a regression value, as the arenas above).
// REORDERED-LABEL: memory of @train_step
// REORDERED: arena 1809408
// REORDERED-NEXT: lower bound 1809408

// Inference, by hand: X [8, 16] f32 is 512 bytes; add + exp fuse into one
// kernel writing 512 bytes; the sum [8, 1] is 32 bytes (256 in the arena,
// whose buffers are 256-byte aligned); the result 512. At the division the
// exponentials, the sums and the result are live: 512 + 256 + 512 = 1280
// bytes, the bound, which the plan reaches (X is dead by then).
// FORWARD-LABEL: memory of @forward
// FORWARD-NEXT: saved for the backward pass: 0 values
// FORWARD: inputs 512
// FORWARD: saved activations 0
// FORWARD: other activations 544
// FORWARD: outputs 512
// FORWARD: arena 1280
// FORWARD: lower bound 1280
// FORWARD: naive 1792
// The largest launch is the division: the exponentials (512), the sums
// (32 bytes, unaligned) and the result (512).
// FORWARD: largest launch 1056 d2l.div at
func.func @forward(%x: tensor<8x16xf32> {d2l.input = "X"}, %b: tensor<16xf32> {d2l.param = "b", d2l.init = "zeros"}) -> (tensor<8x16xf32> {d2l.output = "y"}) {
  %0 = d2l.add %x, %b : (tensor<8x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
  %1 = d2l.exp %0 : tensor<8x16xf32>
  %2 = d2l.sum %1 {dims = array<i64: 1>, keepdim = true} : (tensor<8x16xf32>) -> tensor<8x1xf32>
  %3 = d2l.div %1, %2 : (tensor<8x16xf32>, tensor<8x1xf32>) -> tensor<8x16xf32>
  return %3 : tensor<8x16xf32>
}
