// RUN: axc-opt %s -p fuse-swiglu --split-input-file | filecheck %s

// fuse-swiglu: act(gate) * up becomes axh.swiglu (silu) or axh.geglu (gelu); ATen's
// written-out silu and HF's written-out gelu_new become axh.silu and axh.gelu.

// qwen2's MLP, decode, as imported: silu decomposed to gate * sigmoid(gate).
// CHECK-LABEL: func.func @qwen2_mlp(
// CHECK-SAME: %[[G:.*]]: tensor<1x1x128xf32>, %[[U:.*]]: tensor<1x1x128xf32>)
// CHECK-NEXT: %[[S:.*]] = axh.swiglu %[[G]], %[[U]] : tensor<1x1x128xf32>
// CHECK-NEXT: func.return %[[S]]
// CHECK-NOT: sigmoid
func.func @qwen2_mlp(%gate: tensor<1x1x128xf32>, %up: tensor<1x1x128xf32>) -> tensor<1x1x128xf32> {
  %0 = axh.unary sigmoid %gate : tensor<1x1x128xf32>
  %1 = axh.mul %gate, %0 : (tensor<1x1x128xf32>, tensor<1x1x128xf32>) -> tensor<1x1x128xf32>
  %2 = axh.mul %1, %up : (tensor<1x1x128xf32>, tensor<1x1x128xf32>) -> tensor<1x1x128xf32>
  func.return %2 : tensor<1x1x128xf32>
}

// -----

// phi3's MLP, prefill: `up * act(gate)` on the two halves of gate_up_proj.
// CHECK-LABEL: func.func @phi3_mlp_up_first(
// CHECK-SAME: %[[GU:.*]]: tensor<1x5x256xf32>)
// CHECK-NEXT: %[[G:.*]] = axh.slice %[[GU]] {axis = 2 : i64, start = 0 : i64, end = 128 : i64}
// CHECK-NEXT: %[[U:.*]] = axh.slice %[[GU]] {axis = 2 : i64, start = 128 : i64, end = 256 : i64}
// CHECK-NEXT: %[[S:.*]] = axh.swiglu %[[G]], %[[U]] : tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[S]]
func.func @phi3_mlp_up_first(%gu: tensor<1x5x256xf32>) -> tensor<1x5x128xf32> {
  %g = axh.slice %gu {axis = 2 : i64, start = 0 : i64, end = 128 : i64} : tensor<1x5x256xf32> -> tensor<1x5x128xf32>
  %u = axh.slice %gu {axis = 2 : i64, start = 128 : i64, end = 256 : i64} : tensor<1x5x256xf32> -> tensor<1x5x128xf32>
  %0 = axh.unary sigmoid %g : tensor<1x5x128xf32>
  %1 = axh.mul %g, %0 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %2 = axh.mul %u, %1 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  func.return %2 : tensor<1x5x128xf32>
}

// -----

// sigmoid(gate) * gate, and an axh.silu op, both count as silu.
// CHECK-LABEL: func.func @silu_forms(
// CHECK-SAME: %[[G:.*]]: tensor<1x5x128xf32>, %[[U:.*]]: tensor<1x5x128xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.swiglu %[[G]], %[[U]] : tensor<1x5x128xf32>
// CHECK-NEXT: %[[B:.*]] = axh.swiglu %[[U]], %[[G]] : tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[A]], %[[B]]
func.func @silu_forms(%g: tensor<1x5x128xf32>, %u: tensor<1x5x128xf32>) -> (tensor<1x5x128xf32>, tensor<1x5x128xf32>) {
  %0 = axh.unary sigmoid %g : tensor<1x5x128xf32>
  %1 = axh.mul %0, %g : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %2 = axh.mul %1, %u : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %3 = axh.silu %u : tensor<1x5x128xf32>
  %4 = axh.mul %g, %3 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  func.return %2, %4 : tensor<1x5x128xf32>, tensor<1x5x128xf32>
}

// -----

