// RUN: d2lc-opt %s --d2l-vjp=entry=f | FileCheck %s

// --d2l-vjp builds the vector-Jacobian product of any function: one
// cotangent argument per floating-point result, one gradient per
// floating-point argument (integers get neither).
// CHECK-LABEL: func.func @f_vjp
// CHECK-SAME: %[[X:[^:]+]]: tensor<4x3xf32> {d2l.input = "x"}
// CHECK-SAME: %[[U:[^:]+]]: tensor<4x3xf32> {d2l.input = "cotangent.y"}
// CHECK-SAME: -> (tensor<4x3xf32> {d2l.output = "y"}, tensor<4xi64> {d2l.output = "classes"}, tensor<4x3xf32> {d2l.output = "grad.x"})
// CHECK: %[[Y:.+]] = d2l.softmax %[[X]]
// CHECK: %[[G:.+]] = d2l.softmax_backward %[[U]], %[[Y]] {dim = 1 : i64}
// CHECK: return %[[Y]], %{{.+}}, %[[G]]
func.func @f(%x: tensor<4x3xf32> {d2l.input = "x"})
    -> (tensor<4x3xf32> {d2l.output = "y"}, tensor<4xi64> {d2l.output = "classes"}) {
  %0 = d2l.softmax %x {dim = 1} : (tensor<4x3xf32>) -> tensor<4x3xf32>
  %1 = d2l.argmax %x {dim = 1} : (tensor<4x3xf32>) -> tensor<4xi64>
  return %0, %1 : tensor<4x3xf32>, tensor<4xi64>
}
