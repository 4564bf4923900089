// RUN: axc-opt %s -p fuse-attention --split-input-file | filecheck %s

// fuse-attention: (a) axh.attention reads the [B, Hkv, S, D] KV heads instead of HF's
// repeat_kv copies; (b) gemma2's eager matmul/soft-cap/softmax/matmul becomes one
// axh.attention {scale, softcap}; (c) a mask built with trace.py's sliding window gives the
// attention its `sliding_window`. Shapes are those of the tiny traced layers (4 query
// heads, 2 KV heads, head_dim 16, window 8).

// qwen2 decode (sdpa): k/v are the 8 cache rows plus the new one, repeated to 4 heads.
// CHECK-LABEL: func.func @gqa_decode(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x1x16xf32>, %[[KC:[^:]*]]: tensor<1x2x8x16xf32>, %[[VC:[^:]*]]: tensor<1x2x8x16xf32>, %[[KN:[^:]*]]: tensor<1x2x1x16xf32>, %[[VN:[^:]*]]: tensor<1x2x1x16xf32>, %[[M:[^:]*]]: tensor<1x1x1x9xf32>)
// CHECK-NEXT: %[[K:.*]] = axh.concat %[[KC]], %[[KN]] {axis = 2 : i64}
// CHECK-NEXT: %[[V:.*]] = axh.concat %[[VC]], %[[VN]] {axis = 2 : i64}
// CHECK-NOT: axh.broadcast
// CHECK: %[[A:.*]] = axh.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
// CHECK-NEXT: func.return %[[A]]
func.func @gqa_decode(%q: tensor<1x4x1x16xf32>, %kc: tensor<1x2x8x16xf32>, %vc: tensor<1x2x8x16xf32>, %kn: tensor<1x2x1x16xf32>, %vn: tensor<1x2x1x16xf32>, %mask: tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32> {
  %k = axh.concat %kc, %kn {axis = 2 : i64} : (tensor<1x2x8x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x9x16xf32>
  %v = axh.concat %vc, %vn {axis = 2 : i64} : (tensor<1x2x8x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x9x16xf32>
  %0 = axh.reshape %k : tensor<1x2x9x16xf32> -> tensor<1x2x1x9x16xf32>
  %1 = axh.broadcast %0 : tensor<1x2x1x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %2 = axh.reshape %1 : tensor<1x2x2x9x16xf32> -> tensor<1x4x9x16xf32>
  %3 = axh.reshape %v : tensor<1x2x9x16xf32> -> tensor<1x2x1x9x16xf32>
  %4 = axh.broadcast %3 : tensor<1x2x1x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %5 = axh.reshape %4 : tensor<1x2x2x9x16xf32> -> tensor<1x4x9x16xf32>
  %6 = axh.attention %q, %2, %5, %mask {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
  func.return %6 : tensor<1x4x1x16xf32>
}

// -----

// qwen2 prefill with the repeat's last reshape split in two ([1, 2, 2, 5, 16] ->
// [4, 5, 16] -> [1, 4, 5, 16], as bmm views leave it): still one repeat_kv.
// CHECK-LABEL: func.func @gqa_prefill_chained_reshapes(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[K:[^:]*]]: tensor<1x2x5x16xf32>, %[[V:[^:]*]]: tensor<1x2x5x16xf32>, %[[M:[^:]*]]: tensor<1x1x5x5xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
// CHECK-NEXT: func.return %[[A]]
func.func @gqa_prefill_chained_reshapes(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>, %mask: tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.reshape %k : tensor<1x2x5x16xf32> -> tensor<1x2x1x5x16xf32>
  %1 = axh.broadcast %0 : tensor<1x2x1x5x16xf32> -> tensor<1x2x2x5x16xf32>
  %2 = axh.reshape %1 : tensor<1x2x2x5x16xf32> -> tensor<4x5x16xf32>
  %3 = axh.reshape %2 : tensor<4x5x16xf32> -> tensor<1x4x5x16xf32>
  %4 = axh.reshape %v : tensor<1x2x5x16xf32> -> tensor<1x2x1x5x16xf32>
  %5 = axh.broadcast %4 : tensor<1x2x1x5x16xf32> -> tensor<1x2x2x5x16xf32>
  %6 = axh.reshape %5 : tensor<1x2x2x5x16xf32> -> tensor<1x4x5x16xf32>
  %7 = axh.attention %q, %3, %6, %mask {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
  func.return %7 : tensor<1x4x5x16xf32>
}

// -----

// gemma2 decode, eager attention as traced (after canonicalize, cse and fuse-rope): bmm
// over [B*H, ...] views, scale 0.25, soft-cap 50, the sliding-window mask
// `select(pos - concat(iota(8), pos) >= 8, -65536, mask)`, softmax, bmm with v. All of it is
// one axh.attention on the 2 KV heads, with the window stated.
// CHECK-LABEL: func.func @gemma2_eager_decode(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x1x16xf32>, %[[KC:[^:]*]]: tensor<1x2x8x16xf32>, %[[VC:[^:]*]]: tensor<1x2x8x16xf32>, %[[KN:[^:]*]]: tensor<1x2x1x16xf32>, %[[VN:[^:]*]]: tensor<1x2x1x16xf32>, %[[MASK:[^:]*]]: tensor<1x1x1x9xf32>, %[[POS:[^:]*]]: tensor<1x1xi64>)
// CHECK: %[[W:.*]] = axh.select
// CHECK-NEXT: %[[K:.*]] = axh.concat %[[KC]], %[[KN]] {axis = 2 : i64}
// CHECK-NEXT: %[[V:.*]] = axh.concat %[[VC]], %[[VN]] {axis = 2 : i64}
// CHECK-NOT: axh.matmul
// CHECK-NOT: axh.softmax
// CHECK-NOT: axh.unary tanh
// CHECK: %[[A:.*]] = axh.attention %[[Q]], %[[K]], %[[V]], %[[W]] {scale = 2.500000e-01 : f32, softcap = 5.000000e+01 : f32, sliding_window = 8 : i64} : (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
// The bmm's [4, 1, 16] view and HF's reshape back are left for canonicalize to fold.
// CHECK-NEXT: %[[R:.*]] = axh.reshape %[[A]] : tensor<1x4x1x16xf32> -> tensor<4x1x16xf32>
// CHECK-NEXT: %[[R4:.*]] = axh.reshape %[[R]] : tensor<4x1x16xf32> -> tensor<1x4x1x16xf32>
// CHECK-NEXT: func.return %[[R4]]
func.func @gemma2_eager_decode(%q: tensor<1x4x1x16xf32>, %kc: tensor<1x2x8x16xf32>, %vc: tensor<1x2x8x16xf32>, %kn: tensor<1x2x1x16xf32>, %vn: tensor<1x2x1x16xf32>, %mask: tensor<1x1x1x9xf32>, %pos: tensor<1x1xi64>) -> tensor<1x4x1x16xf32> {
  %h0 = axh.iota {start = 0 : i64, step = 1 : i64} : tensor<8xi64>
  %h1 = axh.reshape %h0 : tensor<8xi64> -> tensor<1x8xi64>
  %kp = axh.concat %h1, %pos {axis = 1 : i64} : (tensor<1x8xi64>, tensor<1x1xi64>) -> tensor<1x9xi64>
  %qp3 = axh.reshape %pos : tensor<1x1xi64> -> tensor<1x1x1xi64>
  %kp3 = axh.reshape %kp : tensor<1x9xi64> -> tensor<1x1x9xi64>
  %dist = axh.sub %qp3, %kp3 : (tensor<1x1x1xi64>, tensor<1x1x9xi64>) -> tensor<1x1x9xi64>
  %win = axh.constant dense<8> : tensor<i64>
  %far = axh.compare ge %dist, %win : (tensor<1x1x9xi64>, tensor<i64>) -> tensor<1x1x9xi1>
  %far4 = axh.reshape %far : tensor<1x1x9xi1> -> tensor<1x1x1x9xi1>
  %hide = axh.constant dense<-6.553600e+04> : tensor<f32>
  %m = axh.select %far4, %hide, %mask : (tensor<1x1x1x9xi1>, tensor<f32>, tensor<1x1x1x9xf32>) -> tensor<1x1x1x9xf32>
  %k = axh.concat %kc, %kn {axis = 2 : i64} : (tensor<1x2x8x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x9x16xf32>
  %v = axh.concat %vc, %vn {axis = 2 : i64} : (tensor<1x2x8x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x9x16xf32>
  %66 = axh.reshape %k : tensor<1x2x9x16xf32> -> tensor<1x2x1x9x16xf32>
  %67 = axh.broadcast %66 : tensor<1x2x1x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %68 = axh.reshape %67 : tensor<1x2x2x9x16xf32> -> tensor<1x4x9x16xf32>
  %69 = axh.reshape %v : tensor<1x2x9x16xf32> -> tensor<1x2x1x9x16xf32>
  %70 = axh.broadcast %69 : tensor<1x2x1x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %71 = axh.transpose %68 {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x9x16xf32> -> tensor<1x4x16x9xf32>
  %72 = axh.reshape %q : tensor<1x4x1x16xf32> -> tensor<4x1x16xf32>
  %73 = axh.reshape %71 : tensor<1x4x16x9xf32> -> tensor<4x16x9xf32>
  %74 = axh.matmul %72, %73 : (tensor<4x1x16xf32>, tensor<4x16x9xf32>) -> tensor<4x1x9xf32>
  %75 = axh.reshape %74 : tensor<4x1x9xf32> -> tensor<1x4x1x9xf32>
  %76 = axh.constant dense<2.500000e-01> : tensor<f32>
  %77 = axh.mul %75, %76 : (tensor<1x4x1x9xf32>, tensor<f32>) -> tensor<1x4x1x9xf32>
  %78 = axh.constant dense<5.000000e+01> : tensor<f32>
  %79 = axh.div %77, %78 : (tensor<1x4x1x9xf32>, tensor<f32>) -> tensor<1x4x1x9xf32>
  %80 = axh.unary tanh %79 : tensor<1x4x1x9xf32>
  %81 = axh.mul %80, %78 : (tensor<1x4x1x9xf32>, tensor<f32>) -> tensor<1x4x1x9xf32>
  %82 = axh.add %81, %m : (tensor<1x4x1x9xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x9xf32>
  %83 = axh.softmax %82 {axis = 3 : i64} : tensor<1x4x1x9xf32>
  %84 = axh.reshape %83 : tensor<1x4x1x9xf32> -> tensor<4x1x9xf32>
  %85 = axh.reshape %70 : tensor<1x2x2x9x16xf32> -> tensor<4x9x16xf32>
  %86 = axh.matmul %84, %85 : (tensor<4x1x9xf32>, tensor<4x9x16xf32>) -> tensor<4x1x16xf32>
  %87 = axh.reshape %86 : tensor<4x1x16xf32> -> tensor<1x4x1x16xf32>
  func.return %87 : tensor<1x4x1x16xf32>
}

// -----

// gemma2 prefill eager attention with a plain mask (mask first in the add, soft-cap
// constants as two equal constants): the bmm result [4, 5, 16] is the attention reshaped.
// CHECK-LABEL: func.func @gemma2_eager_prefill(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[K:[^:]*]]: tensor<1x2x5x16xf32>, %[[V:[^:]*]]: tensor<1x2x5x16xf32>, %[[M:[^:]*]]: tensor<1x1x5x5xf32>)
// CHECK-NEXT: %[[A:.*]] = axh.attention %[[Q]], %[[K]], %[[V]], %[[M]] {scale = 2.500000e-01 : f32, softcap = 5.000000e+01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
// CHECK-NEXT: %[[R:.*]] = axh.reshape %[[A]] : tensor<1x4x5x16xf32> -> tensor<4x5x16xf32>
// CHECK-NEXT: func.return %[[R]]
func.func @gemma2_eager_prefill(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>, %mask: tensor<1x1x5x5xf32>) -> tensor<4x5x16xf32> {
  %0 = axh.reshape %k : tensor<1x2x5x16xf32> -> tensor<1x2x1x5x16xf32>
  %1 = axh.broadcast %0 : tensor<1x2x1x5x16xf32> -> tensor<1x2x2x5x16xf32>
  %2 = axh.reshape %1 : tensor<1x2x2x5x16xf32> -> tensor<1x4x5x16xf32>
  %3 = axh.reshape %v : tensor<1x2x5x16xf32> -> tensor<1x2x1x5x16xf32>
  %4 = axh.broadcast %3 : tensor<1x2x1x5x16xf32> -> tensor<1x2x2x5x16xf32>
  %5 = axh.transpose %2 {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  %6 = axh.reshape %q : tensor<1x4x5x16xf32> -> tensor<4x5x16xf32>
  %7 = axh.reshape %5 : tensor<1x4x16x5xf32> -> tensor<4x16x5xf32>
  %8 = axh.matmul %6, %7 : (tensor<4x5x16xf32>, tensor<4x16x5xf32>) -> tensor<4x5x5xf32>
  %9 = axh.reshape %8 : tensor<4x5x5xf32> -> tensor<1x4x5x5xf32>
  %10 = axh.constant dense<2.500000e-01> : tensor<f32>
  %11 = axh.mul %10, %9 : (tensor<f32>, tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %12 = axh.constant dense<5.000000e+01> : tensor<f32>
  %13 = axh.div %11, %12 : (tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  %14 = axh.unary tanh %13 : tensor<1x4x5x5xf32>
  %15 = axh.constant dense<5.000000e+01> : tensor<f32>
  %16 = axh.mul %15, %14 : (tensor<f32>, tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %17 = axh.add %mask, %16 : (tensor<1x1x5x5xf32>, tensor<1x4x5x5xf32>) -> tensor<1x4x5x5xf32>
  %18 = axh.softmax %17 {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %19 = axh.reshape %18 : tensor<1x4x5x5xf32> -> tensor<4x5x5xf32>
  %20 = axh.reshape %4 : tensor<1x2x2x5x16xf32> -> tensor<4x5x16xf32>
  %21 = axh.matmul %19, %20 : (tensor<4x5x5xf32>, tensor<4x5x16xf32>) -> tensor<4x5x16xf32>
  func.return %21 : tensor<4x5x16xf32>
}

// -----

// Eager attention on rank-4 matmuls, scaled by a division (x / 4 is scale 0.25), no
// soft-cap, a [T, S] mask (becomes [1, 1, T, S]) and f32 casts around the softmax.
// CHECK-LABEL: func.func @eager_rank4_div_scale(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[K:[^:]*]]: tensor<1x4x5x16xf32>, %[[V:[^:]*]]: tensor<1x4x5x16xf32>, %[[M:[^:]*]]: tensor<5x5xf32>)
// CHECK-NEXT: %[[M4:.*]] = axh.reshape %[[M]] : tensor<5x5xf32> -> tensor<1x1x5x5xf32>
// CHECK-NEXT: %[[A:.*]] = axh.attention %[[Q]], %[[K]], %[[V]], %[[M4]] {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
// CHECK-NEXT: func.return %[[A]]
func.func @eager_rank4_div_scale(%q: tensor<1x4x5x16xf32>, %k: tensor<1x4x5x16xf32>, %v: tensor<1x4x5x16xf32>, %mask: tensor<5x5xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  %1 = axh.matmul %q, %0 : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  %2 = axh.constant dense<4.000000e+00> : tensor<f32>
  %3 = axh.div %1, %2 : (tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  %4 = axh.add %3, %mask : (tensor<1x4x5x5xf32>, tensor<5x5xf32>) -> tensor<1x4x5x5xf32>
  %5 = axh.cast %4 : tensor<1x4x5x5xf32> -> tensor<1x4x5x5xf32>
  %6 = axh.softmax %5 {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %7 = axh.cast %6 : tensor<1x4x5x5xf32> -> tensor<1x4x5x5xf32>
  %8 = axh.matmul %7, %v : (tensor<1x4x5x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %8 : tensor<1x4x5x16xf32>
}

// -----

// gemma3 sliding layer, prefill of an empty cache (sdpa): the key positions are the query
// positions themselves, so the window mask is `select(pos_q - pos_k >= 8, -65536, mask)`.
// CHECK-LABEL: func.func @gemma3_sliding_prefill(
// CHECK-SAME: %[[Q:[^:]*]]: tensor<1x4x5x16xf32>, %[[K:[^:]*]]: tensor<1x2x5x16xf32>, %[[V:[^:]*]]: tensor<1x2x5x16xf32>, %[[MASK:[^:]*]]: tensor<1x1x5x5xf32>, %[[POS:[^:]*]]: tensor<1x5xi64>)
// CHECK: %[[W:.*]] = axh.select
// CHECK: %[[A:.*]] = axh.attention %[[Q]], %[[K]], %[[V]], %[[W]] {scale = 2.500000e-01 : f32, sliding_window = 8 : i64}
// CHECK-NEXT: func.return %[[A]]
func.func @gemma3_sliding_prefill(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>, %mask: tensor<1x1x5x5xf32>, %pos: tensor<1x5xi64>) -> tensor<1x4x5x16xf32> {
  %0 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x5x1xi64>
  %1 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x1x5xi64>
  %2 = axh.sub %0, %1 : (tensor<1x5x1xi64>, tensor<1x1x5xi64>) -> tensor<1x5x5xi64>
  %3 = axh.constant dense<8> : tensor<i64>
  %4 = axh.compare ge %2, %3 : (tensor<1x5x5xi64>, tensor<i64>) -> tensor<1x5x5xi1>
  %5 = axh.reshape %4 : tensor<1x5x5xi1> -> tensor<1x1x5x5xi1>
  %6 = axh.constant dense<-6.553600e+04> : tensor<f32>
  %7 = axh.select %5, %6, %mask : (tensor<1x1x5x5xi1>, tensor<f32>, tensor<1x1x5x5xf32>) -> tensor<1x1x5x5xf32>
  %8 = axh.attention %q, %k, %v, %7 {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
  func.return %8 : tensor<1x4x5x16xf32>
}

// -----

// The window stated the other way round: `select(pos_q - pos_k < 8, mask, f32 min)`.
// CHECK-LABEL: func.func @window_visible_form(
// CHECK: axh.attention {{.*}} {scale = 2.500000e-01 : f32, sliding_window = 8 : i64}
func.func @window_visible_form(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>, %mask: tensor<1x1x9xf32>, %pos: tensor<1x1xi64>) -> tensor<1x4x1x16xf32> {
  %h0 = axh.iota {start = 0 : i64, step = 1 : i64} : tensor<8xi64>
  %h1 = axh.reshape %h0 : tensor<8xi64> -> tensor<1x8xi64>
  %kp = axh.concat %h1, %pos {axis = 1 : i64} : (tensor<1x8xi64>, tensor<1x1xi64>) -> tensor<1x9xi64>
  %qp3 = axh.reshape %pos : tensor<1x1xi64> -> tensor<1x1x1xi64>
  %kp3 = axh.reshape %kp : tensor<1x9xi64> -> tensor<1x1x9xi64>
  %dist = axh.sub %qp3, %kp3 : (tensor<1x1x1xi64>, tensor<1x1x9xi64>) -> tensor<1x1x9xi64>
  %win = axh.constant dense<8> : tensor<i64>
  %near = axh.compare lt %dist, %win : (tensor<1x1x9xi64>, tensor<i64>) -> tensor<1x1x9xi1>
  %hide = axh.constant dense<-3.40282347E+38> : tensor<f32>
  %m = axh.select %near, %mask, %hide : (tensor<1x1x9xi1>, tensor<1x1x9xf32>, tensor<f32>) -> tensor<1x1x9xf32>
  %a = axh.attention %q, %k, %v, %m {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x9xf32>) -> tensor<1x4x1x16xf32>
  func.return %a : tensor<1x4x1x16xf32>
}

// -----

// The window mask reaches the attention through a reshape ([B, T, S] -> [B, 1, T, S], made
// by the eager fusion): the window is still read from the select behind it.
// CHECK-LABEL: func.func @eager_window_through_reshape(
// CHECK: %[[W:.*]] = axh.select
// CHECK-NEXT: %[[W4:.*]] = axh.reshape %[[W]] : tensor<1x5x5xf32> -> tensor<1x1x5x5xf32>
// CHECK-NEXT: axh.attention {{.*}}, %[[W4]] {scale = 2.500000e-01 : f32, sliding_window = 4 : i64}
func.func @eager_window_through_reshape(%q: tensor<1x4x5x16xf32>, %k: tensor<1x4x5x16xf32>, %v: tensor<1x4x5x16xf32>, %mask: tensor<1x5x5xf32>, %pos: tensor<1x5xi64>) -> tensor<1x4x5x16xf32> {
  %p0 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x5x1xi64>
  %p1 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x1x5xi64>
  %dist = axh.sub %p0, %p1 : (tensor<1x5x1xi64>, tensor<1x1x5xi64>) -> tensor<1x5x5xi64>
  %win = axh.constant dense<3> : tensor<i64>
  %far = axh.compare gt %dist, %win : (tensor<1x5x5xi64>, tensor<i64>) -> tensor<1x5x5xi1>
  %hide = axh.constant dense<-6.553600e+04> : tensor<f32>
  %m = axh.select %far, %hide, %mask : (tensor<1x5x5xi1>, tensor<f32>, tensor<1x5x5xf32>) -> tensor<1x5x5xf32>
  %0 = axh.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  %1 = axh.matmul %q, %0 : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  %2 = axh.constant dense<2.500000e-01> : tensor<f32>
  %3 = axh.mul %1, %2 : (tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  %4 = axh.add %3, %m : (tensor<1x4x5x5xf32>, tensor<1x5x5xf32>) -> tensor<1x4x5x5xf32>
  %5 = axh.softmax %4 {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %6 = axh.matmul %5, %v : (tensor<1x4x5x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6 : tensor<1x4x5x16xf32>
}

// -----

// Negative: the broadcast tiles the KV heads ([1, 1, 2, ...] -> [1, 2, 2, ...]: repeated
// head j is KV head j % 2), which is not axh.attention's grouping (j // 2).
// CHECK-LABEL: func.func @tile_is_not_repeat_kv(
// CHECK: axh.broadcast
// CHECK: axh.attention {{.*}} : (tensor<1x4x1x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x9x16xf32>, tensor<1x1x1x9xf32>)
func.func @tile_is_not_repeat_kv(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>, %mask: tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32> {
  %0 = axh.reshape %k : tensor<1x2x9x16xf32> -> tensor<1x1x2x9x16xf32>
  %1 = axh.broadcast %0 : tensor<1x1x2x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %2 = axh.reshape %1 : tensor<1x2x2x9x16xf32> -> tensor<1x4x9x16xf32>
  %3 = axh.reshape %v : tensor<1x2x9x16xf32> -> tensor<1x1x2x9x16xf32>
  %4 = axh.broadcast %3 : tensor<1x1x2x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %5 = axh.reshape %4 : tensor<1x2x2x9x16xf32> -> tensor<1x4x9x16xf32>
  %6 = axh.attention %q, %2, %5, %mask {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
  func.return %6 : tensor<1x4x1x16xf32>
}

// -----

// Negative: only k is repeated (v already has 4 heads), so k and v could not both be
// un-repeated.
// CHECK-LABEL: func.func @only_key_repeated(
// CHECK: axh.broadcast
// CHECK: axh.attention {{.*}} : (tensor<1x4x1x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x9x16xf32>, tensor<1x1x1x9xf32>)
func.func @only_key_repeated(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x4x9x16xf32>, %mask: tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32> {
  %0 = axh.reshape %k : tensor<1x2x9x16xf32> -> tensor<1x2x1x9x16xf32>
  %1 = axh.broadcast %0 : tensor<1x2x1x9x16xf32> -> tensor<1x2x2x9x16xf32>
  %2 = axh.reshape %1 : tensor<1x2x2x9x16xf32> -> tensor<1x4x9x16xf32>
  %3 = axh.attention %q, %2, %v, %mask {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x4x9x16xf32>, tensor<1x4x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
  func.return %3 : tensor<1x4x1x16xf32>
}

// -----

// Negative: the probabilities are also returned (output_attentions), so the eager chain
// must stay.
// CHECK-LABEL: func.func @eager_probs_shared(
// CHECK-NOT: axh.attention
// CHECK: axh.softmax
// CHECK: axh.matmul
// CHECK: func.return
func.func @eager_probs_shared(%q: tensor<1x4x5x16xf32>, %k: tensor<1x4x5x16xf32>, %v: tensor<1x4x5x16xf32>, %mask: tensor<1x1x5x5xf32>) -> (tensor<1x4x5x16xf32>, tensor<1x4x5x5xf32>) {
  %0 = axh.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  %1 = axh.matmul %q, %0 : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  %2 = axh.constant dense<2.500000e-01> : tensor<f32>
  %3 = axh.mul %1, %2 : (tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  %4 = axh.add %3, %mask : (tensor<1x4x5x5xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x5xf32>
  %5 = axh.softmax %4 {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %6 = axh.matmul %5, %v : (tensor<1x4x5x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %6, %5 : tensor<1x4x5x16xf32>, tensor<1x4x5x5xf32>
}

// -----

// Negative: `tanh(x / 50) * 30` is not a soft-cap (the caps differ), nor a scale of the
// scores, so nothing is raised.
// CHECK-LABEL: func.func @eager_softcap_mismatch(
// CHECK-NOT: axh.attention
// CHECK: axh.unary tanh
// CHECK: axh.softmax
// CHECK: func.return
func.func @eager_softcap_mismatch(%q: tensor<1x4x5x16xf32>, %k: tensor<1x4x5x16xf32>, %v: tensor<1x4x5x16xf32>, %mask: tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  %1 = axh.matmul %q, %0 : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  %2 = axh.constant dense<5.000000e+01> : tensor<f32>
  %3 = axh.div %1, %2 : (tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  %4 = axh.unary tanh %3 : tensor<1x4x5x5xf32>
  %5 = axh.constant dense<3.000000e+01> : tensor<f32>
  %6 = axh.mul %4, %5 : (tensor<1x4x5x5xf32>, tensor<f32>) -> tensor<1x4x5x5xf32>
  %7 = axh.add %6, %mask : (tensor<1x4x5x5xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x5xf32>
  %8 = axh.softmax %7 {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %9 = axh.matmul %8, %v : (tensor<1x4x5x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %9 : tensor<1x4x5x16xf32>
}

// -----

// Negative: the second matmul operand is a [0, 2, 1, 3] transpose of some tensor, not
// k^T = transpose(k, [0, 1, 3, 2]).
// CHECK-LABEL: func.func @eager_not_k_transpose(
// CHECK-NOT: axh.attention
// CHECK: func.return
func.func @eager_not_k_transpose(%q: tensor<1x4x5x16xf32>, %k: tensor<1x16x4x5xf32>, %v: tensor<1x4x5x16xf32>, %mask: tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32> {
  %0 = axh.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x16x4x5xf32> -> tensor<1x4x16x5xf32>
  %1 = axh.matmul %q, %0 : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  %2 = axh.add %1, %mask : (tensor<1x4x5x5xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x5xf32>
  %3 = axh.softmax %2 {axis = 3 : i64} : tensor<1x4x5x5xf32>
  %4 = axh.matmul %3, %v : (tensor<1x4x5x5xf32>, tensor<1x4x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return %4 : tensor<1x4x5x16xf32>
}

// -----

// Negative: the key positions are not the runtime layout's (the new row is at %other,
// not at the query position), so the window cannot be stated.
// CHECK-LABEL: func.func @window_other_key_positions(
// CHECK: axh.attention {{.*}} {scale = 2.500000e-01 : f32} :
func.func @window_other_key_positions(%q: tensor<1x4x1x16xf32>, %k: tensor<1x2x9x16xf32>, %v: tensor<1x2x9x16xf32>, %mask: tensor<1x1x1x9xf32>, %pos: tensor<1x1xi64>, %other: tensor<1x1xi64>) -> tensor<1x4x1x16xf32> {
  %h0 = axh.iota {start = 0 : i64, step = 1 : i64} : tensor<8xi64>
  %h1 = axh.reshape %h0 : tensor<8xi64> -> tensor<1x8xi64>
  %kp = axh.concat %h1, %other {axis = 1 : i64} : (tensor<1x8xi64>, tensor<1x1xi64>) -> tensor<1x9xi64>
  %qp3 = axh.reshape %pos : tensor<1x1xi64> -> tensor<1x1x1xi64>
  %kp3 = axh.reshape %kp : tensor<1x9xi64> -> tensor<1x1x9xi64>
  %dist = axh.sub %qp3, %kp3 : (tensor<1x1x1xi64>, tensor<1x1x9xi64>) -> tensor<1x1x9xi64>
  %win = axh.constant dense<8> : tensor<i64>
  %far = axh.compare ge %dist, %win : (tensor<1x1x9xi64>, tensor<i64>) -> tensor<1x1x9xi1>
  %far4 = axh.reshape %far : tensor<1x1x9xi1> -> tensor<1x1x1x9xi1>
  %hide = axh.constant dense<-6.553600e+04> : tensor<f32>
  %m = axh.select %far4, %hide, %mask : (tensor<1x1x1x9xi1>, tensor<f32>, tensor<1x1x1x9xf32>) -> tensor<1x1x1x9xf32>
  %a = axh.attention %q, %k, %v, %m {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
  func.return %a : tensor<1x4x1x16xf32>
}

// -----

// Negative: the select writes 0 for far keys, which does not hide them.
// CHECK-LABEL: func.func @window_not_hidden(
// CHECK: axh.attention {{.*}} {scale = 2.500000e-01 : f32} :
func.func @window_not_hidden(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>, %mask: tensor<1x1x5x5xf32>, %pos: tensor<1x5xi64>) -> tensor<1x4x5x16xf32> {
  %0 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x5x1xi64>
  %1 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x1x5xi64>
  %2 = axh.sub %0, %1 : (tensor<1x5x1xi64>, tensor<1x1x5xi64>) -> tensor<1x5x5xi64>
  %3 = axh.constant dense<8> : tensor<i64>
  %4 = axh.compare ge %2, %3 : (tensor<1x5x5xi64>, tensor<i64>) -> tensor<1x5x5xi1>
  %5 = axh.reshape %4 : tensor<1x5x5xi1> -> tensor<1x1x5x5xi1>
  %6 = axh.constant dense<0.000000e+00> : tensor<f32>
  %7 = axh.select %5, %6, %mask : (tensor<1x1x5x5xi1>, tensor<f32>, tensor<1x1x5x5xf32>) -> tensor<1x1x5x5xf32>
  %8 = axh.attention %q, %k, %v, %7 {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
  func.return %8 : tensor<1x4x5x16xf32>
}

// -----

// Negative: the distance is key minus query (a window into the future), not query minus
// key.
// CHECK-LABEL: func.func @window_reversed_distance(
// CHECK: axh.attention {{.*}} {scale = 2.500000e-01 : f32} :
func.func @window_reversed_distance(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x5x16xf32>, %v: tensor<1x2x5x16xf32>, %mask: tensor<1x1x5x5xf32>, %pos: tensor<1x5xi64>) -> tensor<1x4x5x16xf32> {
  %0 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x1x5xi64>
  %1 = axh.reshape %pos : tensor<1x5xi64> -> tensor<1x5x1xi64>
  %2 = axh.sub %0, %1 : (tensor<1x1x5xi64>, tensor<1x5x1xi64>) -> tensor<1x5x5xi64>
  %3 = axh.constant dense<8> : tensor<i64>
  %4 = axh.compare ge %2, %3 : (tensor<1x5x5xi64>, tensor<i64>) -> tensor<1x5x5xi1>
  %5 = axh.reshape %4 : tensor<1x5x5xi1> -> tensor<1x1x5x5xi1>
  %6 = axh.constant dense<-6.553600e+04> : tensor<f32>
  %7 = axh.select %5, %6, %mask : (tensor<1x1x5x5xi1>, tensor<f32>, tensor<1x1x5x5xf32>) -> tensor<1x1x5x5xf32>
  %8 = axh.attention %q, %k, %v, %7 {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x2x5x16xf32>, tensor<1x1x5x5xf32>) -> tensor<1x4x5x16xf32>
  func.return %8 : tensor<1x4x5x16xf32>
}