// gemma's MLP: gelu (tanh) of the gate times up.
// CHECK-LABEL: func.func @gemma_mlp(
// CHECK-SAME: %[[G:.*]]: tensor<1x1x128xf32>, %[[U:.*]]: tensor<1x1x128xf32>)
// CHECK-NEXT: %[[S:.*]] = axh.geglu %[[G]], %[[U]] approximate = tanh : tensor<1x1x128xf32>
// CHECK-NEXT: func.return %[[S]]
func.func @gemma_mlp(%gate: tensor<1x1x128xf32>, %up: tensor<1x1x128xf32>) -> tensor<1x1x128xf32> {
  %0 = axh.gelu %gate approximate = tanh : tensor<1x1x128xf32>
  %1 = axh.mul %0, %up : (tensor<1x1x128xf32>, tensor<1x1x128xf32>) -> tensor<1x1x128xf32>
  func.return %1 : tensor<1x1x128xf32>
}

// -----

// The exact gelu keeps its (default) approximation.
// CHECK-LABEL: func.func @geglu_exact(
// CHECK-SAME: %[[G:.*]]: tensor<2x8xf32>, %[[U:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[S:.*]] = axh.geglu %[[U]], %[[G]] : tensor<2x8xf32>
// CHECK-NEXT: func.return %[[S]]
func.func @geglu_exact(%g: tensor<2x8xf32>, %u: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = axh.gelu %u : tensor<2x8xf32>
  %1 = axh.mul %g, %0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %1 : tensor<2x8xf32>
}

// -----

// A bare x * sigmoid(x) (no gate) is silu.
// CHECK-LABEL: func.func @bare_silu(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x128xf32>)
// CHECK-NEXT: %[[S:.*]] = axh.silu %[[X]] : tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[S]]
func.func @bare_silu(%x: tensor<1x5x128xf32>) -> tensor<1x5x128xf32> {
  %0 = axh.unary sigmoid %x : tensor<1x5x128xf32>
  %1 = axh.mul %x, %0 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  func.return %1 : tensor<1x5x128xf32>
}

// -----

// The silu is also returned: it stays for that user, and the gated product is a swiglu.
// CHECK-LABEL: func.func @silu_shared(
// CHECK-SAME: %[[G:.*]]: tensor<1x5x128xf32>, %[[U:.*]]: tensor<1x5x128xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.silu %[[G]] : tensor<1x5x128xf32>
// CHECK-NEXT: %[[S:.*]] = axh.swiglu %[[G]], %[[U]] : tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[S]], %[[A]]
func.func @silu_shared(%g: tensor<1x5x128xf32>, %u: tensor<1x5x128xf32>) -> (tensor<1x5x128xf32>, tensor<1x5x128xf32>) {
  %0 = axh.silu %g : tensor<1x5x128xf32>
  %1 = axh.mul %0, %u : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  func.return %1, %0 : tensor<1x5x128xf32>, tensor<1x5x128xf32>
}

// -----

// phi's gelu_new (NewGELUActivation) as imported, decode:
// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))).
// CHECK-LABEL: func.func @phi_gelu_new(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x128xf32>)
// CHECK-NEXT: %[[G:.*]] = axh.gelu %[[X]] approximate = tanh : tensor<1x1x128xf32>
// CHECK-NEXT: func.return %[[G]]
// CHECK-NOT: axh.unary tanh
func.func @phi_gelu_new(%x: tensor<1x1x128xf32>) -> tensor<1x1x128xf32> {
  %0 = axh.constant dense<5.000000e-01> : tensor<f32>
  %1 = axh.mul %x, %0 : (tensor<1x1x128xf32>, tensor<f32>) -> tensor<1x1x128xf32>
  %2 = axh.constant dense<3.000000e+00> : tensor<f32>
  %3 = axh.binary pow %x, %2 : (tensor<1x1x128xf32>, tensor<f32>) -> tensor<1x1x128xf32>
  %4 = axh.constant dense<4.471500e-02> : tensor<f32>
  %5 = axh.mul %3, %4 : (tensor<1x1x128xf32>, tensor<f32>) -> tensor<1x1x128xf32>
  %6 = axh.add %x, %5 : (tensor<1x1x128xf32>, tensor<1x1x128xf32>) -> tensor<1x1x128xf32>
  %7 = axh.constant dense<0.797884583> : tensor<f32>
  %8 = axh.mul %6, %7 : (tensor<1x1x128xf32>, tensor<f32>) -> tensor<1x1x128xf32>
  %9 = axh.unary tanh %8 : tensor<1x1x128xf32>
  %10 = axh.constant dense<1.000000e+00> : tensor<f32>
  %11 = axh.add %9, %10 : (tensor<1x1x128xf32>, tensor<f32>) -> tensor<1x1x128xf32>
  %12 = axh.mul %1, %11 : (tensor<1x1x128xf32>, tensor<1x1x128xf32>) -> tensor<1x1x128xf32>
  func.return %12 : tensor<1x1x128xf32>
}

