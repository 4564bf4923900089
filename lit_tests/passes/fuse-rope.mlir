// RUN: axc-opt %s -p fuse-rope --split-input-file | filecheck %s

// fuse-rope raises HF's `q * cos + rotate_half(q) * sin` (cos/sin unsqueezed to
// [B, 1, T, D]) to axh.rope with [B, T, rotary_dim] tables, and phi's partial rotary
// `concat(rope(q[..., :R]), q[..., R:])` to one axh.rope with rotary_dim R. Shapes are those
// of the tiny traced layers (4 query heads, 2 KV heads, head_dim 16).

// qwen2 decode: q and k share the unsqueezed tables, whose reshape is stripped.
// CHECK-LABEL: func.func @qwen2_decode(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x1x16xf32>, %[[K:[^:]*]]: tensor<1x2x1x16xf32>, %[[COS:[^:]*]]: tensor<1x1x16xf32>, %[[SIN:[^:]*]]: tensor<1x1x16xf32>)
// CHECK-NEXT: %[[QR:.*]] = axh.rope %[[Q]], %[[COS]], %[[SIN]] {rotary_dim = 16 : i64} : (tensor<1x4x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>) -> tensor<1x4x1x16xf32>
// CHECK-NEXT: %[[KR:.*]] = axh.rope %[[K]], %[[COS]], %[[SIN]] {rotary_dim = 16 : i64} : (tensor<1x2x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x16xf32>) -> tensor<1x2x1x16xf32>
// CHECK-NEXT: func.return %[[QR]], %[[KR]]
func.func @qwen2_decode(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x1x16xf32>, %cos: tensor<1x1x16xf32>, %sin: tensor<1x1x16xf32>) -> (tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>) {
  %c = axh.reshape %cos : tensor<1x1x16xf32> -> tensor<1x1x1x16xf32>
  %s = axh.reshape %sin : tensor<1x1x16xf32> -> tensor<1x1x1x16xf32>
  %0 = axh.mul %q, %c : (tensor<1x4x1x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x4x1x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x1x16xf32> -> tensor<1x4x1x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x1x16xf32> -> tensor<1x4x1x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x1x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>) -> tensor<1x4x1x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x1x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x4x1x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x1x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x1x16xf32>
  %7 = axh.mul %k, %c : (tensor<1x2x1x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x2x1x16xf32>
  %8 = axh.slice %k {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x2x1x16xf32> -> tensor<1x2x1x8xf32>
  %9 = axh.slice %k {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x2x1x16xf32> -> tensor<1x2x1x8xf32>
  %10 = axh.unary neg %9 : tensor<1x2x1x8xf32>
  %11 = axh.concat %10, %8 {axis = 3 : i64} : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x1x16xf32>
  %12 = axh.mul %11, %s : (tensor<1x2x1x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x2x1x16xf32>
  %13 = axh.add %7, %12 : (tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x1x16xf32>
  func.return %6, %13 : tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>
}

// -----

// qwen2 prefill with every commutative operand swapped: mul(cos, q), mul(sin, rot) and
// add(sin term, cos term). The rotate_half chain is removed.
// CHECK-LABEL: func.func @qwen2_prefill_commuted(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[COS:[^:]*]]: tensor<1x5x16xf32>, %[[SIN:[^:]*]]: tensor<1x5x16xf32>)
// CHECK-NOT: axh.concat
// CHECK-NOT: axh.unary neg
// CHECK: %[[R:.*]] = axh.rope %[[Q]], %[[COS]], %[[SIN]] {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x16xf32>, tensor<1x5x16xf32>) -> tensor<1x4x5x16xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @qwen2_prefill_commuted(%q: tensor<1x4x5x16xf32>, %cos: tensor<1x5x16xf32>, %sin: tensor<1x5x16xf32>) -> tensor<1x4x5x16xf32> {
  %c = axh.reshape %cos : tensor<1x5x16xf32> -> tensor<1x1x5x16xf32>
  %s = axh.reshape %sin : tensor<1x5x16xf32> -> tensor<1x1x5x16xf32>
  %0 = axh.mul %c, %q : (tensor<1x1x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %s, %4 : (tensor<1x1x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %5, %0 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// phi's partial rotary (rotary_dim 8 of head_dim 16): the inner rope of q[..., :8] and the
// pass-through q[..., 8:] become one rope of the whole q.
// CHECK-LABEL: func.func @phi_partial(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[COS:[^:]*]]: tensor<1x5x8xf32>, %[[SIN:[^:]*]]: tensor<1x5x8xf32>)
// CHECK-NOT: axh.slice
// CHECK-NOT: axh.concat
// CHECK: %[[R:.*]] = axh.rope %[[Q]], %[[COS]], %[[SIN]] {rotary_dim = 8 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x4x5x16xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @phi_partial(%q: tensor<1x4x5x16xf32>, %cos: tensor<1x5x8xf32>, %sin: tensor<1x5x8xf32>) -> tensor<1x4x5x16xf32> {
  %rot = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %pass = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %c = axh.reshape %cos : tensor<1x5x8xf32> -> tensor<1x1x5x8xf32>
  %s = axh.reshape %sin : tensor<1x5x8xf32> -> tensor<1x1x5x8xf32>
  %0 = axh.mul %rot, %c : (tensor<1x4x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x4x5x8xf32>
  %1 = axh.slice %rot {axis = 3 : i64, start = 0 : i64, end = 4 : i64} : tensor<1x4x5x8xf32> -> tensor<1x4x5x4xf32>
  %2 = axh.slice %rot {axis = 3 : i64, start = 4 : i64, end = 8 : i64} : tensor<1x4x5x8xf32> -> tensor<1x4x5x4xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x4xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x4xf32>, tensor<1x4x5x4xf32>) -> tensor<1x4x5x8xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x4x5x8xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x8xf32>
  %7 = axh.concat %6, %pass {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  func.return %7 : tensor<1x4x5x16xf32>
}

// -----

// Partial rotary whose rotate_half slices were folded to slices of q itself
// (q[..., :8][..., 4:8] as q[..., 4:8]): the same view, so the same rope.
// CHECK-LABEL: func.func @phi_partial_folded_slices(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x2x1x16xf32>, %[[COS:[^:]*]]: tensor<1x1x8xf32>, %[[SIN:[^:]*]]: tensor<1x1x8xf32>)
// CHECK: %[[R:.*]] = axh.rope %[[Q]], %[[COS]], %[[SIN]] {rotary_dim = 8 : i64}
// CHECK-NEXT: func.return %[[R]]
func.func @phi_partial_folded_slices(%q: tensor<1x2x1x16xf32>, %cos: tensor<1x1x8xf32>, %sin: tensor<1x1x8xf32>) -> tensor<1x2x1x16xf32> {
  %rot = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x2x1x16xf32> -> tensor<1x2x1x8xf32>
  %pass = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x2x1x16xf32> -> tensor<1x2x1x8xf32>
  %c = axh.reshape %cos : tensor<1x1x8xf32> -> tensor<1x1x1x8xf32>
  %s = axh.reshape %sin : tensor<1x1x8xf32> -> tensor<1x1x1x8xf32>
  %0 = axh.mul %rot, %c : (tensor<1x2x1x8xf32>, tensor<1x1x1x8xf32>) -> tensor<1x2x1x8xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 4 : i64} : tensor<1x2x1x16xf32> -> tensor<1x2x1x4xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 4 : i64, end = 8 : i64} : tensor<1x2x1x16xf32> -> tensor<1x2x1x4xf32>
  %3 = axh.unary neg %2 : tensor<1x2x1x4xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x2x1x4xf32>, tensor<1x2x1x4xf32>) -> tensor<1x2x1x8xf32>
  %5 = axh.mul %4, %s : (tensor<1x2x1x8xf32>, tensor<1x1x1x8xf32>) -> tensor<1x2x1x8xf32>
  %6 = axh.add %0, %5 : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x1x8xf32>
  %7 = axh.concat %6, %pass {axis = 3 : i64} : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x1x16xf32>
  func.return %7 : tensor<1x2x1x16xf32>
}

// -----

// gemma3: q arrives through q_norm (an axh.rms_norm after fuse-rms-norm); the rope reads
// the normalised q.
// CHECK-LABEL: func.func @gemma3_after_q_norm(
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x4x5x16xf32>, %[[W:[^:]*]]: tensor<16xf32>, %[[COS:[^:]*]]: tensor<1x5x16xf32>, %[[SIN:[^:]*]]: tensor<1x5x16xf32>)
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]]
// CHECK-NEXT: %[[R:.*]] = axh.rope %[[N]], %[[COS]], %[[SIN]] {rotary_dim = 16 : i64}
// CHECK-NEXT: func.return %[[R]]
func.func @gemma3_after_q_norm(%x: tensor<1x4x5x16xf32>, %w: tensor<16xf32>, %cos: tensor<1x5x16xf32>, %sin: tensor<1x5x16xf32>) -> tensor<1x4x5x16xf32> {
  %q = axh.rms_norm %x, %w {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x4x5x16xf32>, tensor<16xf32>) -> tensor<1x4x5x16xf32>
  %c = axh.reshape %cos : tensor<1x5x16xf32> -> tensor<1x1x5x16xf32>
  %s = axh.reshape %sin : tensor<1x5x16xf32> -> tensor<1x1x5x16xf32>
  %0 = axh.mul %q, %c : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// Tables that are not [B, 1, T, D] reshapes but broadcast over tokens ([1, 1, 1, 16] for
// 5 tokens) become [B, T, D] through a reshape and a broadcast.
// CHECK-LABEL: func.func @table_broadcast_over_tokens(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[C:[^:]*]]: tensor<1x1x1x16xf32>, %[[S:[^:]*]]: tensor<1x1x1x16xf32>)
// CHECK-NEXT: %[[C3:.*]] = axh.reshape %[[C]] : tensor<1x1x1x16xf32> -> tensor<1x1x16xf32>
// CHECK-NEXT: %[[CB:.*]] = axh.broadcast %[[C3]] : tensor<1x1x16xf32> -> tensor<1x5x16xf32>
// CHECK-NEXT: %[[S3:.*]] = axh.reshape %[[S]] : tensor<1x1x1x16xf32> -> tensor<1x1x16xf32>
// CHECK-NEXT: %[[SB:.*]] = axh.broadcast %[[S3]] : tensor<1x1x16xf32> -> tensor<1x5x16xf32>
// CHECK-NEXT: %[[R:.*]] = axh.rope %[[Q]], %[[CB]], %[[SB]] {rotary_dim = 16 : i64}
// CHECK-NEXT: func.return %[[R]]
func.func @table_broadcast_over_tokens(%q: tensor<1x4x5x16xf32>, %c: tensor<1x1x1x16xf32>, %s: tensor<1x1x1x16xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.mul %q, %c : (tensor<1x4x5x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// Negative: the halves are swapped (concat(-x[..., :8], x[..., 8:]) is not rotate_half).
// CHECK-LABEL: func.func @wrong_halves(
// CHECK-NOT: axh.rope
// CHECK: axh.unary neg
// CHECK: axh.concat
// CHECK: func.return
func.func @wrong_halves(%q: tensor<1x4x5x16xf32>, %c: tensor<1x1x5x16xf32>, %s: tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.mul %q, %c : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %1 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %2 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// Negative: the rotated tensor is not the one multiplied by cos.
// CHECK-LABEL: func.func @rotates_another_tensor(
// CHECK-NOT: axh.rope
// CHECK: func.return
func.func @rotates_another_tensor(%q: tensor<1x4x5x16xf32>, %p: tensor<1x4x5x16xf32>, %c: tensor<1x1x5x16xf32>, %s: tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.mul %q, %c : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %p {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %p {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// Negative: cos differs per head ([1, 4, 5, 16]), which axh.rope's [B, T, R] table cannot
// say.
// CHECK-LABEL: func.func @per_head_cos(
// CHECK-NOT: axh.rope
// CHECK: func.return
func.func @per_head_cos(%q: tensor<1x4x5x16xf32>, %c: tensor<1x4x5x16xf32>, %s: tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.mul %q, %c : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// Negative: rotate_half(q) is also returned, so fusing would compute it twice.
// CHECK-LABEL: func.func @rotate_half_shared(
// CHECK-NOT: axh.rope
// CHECK: func.return
func.func @rotate_half_shared(%q: tensor<1x4x5x16xf32>, %c: tensor<1x1x5x16xf32>, %s: tensor<1x1x5x16xf32>) -> (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) {
  %0 = axh.mul %q, %c : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %1 = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %2 = axh.slice %q {axis = 3 : i64, start = 8 : i64, end = 16 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x8xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6, %4 : tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>
}

// -----

// Negative for the partial form: the pass-through part is not q[..., 8:], so only the
// inner full rope of q[..., :8] is raised and the concat stays.
// CHECK-LABEL: func.func @partial_wrong_pass_through(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[P:[^:]*]]: tensor<1x4x5x8xf32>
// CHECK: %[[ROT:.*]] = axh.slice %[[Q]] {axis = 3 : i64, start = 0 : i64, end = 8 : i64}
// CHECK: %[[R:.*]] = axh.rope %[[ROT]], {{.*}} {rotary_dim = 8 : i64}
// CHECK-NEXT: %[[C:.*]] = axh.concat %[[R]], %[[P]] {axis = 3 : i64}
// CHECK-NEXT: func.return %[[C]]
func.func @partial_wrong_pass_through(%q: tensor<1x4x5x16xf32>, %pass: tensor<1x4x5x8xf32>, %cos: tensor<1x5x8xf32>, %sin: tensor<1x5x8xf32>) -> tensor<1x4x5x16xf32> {
  %rot = axh.slice %q {axis = 3 : i64, start = 0 : i64, end = 8 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x8xf32>
  %c = axh.reshape %cos : tensor<1x5x8xf32> -> tensor<1x1x5x8xf32>
  %s = axh.reshape %sin : tensor<1x5x8xf32> -> tensor<1x1x5x8xf32>
  %0 = axh.mul %rot, %c : (tensor<1x4x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x4x5x8xf32>
  %1 = axh.slice %rot {axis = 3 : i64, start = 0 : i64, end = 4 : i64} : tensor<1x4x5x8xf32> -> tensor<1x4x5x4xf32>
  %2 = axh.slice %rot {axis = 3 : i64, start = 4 : i64, end = 8 : i64} : tensor<1x4x5x8xf32> -> tensor<1x4x5x4xf32>
  %3 = axh.unary neg %2 : tensor<1x4x5x4xf32>
  %4 = axh.concat %3, %1 {axis = 3 : i64} : (tensor<1x4x5x4xf32>, tensor<1x4x5x4xf32>) -> tensor<1x4x5x8xf32>
  %5 = axh.mul %4, %s : (tensor<1x4x5x8xf32>, tensor<1x1x5x8xf32>) -> tensor<1x4x5x8xf32>
  %6 = axh.add %0, %5 : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x8xf32>
  %7 = axh.concat %6, %pass {axis = 3 : i64} : (tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x4x5x16xf32>
  func.return %7 : tensor<1x4x5x16xf32>
}
