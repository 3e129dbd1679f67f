// RUN: d2lc-opt %s --split-input-file --verify-diagnostics

// Malformed text and unknown ops are located errors, not crashes.

func.func @unknown_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{custom op 'd2l.gelu' is unknown}}
  %0 = d2l.gelu %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @registered_dialect_unknown_op(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{unregistered operation 'd2l.softplus' found in dialect ('d2l') that does not allow unknown operations}}
  %0 = "d2l.softplus"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @missing_type(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{expected ':'}}
  %0 = d2l.relu %x
  return %0 : tensor<4xf32>
}

// -----

func.func @undefined_value(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{use of undeclared SSA value name}}
  %0 = d2l.relu %y : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @bad_attribute(%x: tensor<1x1x4x4xf32>) {
  // expected-error @+1 {{expected '>' to close an array attribute}}
  %0 = d2l.max_pool2d %x {kernel_size = array<i64: 2, 2} : (tensor<1x1x4x4xf32>) -> tensor<1x1x2x2xf32>
  return
}
