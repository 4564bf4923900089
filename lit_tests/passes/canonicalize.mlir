// RUN: axc-opt %s -p canonicalize --split-input-file | filecheck %s

// The axh canonicalization patterns (passes/canonicalize_axh.py) under xDSL's
// `canonicalize`, plus the removal of dead axh ops.

// CHECK-LABEL: func.func @reshape_of_reshape(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>)
// CHECK-NEXT: %[[R:.*]] = axh.reshape %[[X]] : tensor<1x5x64xf32> -> tensor<5x4x16xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @reshape_of_reshape(%x: tensor<1x5x64xf32>) -> tensor<5x4x16xf32> {
  %a = axh.reshape %x : tensor<1x5x64xf32> -> tensor<1x5x4x16xf32>
  %b = axh.reshape %a : tensor<1x5x4x16xf32> -> tensor<5x4x16xf32>
  func.return %b : tensor<5x4x16xf32>
}

// -----

// A reshape chain back to the input's shape folds away completely.
// CHECK-LABEL: func.func @reshape_round_trip(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>)
// CHECK-NEXT: func.return %[[X]]
func.func @reshape_round_trip(%x: tensor<1x5x64xf32>) -> tensor<1x5x64xf32> {
  %a = axh.reshape %x : tensor<1x5x64xf32> -> tensor<5x64xf32>
  %b = axh.reshape %a : tensor<5x64xf32> -> tensor<1x5x64xf32>
  func.return %b : tensor<1x5x64xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_same_type(
// CHECK-SAME: %[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: func.return %[[X]]
func.func @reshape_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = axh.reshape %x : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %a : tensor<2x3xf32>
}

// -----

// The inner reshape has another use, so it stays; the outer one reads %x directly.
// CHECK-LABEL: func.func @reshape_of_shared_reshape(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.reshape %[[X]] : tensor<1x5x64xf32> -> tensor<5x64xf32>
// CHECK-NEXT: %[[B:.*]] = axh.reshape %[[X]] : tensor<1x5x64xf32> -> tensor<5x4x16xf32>
// CHECK-NEXT: func.return %[[A]], %[[B]]
func.func @reshape_of_shared_reshape(%x: tensor<1x5x64xf32>) -> (tensor<5x64xf32>, tensor<5x4x16xf32>) {
  %a = axh.reshape %x : tensor<1x5x64xf32> -> tensor<5x64xf32>
  %b = axh.reshape %a : tensor<5x64xf32> -> tensor<5x4x16xf32>
  func.return %a, %b : tensor<5x64xf32>, tensor<5x4x16xf32>
}

// -----

// [0, 2, 1, 3] then [0, 1, 3, 2] is one transpose by [0, 2, 3, 1].
// CHECK-LABEL: func.func @transpose_of_transpose(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x4x16xf32>)
// CHECK-NEXT: %[[T:.*]] = axh.transpose %[[X]] {permutation = array<i64: 0, 2, 3, 1>} : tensor<1x5x4x16xf32> -> tensor<1x4x16x5xf32>
// CHECK-NEXT: func.return %[[T]]
func.func @transpose_of_transpose(%x: tensor<1x5x4x16xf32>) -> tensor<1x4x16x5xf32> {
  %a = axh.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x5x4x16xf32> -> tensor<1x4x5x16xf32>
  %b = axh.transpose %a {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  func.return %b : tensor<1x4x16x5xf32>
}

// -----

// A transpose undone by its inverse is the input.
// CHECK-LABEL: func.func @transpose_inverse(
// CHECK-SAME: %[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: func.return %[[X]]
func.func @transpose_inverse(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %a = axh.transpose %x {permutation = array<i64: 1, 2, 0>} : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %b = axh.transpose %a {permutation = array<i64: 2, 0, 1>} : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
  func.return %b : tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func.func @transpose_identity(
// CHECK-SAME: %[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: func.return %[[X]]
func.func @transpose_identity(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = axh.transpose %x {permutation = array<i64: 0, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %a : tensor<2x3xf32>
}

// -----

// Negative: a transpose of something else than a transpose, with a non-identity permutation,
// stays (even when the permuted dimensions have equal sizes).
// CHECK-LABEL: func.func @transpose_kept(
// CHECK-SAME: %[[X:.*]]: tensor<4x4xf32>)
// CHECK-NEXT: %[[N:.*]] = axh.unary neg %[[X]] : tensor<4x4xf32>
// CHECK-NEXT: %[[T:.*]] = axh.transpose %[[N]] {permutation = array<i64: 1, 0>} : tensor<4x4xf32> -> tensor<4x4xf32>
// CHECK-NEXT: func.return %[[T]]
func.func @transpose_kept(%x: tensor<4x4xf32>) -> tensor<4x4xf32> {
  %n = axh.unary neg %x : tensor<4x4xf32>
  %t = axh.transpose %n {permutation = array<i64: 1, 0>} : tensor<4x4xf32> -> tensor<4x4xf32>
  func.return %t : tensor<4x4xf32>
}

// -----

// CHECK-LABEL: func.func @slice_full(
// CHECK-SAME: %[[X:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: func.return %[[X]]
func.func @slice_full(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %a = axh.slice %x {axis = 1 : i64, start = 0 : i64, end = 8 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  func.return %a : tensor<2x8xf32>
}

// -----

// Negative: slices that drop elements stay, whether by range or by step.
// CHECK-LABEL: func.func @slice_kept(
// CHECK-SAME: %[[X:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.slice %[[X]] {axis = 1 : i64, start = 1 : i64, end = 8 : i64} : tensor<2x8xf32> -> tensor<2x7xf32>
// CHECK-NEXT: %[[B:.*]] = axh.slice %[[X]] {axis = 1 : i64, start = 0 : i64, end = 8 : i64, step = 2 : i64} : tensor<2x8xf32> -> tensor<2x4xf32>
// CHECK-NEXT: func.return %[[A]], %[[B]]
func.func @slice_kept(%x: tensor<2x8xf32>) -> (tensor<2x7xf32>, tensor<2x4xf32>) {
  %a = axh.slice %x {axis = 1 : i64, start = 1 : i64, end = 8 : i64} : tensor<2x8xf32> -> tensor<2x7xf32>
  %b = axh.slice %x {axis = 1 : i64, start = 0 : i64, end = 8 : i64, step = 2 : i64} : tensor<2x8xf32> -> tensor<2x4xf32>
  func.return %a, %b : tensor<2x7xf32>, tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @cast_same_type(
// CHECK-SAME: %[[X:.*]]: tensor<4xbf16>)
// CHECK-NEXT: %[[F:.*]] = axh.cast %[[X]] : tensor<4xbf16> -> tensor<4xf32>
// CHECK-NEXT: func.return %[[X]], %[[F]]
func.func @cast_same_type(%x: tensor<4xbf16>) -> (tensor<4xbf16>, tensor<4xf32>) {
  %a = axh.cast %x : tensor<4xbf16> -> tensor<4xbf16>
  %f = axh.cast %x : tensor<4xbf16> -> tensor<4xf32>
  func.return %a, %f : tensor<4xbf16>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_same_type(
// CHECK-SAME: %[[X:.*]]: tensor<1x4xf32>)
// CHECK-NEXT: %[[B:.*]] = axh.broadcast %[[X]] : tensor<1x4xf32> -> tensor<3x4xf32>
// CHECK-NEXT: func.return %[[X]], %[[B]]
func.func @broadcast_same_type(%x: tensor<1x4xf32>) -> (tensor<1x4xf32>, tensor<3x4xf32>) {
  %a = axh.broadcast %x : tensor<1x4xf32> -> tensor<1x4xf32>
  %b = axh.broadcast %x : tensor<1x4xf32> -> tensor<3x4xf32>
  func.return %a, %b : tensor<1x4xf32>, tensor<3x4xf32>
}

// -----

// Unused ops, weights included, are dead: every axh op is Pure.
// CHECK-LABEL: func.func @dead_code(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.norm.weight" : tensor<64xf32>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32}
// CHECK-NEXT: func.return %[[N]]
func.func @dead_code(%x: tensor<1x5x64xf32>) -> tensor<1x5x64xf32> {
  %unused_w = axh.weight "lm_head.weight" : tensor<128x64xf32>
  %unused_logits = axh.linear %x, %unused_w : (tensor<1x5x64xf32>, tensor<128x64xf32>) -> tensor<1x5x128xf32>
  %unused_silu = axh.silu %x : tensor<1x5x64xf32>
  %w = axh.weight "model.norm.weight" : tensor<64xf32>
  %n = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32} : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  func.return %n : tensor<1x5x64xf32>
}

// -----

// RoPE's cos/sin times attention_scaling = 1.0 (real traces of every RoPE model): the mul is
// the value itself, either operand order.
// CHECK-LABEL: func.func @mul_by_splat_one(
// CHECK-SAME: %[[E:.*]]: tensor<1x1x16xf32>)
// CHECK-NEXT: %[[C:.*]] = axh.unary cos %[[E]] : tensor<1x1x16xf32>
// CHECK-NEXT: %[[S:.*]] = axh.unary sin %[[E]] : tensor<1x1x16xf32>
// CHECK-NEXT: func.return %[[C]], %[[S]]
// CHECK-NOT: axh.mul
func.func @mul_by_splat_one(%emb: tensor<1x1x16xf32>) -> (tensor<1x1x16xf32>, tensor<1x1x16xf32>) {
  %0 = axh.unary cos %emb : tensor<1x1x16xf32>
  %1 = axh.constant dense<1.000000e+00> : tensor<f32>
  %2 = axh.mul %0, %1 : (tensor<1x1x16xf32>, tensor<f32>) -> tensor<1x1x16xf32>
  %3 = axh.unary sin %emb : tensor<1x1x16xf32>
  %4 = axh.constant dense<1.000000e+00> : tensor<1x16xf32>
  %5 = axh.mul %4, %3 : (tensor<1x16xf32>, tensor<1x1x16xf32>) -> tensor<1x1x16xf32>
  func.return %2, %5 : tensor<1x1x16xf32>, tensor<1x1x16xf32>
}

// -----

// x + 0 (either order), x - 0 and x / 1 are x.
// CHECK-LABEL: func.func @add_sub_div_identity(
// CHECK-SAME: %[[X:.*]]: tensor<2x8xf32>)
// CHECK-NEXT: func.return %[[X]], %[[X]], %[[X]], %[[X]]
func.func @add_sub_div_identity(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %zero = axh.constant dense<0.000000e+00> : tensor<f32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %0 = axh.add %x, %zero : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %1 = axh.add %zero, %x : (tensor<f32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %2 = axh.sub %x, %zero : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %3 = axh.div %x, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  func.return %0, %1, %2, %3 : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// Integer identities fold too (position arithmetic).
// CHECK-LABEL: func.func @integer_identities(
// CHECK-SAME: %[[P:.*]]: tensor<1x5xi64>)
// CHECK-NEXT: func.return %[[P]], %[[P]]
func.func @integer_identities(%p: tensor<1x5xi64>) -> (tensor<1x5xi64>, tensor<1x5xi64>) {
  %zero = axh.constant dense<0> : tensor<i64>
  %one = axh.constant dense<1> : tensor<i64>
  %0 = axh.add %p, %zero : (tensor<1x5xi64>, tensor<i64>) -> tensor<1x5xi64>
  %1 = axh.mul %one, %p : (tensor<i64>, tensor<1x5xi64>) -> tensor<1x5xi64>
  func.return %0, %1 : tensor<1x5xi64>, tensor<1x5xi64>
}

// -----

// Negative: the splat 1 broadcasts x to a larger shape, so the mul is a broadcast, not x;
// a mul by 2, an add of 1, 0 - x and 1 / x are no identities either.
// CHECK-LABEL: func.func @identities_kept(
// CHECK-SAME: %[[X:.*]]: tensor<16xf32>)
// CHECK-COUNT-2: axh.constant
// CHECK-NEXT: axh.mul %[[X]], %{{.*}} : (tensor<16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
// CHECK-NEXT: axh.mul %[[X]], %{{.*}} : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
// CHECK-NEXT: axh.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: axh.add %[[X]], %{{.*}} : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
// CHECK-NEXT: axh.constant dense<0.000000e+00>
// CHECK-NEXT: axh.sub %{{.*}}, %[[X]]
// CHECK-NEXT: axh.div %{{.*}}, %[[X]]
func.func @identities_kept(%x: tensor<16xf32>) -> (tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %ones = axh.constant dense<1.000000e+00> : tensor<2x16xf32>
  %two = axh.constant dense<2.000000e+00> : tensor<f32>
  %0 = axh.mul %x, %ones : (tensor<16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %1 = axh.mul %x, %two : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
  %one = axh.constant dense<1.000000e+00> : tensor<f32>
  %2 = axh.add %x, %one : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
  %zero = axh.constant dense<0.000000e+00> : tensor<f32>
  %3 = axh.sub %zero, %x : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  %4 = axh.div %one, %x : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  func.return %0, %1, %2, %3, %4 : tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}
