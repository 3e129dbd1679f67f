// RUN: d2lc-opt %s --d2l-set-batch=batch=1 --split-input-file --verify-diagnostics
// RUN: not d2lc-opt %s --d2l-set-batch=batch=0 2>&1 | FileCheck %s --check-prefix=ZERO

// Batch size 1: what cannot be resized is a located error.

// ZERO: --d2l-set-batch needs 'batch' >= 1 but got 0 (use --d2l-set-batch=batch=N)

// BatchNorm in training needs two values per channel.
func.func @one_per_channel(%x: tensor<4x3xf32> {d2l.input = "X"}, %v: tensor<3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{'d2l.batch_norm' op expects more than one value per channel in training, but input 'tensor<1x3xf32>' has 1}}
  %y, %m, %i, %rm, %rv = d2l.batch_norm %x, %v, %v, %v, %v : (tensor<4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> (tensor<4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>)
  return %y : tensor<4x3xf32>
}

// -----

// Without a BatchNorm in training form, batch 1 is fine.
func.func @fine(%x: tensor<4x3xf32> {d2l.input = "X"}, %v: tensor<3xf32>) -> tensor<4x3xf32> {
  %y = d2l.batch_norm_inference %x, %v, %v, %v, %v : (tensor<4x3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}
