// RUN: d2lc-opt %s --split-input-file --verify-diagnostics --d2l-grad="entry=f wrt=x,labels"
// RUN: not d2lc-opt %s --split-input-file --d2l-grad="entry=nothing" 2>&1 | FileCheck %s --check-prefix=MISSING

// MISSING: --d2l-grad: no function @nothing to differentiate

// Integer labels have no derivative.
// expected-error @+1 {{cannot differentiate with respect to 'labels': it is not a floating-point tensor (it has type 'tensor<4xi64>')}}
func.func @f(%x: tensor<4x3xf32> {d2l.param = "x"}, %y: tensor<4xi64> {d2l.input = "labels"}) -> tensor<f32> {
  %0 = d2l.cross_entropy %x, %y : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// A path through argmax has no derivative.
func.func @f(%x: tensor<4x3xf32> {d2l.input = "x"}, %l: tensor<4x3xf32> {d2l.input = "labels"}) -> tensor<f32> {
  // expected-error @+1 {{cannot differentiate through 'd2l.argmax': its result 'tensor<4xi64>' is an integer tensor, which has no derivative, and the differentiated result depends on it}}
  %i = d2l.argmax %x {dim = 1} : (tensor<4x3xf32>) -> tensor<4xi64>
  %0 = d2l.cross_entropy %l, %i : (tensor<4x3xf32>, tensor<4xi64>) -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

// wrt must name an argument.
// expected-error @+1 {{'wrt' names 'labels', which is no argument of @f (arguments: x, 0.weight)}}
func.func @f(%x: tensor<4x3xf32> {d2l.input = "x"}, %w: tensor<3xf32> {d2l.param = "0.weight"}) -> tensor<f32> {
  %0 = d2l.mul %x, %w : (tensor<4x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  %1 = d2l.sum %0 {dims = array<i64>} : (tensor<4x3xf32>) -> tensor<f32>
  return %1 : tensor<f32>
}

// -----

// --d2l-grad needs a scalar; --d2l-vjp handles the rest.
// expected-error @+1 {{--d2l-grad expects @f to return one scalar (a 0-d floating-point tensor), but it returns 'tensor<4x3xf32>'; use --d2l-vjp for other functions}}
func.func @f(%x: tensor<4x3xf32> {d2l.param = "x"}) -> tensor<4x3xf32> {
  %0 = d2l.relu %x : tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