// -----

// gelu_fast's arrangement of the same formula: x * 0.7978845608 * (1 + 0.044715 * x * x)
// inside, and the product nested the other way outside.
// CHECK-LABEL: func.func @gelu_fast(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x128xf32>)
// CHECK-NEXT: %[[G:.*]] = axh.gelu %[[X]] approximate = tanh : tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[G]]
func.func @gelu_fast(%x: tensor<1x5x128xf32>) -> tensor<1x5x128xf32> {
  %c = axh.constant dense<0.797884583> : tensor<f32>
  %k = axh.constant dense<4.471500e-02> : tensor<f32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %half = axh.constant dense<5.000000e-01> : tensor<f32>
  %0 = axh.mul %x, %c : (tensor<1x5x128xf32>, tensor<f32>) -> tensor<1x5x128xf32>
  %1 = axh.mul %k, %x : (tensor<f32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %2 = axh.mul %1, %x : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %3 = axh.add %one, %2 : (tensor<f32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %4 = axh.mul %0, %3 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %5 = axh.unary tanh %4 : tensor<1x5x128xf32>
  %6 = axh.add %one, %5 : (tensor<f32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %7 = axh.mul %x, %6 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  %8 = axh.mul %half, %7 : (tensor<f32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  func.return %8 : tensor<1x5x128xf32>
}

// -----

// The exact gelu written out with erf: 0.5 * x * (1 + erf(x / sqrt(2))).
// CHECK-LABEL: func.func @gelu_erf_written(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x128xf32>)
// CHECK-NEXT: %[[G:.*]] = axh.gelu %[[X]] : tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[G]]
func.func @gelu_erf_written(%x: tensor<1x5x128xf32>) -> tensor<1x5x128xf32> {
  %r2 = axh.constant dense<1.41421354> : tensor<f32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %half = axh.constant dense<5.000000e-01> : tensor<f32>
  %0 = axh.div %x, %r2 : (tensor<1x5x128xf32>, tensor<f32>) -> tensor<1x5x128xf32>
  %1 = axh.unary erf %0 : tensor<1x5x128xf32>
  %2 = axh.add %1, %one : (tensor<1x5x128xf32>, tensor<f32>) -> tensor<1x5x128xf32>
  %3 = axh.mul %x, %half : (tensor<1x5x128xf32>, tensor<f32>) -> tensor<1x5x128xf32>
  %4 = axh.mul %3, %2 : (tensor<1x5x128xf32>, tensor<1x5x128xf32>) -> tensor<1x5x128xf32>
  func.return %4 : tensor<1x5x128xf32>
}

// -----

// A written-out gelu times up: raised to gelu, then the gated product to geglu.
// CHECK-LABEL: func.func @written_gelu_gated(
// CHECK-SAME: %[[X:.*]]: tensor<2x8xf32>, %[[U:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[S:.*]] = axh.geglu %[[X]], %[[U]] approximate = tanh : tensor<2x8xf32>
// CHECK-NEXT: func.return %[[S]]
func.func @written_gelu_gated(%x: tensor<2x8xf32>, %u: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %half = axh.constant dense<5.000000e-01> : tensor<f32>
  %three = axh.constant dense<3.000000e+00> : tensor<f32>
  %k = axh.constant dense<4.471500e-02> : tensor<f32>
  %c = axh.constant dense<0.797884583> : tensor<f32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %0 = axh.mul %x, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = axh.binary pow %x, %three : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %2 = axh.mul %1, %k : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = axh.add %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = axh.mul %3, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %5 = axh.unary tanh %4 : tensor<2x8xf32>
  %6 = axh.add %5, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %7 = axh.mul %0, %6 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %8 = axh.mul %7, %u : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %8 : tensor<2x8xf32>
}

// -----

// Negative: up [1, 5, 1] broadcasts against the silu; a swiglu needs one type.
// CHECK-LABEL: func.func @up_of_other_shape(
// CHECK-SAME: %[[G:.*]]: tensor<1x5x128xf32>, %[[U:.*]]: tensor<1x5x1xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.silu %[[G]] : tensor<1x5x128xf32>
// CHECK-NEXT: %[[M:.*]] = axh.mul %[[A]], %[[U]] : (tensor<1x5x128xf32>, tensor<1x5x1xf32>) -> tensor<1x5x128xf32>
// CHECK-NEXT: func.return %[[M]]
// CHECK-NOT: axh.swiglu
func.func @up_of_other_shape(%g: tensor<1x5x128xf32>, %u: tensor<1x5x1xf32>) -> tensor<1x5x128xf32> {
  %0 = axh.silu %g : tensor<1x5x128xf32>
  %1 = axh.mul %0, %u : (tensor<1x5x128xf32>, tensor<1x5x1xf32>) -> tensor<1x5x128xf32>
  func.return %1 : tensor<1x5x128xf32>
}

// -----

// Negative: x * sigmoid(y) with y != x is no silu (it is a gated sigmoid, GLU).
// CHECK-LABEL: func.func @sigmoid_of_other_value(
// CHECK-SAME: %[[X:.*]]: tensor<2x8xf32>, %[[Y:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[S:.*]] = axh.unary sigmoid %[[Y]]
// CHECK-NEXT: %[[M:.*]] = axh.mul %[[X]], %[[S]]
// CHECK-NEXT: func.return %[[M]]
func.func @sigmoid_of_other_value(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %0 = axh.unary sigmoid %y : tensor<2x8xf32>
  %1 = axh.mul %x, %0 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %1 : tensor<2x8xf32>
}

// -----

// Negative: the written formula with 0.4 instead of 0.5 is not gelu.
// CHECK-LABEL: func.func @not_gelu_wrong_constant(
// CHECK-NOT: axh.gelu
// CHECK: axh.unary tanh
func.func @not_gelu_wrong_constant(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %half = axh.constant dense<4.000000e-01> : tensor<f32>
  %three = axh.constant dense<3.000000e+00> : tensor<f32>
  %k = axh.constant dense<4.471500e-02> : tensor<f32>
  %c = axh.constant dense<0.797884583> : tensor<f32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %0 = axh.mul %x, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = axh.binary pow %x, %three : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %2 = axh.mul %1, %k : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = axh.add %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = axh.mul %3, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %5 = axh.unary tanh %4 : tensor<2x8xf32>
  %6 = axh.add %5, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %7 = axh.mul %0, %6 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %7 : tensor<2x8xf32>
}

// -----

// Negative: tanh of a different value than the one multiplied outside.
// CHECK-LABEL: func.func @not_gelu_other_value(
// CHECK-NOT: axh.gelu
// CHECK: axh.unary tanh
func.func @not_gelu_other_value(%x: tensor<2x8xf32>, %y: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %half = axh.constant dense<5.000000e-01> : tensor<f32>
  %three = axh.constant dense<3.000000e+00> : tensor<f32>
  %k = axh.constant dense<4.471500e-02> : tensor<f32>
  %c = axh.constant dense<0.797884583> : tensor<f32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %0 = axh.mul %y, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = axh.binary pow %x, %three : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %2 = axh.mul %1, %k : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = axh.add %x, %2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %4 = axh.mul %3, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %5 = axh.unary tanh %4 : tensor<2x8xf32>
  %6 = axh.add %5, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %7 = axh.mul %0, %6 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  func.return %7 : tensor<2x8xf32>
}
