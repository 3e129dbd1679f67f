// RUN: d2lc-opt %s --d2l-reorder | FileCheck %s
// RUN: d2lc %s --mem-report | FileCheck %s --check-prefix=REPORT
// RUN: d2lc %s --mem-report --no-reorder | FileCheck %s --check-prefix=NOREORDER

// Two branches of 4096 bytes each from x (4096 bytes). In program order
// x, exp(x) and tanh(x) are live together at the tanh: 12288 bytes. The
// list schedule runs each reduction right after its branch (it frees the
// branch): at most x, one branch and a 4-byte sum, 8196 bytes, so it is
// kept.
// CHECK-LABEL: func.func @forward
// CHECK-SAME: d2l.reorder = {applied = true, peak_after = 8196 : i64, peak_before = 12288 : i64, peak_list = 8196 : i64}
// CHECK: %[[A:.+]] = d2l.exp %arg0
// CHECK-NEXT: d2l.sum %[[A]]
// CHECK-NEXT: %[[B:.+]] = d2l.tanh %arg0
// CHECK-NEXT: d2l.sum %[[B]]

// The plan follows (buffers 256-byte aligned): x, tanh(x) and the first
// sum at the tanh, 4096 + 4096 + 256; x, exp(x) and tanh(x) at the tanh
// without reordering, 12288.
// REPORT: lower bound 8448
// NOREORDER: lower bound 12288
func.func @forward(%x: tensor<1024xf32> {d2l.input = "x"})
    -> (tensor<f32> {d2l.output = "a"}, tensor<f32> {d2l.output = "b"}) {
  %a = d2l.exp %x : tensor<1024xf32>
  %b = d2l.tanh %x : tensor<1024xf32>
  %sa = d2l.sum %a {dims = array<i64>} : (tensor<1024xf32>) -> tensor<f32>
  %sb = d2l.sum %b {dims = array<i64>} : (tensor<1024xf32>) -> tensor<f32>
  return %sa, %sb : tensor<f32>, tensor<f32>
}
