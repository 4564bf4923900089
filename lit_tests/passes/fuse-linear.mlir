// RUN: axc-opt %s -p fuse-linear --split-input-file | filecheck %s

// fuse-linear: ATen's permute + mm (+ bias add) and the reshapes around them become one
// axh.linear on the un-flattened input, reading the weight as stored ([N, K]).

// qwen2 q_proj, decode (as imported): flatten, mm with the transposed weight, bias add,
// restore the rank.
// CHECK-LABEL: func.func @qwen2_q_proj_decode(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
// CHECK-NEXT: %[[B:.*]] = axh.weight "model.layers.0.self_attn.q_proj.bias" : tensor<64xf32>
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[X]], %[[W]], %[[B]] : (tensor<1x1x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<1x1x64xf32>
// CHECK-NEXT: func.return %[[L]]
// CHECK-NOT: axh.matmul
func.func @qwen2_q_proj_decode(%x: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
  %w = axh.weight "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
  %b = axh.weight "model.layers.0.self_attn.q_proj.bias" : tensor<64xf32>
  %0 = axh.reshape %x : tensor<1x1x64xf32> -> tensor<1x64xf32>
  %1 = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<64x64xf32> -> tensor<64x64xf32>
  %2 = axh.matmul %0, %1 : (tensor<1x64xf32>, tensor<64x64xf32>) -> tensor<1x64xf32>
  %3 = axh.add %2, %b : (tensor<1x64xf32>, tensor<64xf32>) -> tensor<1x64xf32>
  %4 = axh.reshape %3 : tensor<1x64xf32> -> tensor<1x1x64xf32>
  func.return %4 : tensor<1x1x64xf32>
}

// -----

// qwen2 k_proj, prefill, after canonicalize merged the output reshapes: the split into heads
// stays, fed by the [1, 5, 32] linear; the bias is absorbed from either side of the add.
// CHECK-LABEL: func.func @qwen2_k_proj_prefill(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
// CHECK-NEXT: %[[B:.*]] = axh.weight "model.layers.0.self_attn.k_proj.bias" : tensor<32xf32>
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[X]], %[[W]], %[[B]] : (tensor<1x5x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<1x5x32xf32>
// CHECK-NEXT: %[[H:.*]] = axh.reshape %[[L]] : tensor<1x5x32xf32> -> tensor<1x5x2x16xf32>
// CHECK-NEXT: func.return %[[H]]
func.func @qwen2_k_proj_prefill(%x: tensor<1x5x64xf32>) -> tensor<1x5x2x16xf32> {
  %w = axh.weight "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
  %b = axh.weight "model.layers.0.self_attn.k_proj.bias" : tensor<32xf32>
  %0 = axh.reshape %x : tensor<1x5x64xf32> -> tensor<5x64xf32>
  %1 = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %2 = axh.matmul %0, %1 : (tensor<5x64xf32>, tensor<64x32xf32>) -> tensor<5x32xf32>
  %3 = axh.add %b, %2 : (tensor<32xf32>, tensor<5x32xf32>) -> tensor<5x32xf32>
  %4 = axh.reshape %3 : tensor<5x32xf32> -> tensor<1x5x2x16xf32>
  func.return %4 : tensor<1x5x2x16xf32>
}

// -----

// llama o_proj, prefill, after canonicalize: the attention heads are merged and flattened by
// one reshape [1, 5, 4, 16] -> [5, 64]; the linear reads the heads merged at rank 3.
// CHECK-LABEL: func.func @llama_o_proj_prefill(
// CHECK-SAME: %[[A:.*]]: tensor<1x5x4x16xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf32>
// CHECK-NEXT: %[[M:.*]] = axh.reshape %[[A]] : tensor<1x5x4x16xf32> -> tensor<1x5x64xf32>
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[M]], %[[W]] : (tensor<1x5x64xf32>, tensor<64x64xf32>) -> tensor<1x5x64xf32>
// CHECK-NEXT: func.return %[[L]]
func.func @llama_o_proj_prefill(%a: tensor<1x5x4x16xf32>) -> tensor<1x5x64xf32> {
  %w = axh.weight "model.layers.0.self_attn.o_proj.weight" : tensor<64x64xf32>
  %0 = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<64x64xf32> -> tensor<64x64xf32>
  %1 = axh.reshape %a : tensor<1x5x4x16xf32> -> tensor<5x64xf32>
  %2 = axh.matmul %1, %0 : (tensor<5x64xf32>, tensor<64x64xf32>) -> tensor<5x64xf32>
  %3 = axh.reshape %2 : tensor<5x64xf32> -> tensor<1x5x64xf32>
  func.return %3 : tensor<1x5x64xf32>
}

// -----

// After CSE, q, k and v read one flattening reshape; each linear reads the rank-3 input and
// the reshape dies.
// CHECK-LABEL: func.func @llama_qkv_shared_reshape(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x64xf32>)
// CHECK: %[[Q:.*]] = axh.linear %[[X]], %{{.*}} : (tensor<1x1x64xf32>, tensor<64x64xf32>) -> tensor<1x1x64xf32>
// CHECK: %[[K:.*]] = axh.linear %[[X]], %{{.*}} : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
// CHECK: %[[V:.*]] = axh.linear %[[X]], %{{.*}} : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
// CHECK-NEXT: func.return %[[Q]], %[[K]], %[[V]]
// CHECK-NOT: axh.reshape
func.func @llama_qkv_shared_reshape(%x: tensor<1x1x64xf32>) -> (tensor<1x1x64xf32>, tensor<1x1x32xf32>, tensor<1x1x32xf32>) {
  %wq = axh.weight "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xf32>
  %wk = axh.weight "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
  %wv = axh.weight "model.layers.0.self_attn.v_proj.weight" : tensor<32x64xf32>
  %r = axh.reshape %x : tensor<1x1x64xf32> -> tensor<1x64xf32>
  %tq = axh.transpose %wq {permutation = array<i64: 1, 0>} : tensor<64x64xf32> -> tensor<64x64xf32>
  %q = axh.matmul %r, %tq : (tensor<1x64xf32>, tensor<64x64xf32>) -> tensor<1x64xf32>
  %q3 = axh.reshape %q : tensor<1x64xf32> -> tensor<1x1x64xf32>
  %tk = axh.transpose %wk {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %k = axh.matmul %r, %tk : (tensor<1x64xf32>, tensor<64x32xf32>) -> tensor<1x32xf32>
  %k3 = axh.reshape %k : tensor<1x32xf32> -> tensor<1x1x32xf32>
  %tv = axh.transpose %wv {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %v = axh.matmul %r, %tv : (tensor<1x64xf32>, tensor<64x32xf32>) -> tensor<1x32xf32>
  %v3 = axh.reshape %v : tensor<1x32xf32> -> tensor<1x1x32xf32>
  func.return %q3, %k3, %v3 : tensor<1x1x64xf32>, tensor<1x1x32xf32>, tensor<1x1x32xf32>
}

// -----

// qwen2's post layer: the lm_head is tied to the embedding table, whose name it keeps.
// CHECK-LABEL: func.func @post_tied_lm_head(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x64xf32>)
// CHECK-NEXT: %[[E:.*]] = axh.weight "model.embed_tokens.weight" : tensor<128x64xf32>
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[X]], %[[E]] : (tensor<1x1x64xf32>, tensor<128x64xf32>) -> tensor<1x1x128xf32>
// CHECK-NEXT: func.return %[[L]]
func.func @post_tied_lm_head(%x: tensor<1x1x64xf32>) -> tensor<1x1x128xf32> {
  %e = axh.weight "model.embed_tokens.weight" : tensor<128x64xf32>
  %0 = axh.transpose %e {permutation = array<i64: 1, 0>} : tensor<128x64xf32> -> tensor<64x128xf32>
  %1 = axh.reshape %x : tensor<1x1x64xf32> -> tensor<1x64xf32>
  %2 = axh.matmul %1, %0 : (tensor<1x64xf32>, tensor<64x128xf32>) -> tensor<1x128xf32>
  %3 = axh.reshape %2 : tensor<1x128xf32> -> tensor<1x1x128xf32>
  func.return %3 : tensor<1x1x128xf32>
}

// -----

// phi's post layer: lm_head with a bias, after the final LayerNorm.
// CHECK-LABEL: func.func @phi_post_lm_head_bias(
// CHECK: %[[N:.*]] = axh.layer_norm
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[N]], %{{.*}}, %{{.*}} : (tensor<1x1x64xf32>, tensor<128x64xf32>, tensor<128xf32>) -> tensor<1x1x128xf32>
// CHECK-NEXT: func.return %[[L]]
func.func @phi_post_lm_head_bias(%input: tensor<1x1x64xf32>) -> tensor<1x1x128xf32> {
  %0 = axh.weight "model.final_layernorm.weight" : tensor<64xf32>
  %1 = axh.weight "model.final_layernorm.bias" : tensor<64xf32>
  %2 = axh.weight "lm_head.weight" : tensor<128x64xf32>
  %3 = axh.weight "lm_head.bias" : tensor<128xf32>
  %4 = axh.layer_norm %input, %0, %1 {epsilon = 1.000000e-05 : f32} : (tensor<1x1x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x1x64xf32>
  %5 = axh.reshape %4 : tensor<1x1x64xf32> -> tensor<1x64xf32>
  %6 = axh.transpose %2 {permutation = array<i64: 1, 0>} : tensor<128x64xf32> -> tensor<64x128xf32>
  %7 = axh.matmul %5, %6 : (tensor<1x64xf32>, tensor<64x128xf32>) -> tensor<1x128xf32>
  %8 = axh.add %7, %3 : (tensor<1x128xf32>, tensor<128xf32>) -> tensor<1x128xf32>
  %9 = axh.reshape %8 : tensor<1x128xf32> -> tensor<1x1x128xf32>
  func.return %9 : tensor<1x1x128xf32>
}

// -----

// phi3's fused gate_up_proj: one linear, then the chunks.
// CHECK-LABEL: func.func @phi3_gate_up(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x64xf32>)
// CHECK: %[[L:.*]] = axh.linear %[[X]], %{{.*}} : (tensor<1x1x64xf32>, tensor<256x64xf32>) -> tensor<1x1x256xf32>
// CHECK-NEXT: %[[G:.*]] = axh.slice %[[L]] {axis = 2 : i64, start = 0 : i64, end = 128 : i64}
// CHECK-NEXT: %[[U:.*]] = axh.slice %[[L]] {axis = 2 : i64, start = 128 : i64, end = 256 : i64}
func.func @phi3_gate_up(%x: tensor<1x1x64xf32>) -> (tensor<1x1x128xf32>, tensor<1x1x128xf32>) {
  %w = axh.weight "model.layers.0.mlp.gate_up_proj.weight" : tensor<256x64xf32>
  %0 = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<256x64xf32> -> tensor<64x256xf32>
  %1 = axh.reshape %x : tensor<1x1x64xf32> -> tensor<1x64xf32>
  %2 = axh.matmul %1, %0 : (tensor<1x64xf32>, tensor<64x256xf32>) -> tensor<1x256xf32>
  %3 = axh.reshape %2 : tensor<1x256xf32> -> tensor<1x1x256xf32>
  %g = axh.slice %3 {axis = 2 : i64, start = 0 : i64, end = 128 : i64} : tensor<1x1x256xf32> -> tensor<1x1x128xf32>
  %u = axh.slice %3 {axis = 2 : i64, start = 128 : i64, end = 256 : i64} : tensor<1x1x256xf32> -> tensor<1x1x128xf32>
  func.return %g, %u : tensor<1x1x128xf32>, tensor<1x1x128xf32>
}

// -----

// A matmul that already says transpose_b reads the [N, K] weight directly.
// CHECK-LABEL: func.func @matmul_transpose_b(
// CHECK-SAME: %[[X:.*]]: tensor<3x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "w" : tensor<32x64xf32>
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[X]], %[[W]] : (tensor<3x64xf32>, tensor<32x64xf32>) -> tensor<3x32xf32>
// CHECK-NEXT: func.return %[[L]]
func.func @matmul_transpose_b(%x: tensor<3x64xf32>) -> tensor<3x32xf32> {
  %w = axh.weight "w" : tensor<32x64xf32>
  %0 = axh.matmul %x, %w {transpose_b} : (tensor<3x64xf32>, tensor<32x64xf32>) -> tensor<3x32xf32>
  func.return %0 : tensor<3x32xf32>
}

// -----

// The transpose of the weight has another user: it stays for it.
// CHECK-LABEL: func.func @shared_transpose(
// CHECK-SAME: %[[X:.*]]: tensor<2x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "w" : tensor<32x64xf32>
// CHECK-NEXT: %[[T:.*]] = axh.transpose %[[W]]
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[X]], %[[W]] : (tensor<2x64xf32>, tensor<32x64xf32>) -> tensor<2x32xf32>
// CHECK-NEXT: func.return %[[L]], %[[T]]
func.func @shared_transpose(%x: tensor<2x64xf32>) -> (tensor<2x32xf32>, tensor<64x32xf32>) {
  %w = axh.weight "w" : tensor<32x64xf32>
  %t = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %0 = axh.matmul %x, %t : (tensor<2x64xf32>, tensor<64x32xf32>) -> tensor<2x32xf32>
  func.return %0, %t : tensor<2x32xf32>, tensor<64x32xf32>
}

// -----

// The product has another user besides the bias add: the linear stays without a bias (the
// other user needs the value before the add) and the add stays.
// CHECK-LABEL: func.func @bias_not_absorbed_shared(
// CHECK-SAME: %[[X:.*]]: tensor<2x64xf32>)
// CHECK: %[[L:.*]] = axh.linear %[[X]], %{{[^,]*}} : (tensor<2x64xf32>, tensor<32x64xf32>) -> tensor<2x32xf32>
// CHECK-NEXT: %[[A:.*]] = axh.add %[[L]], %{{.*}} : (tensor<2x32xf32>, tensor<32xf32>) -> tensor<2x32xf32>
// CHECK-NEXT: func.return %[[A]], %[[L]]
func.func @bias_not_absorbed_shared(%x: tensor<2x64xf32>) -> (tensor<2x32xf32>, tensor<2x32xf32>) {
  %w = axh.weight "w" : tensor<32x64xf32>
  %b = axh.weight "b" : tensor<32xf32>
  %t = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %0 = axh.matmul %x, %t : (tensor<2x64xf32>, tensor<64x32xf32>) -> tensor<2x32xf32>
  %1 = axh.add %0, %b : (tensor<2x32xf32>, tensor<32xf32>) -> tensor<2x32xf32>
  func.return %1, %0 : tensor<2x32xf32>, tensor<2x32xf32>
}

// -----

// Negative for the bias: an add of a [1, 32] value is not a rank-1 bias; it stays an add.
// CHECK-LABEL: func.func @bias_not_rank1(
// CHECK: %[[L:.*]] = axh.linear %{{[^,]*}}, %{{[^,]*}} : (tensor<2x64xf32>, tensor<32x64xf32>) -> tensor<2x32xf32>
// CHECK-NEXT: axh.add %[[L]], %{{.*}} : (tensor<2x32xf32>, tensor<1x32xf32>) -> tensor<2x32xf32>
func.func @bias_not_rank1(%x: tensor<2x64xf32>, %b: tensor<1x32xf32>) -> tensor<2x32xf32> {
  %w = axh.weight "w" : tensor<32x64xf32>
  %t = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %0 = axh.matmul %x, %t : (tensor<2x64xf32>, tensor<64x32xf32>) -> tensor<2x32xf32>
  %1 = axh.add %0, %b : (tensor<2x32xf32>, tensor<1x32xf32>) -> tensor<2x32xf32>
  func.return %1 : tensor<2x32xf32>
}

// -----

// Negative: gemma2's eager attention multiplies two activations (q by transposed k); that is
// no layer, and stays a matmul.
// CHECK-LABEL: func.func @gemma2_bmm_kept(
// CHECK-SAME: %[[Q:.*]]: tensor<4x1x16xf32>, %[[K:.*]]: tensor<4x9x16xf32>)
// CHECK-NEXT: %[[T:.*]] = axh.transpose %[[K]] {permutation = array<i64: 0, 2, 1>} : tensor<4x9x16xf32> -> tensor<4x16x9xf32>
// CHECK-NEXT: %[[S:.*]] = axh.matmul %[[Q]], %[[T]] : (tensor<4x1x16xf32>, tensor<4x16x9xf32>) -> tensor<4x1x9xf32>
// CHECK-NEXT: func.return %[[S]]
// CHECK-NOT: axh.linear
func.func @gemma2_bmm_kept(%q: tensor<4x1x16xf32>, %k: tensor<4x9x16xf32>) -> tensor<4x1x9xf32> {
  %t = axh.transpose %k {permutation = array<i64: 0, 2, 1>} : tensor<4x9x16xf32> -> tensor<4x16x9xf32>
  %s = axh.matmul %q, %t : (tensor<4x1x16xf32>, tensor<4x16x9xf32>) -> tensor<4x1x9xf32>
  func.return %s : tensor<4x1x9xf32>
}

// -----

// Negative: the rhs is a transposed activation of rank 2, not a weight.
// CHECK-LABEL: func.func @rhs_activation_kept(
// CHECK-SAME: %[[X:.*]]: tensor<2x64xf32>, %[[Y:.*]]: tensor<32x64xf32>)
// CHECK-NEXT: %[[T:.*]] = axh.transpose %[[Y]]
// CHECK-NEXT: %[[M:.*]] = axh.matmul %[[X]], %[[T]]
// CHECK-NEXT: func.return %[[M]]
func.func @rhs_activation_kept(%x: tensor<2x64xf32>, %y: tensor<32x64xf32>) -> tensor<2x32xf32> {
  %t = axh.transpose %y {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %0 = axh.matmul %x, %t : (tensor<2x64xf32>, tensor<64x32xf32>) -> tensor<2x32xf32>
  func.return %0 : tensor<2x32xf32>
}

// -----

// Negative: a weight stored [K, N] (GPT-2's Conv1D) is used untransposed; a linear would need
// it transposed, so the matmul stays.
// CHECK-LABEL: func.func @weight_k_by_n_kept(
// CHECK: axh.matmul
// CHECK-NOT: axh.linear
func.func @weight_k_by_n_kept(%x: tensor<2x64xf32>) -> tensor<2x32xf32> {
  %w = axh.weight "w" : tensor<64x32xf32>
  %0 = axh.matmul %x, %w : (tensor<2x64xf32>, tensor<64x32xf32>) -> tensor<2x32xf32>
  func.return %0 : tensor<2x32xf32>
}

// -----

// Negative for the reshape: [5, 128] -> [10, 64] splits rows, so no rank-3 input of K = 64
// exists; the linear reads the reshape.
// CHECK-LABEL: func.func @reshape_splitting_rows_kept(
// CHECK-SAME: %[[X:.*]]: tensor<5x128xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "w" : tensor<32x64xf32>
// CHECK-NEXT: %[[R:.*]] = axh.reshape %[[X]] : tensor<5x128xf32> -> tensor<10x64xf32>
// CHECK-NEXT: %[[L:.*]] = axh.linear %[[R]], %[[W]] : (tensor<10x64xf32>, tensor<32x64xf32>) -> tensor<10x32xf32>
// CHECK-NEXT: func.return %[[L]]
func.func @reshape_splitting_rows_kept(%x: tensor<5x128xf32>) -> tensor<10x32xf32> {
  %w = axh.weight "w" : tensor<32x64xf32>
  %r = axh.reshape %x : tensor<5x128xf32> -> tensor<10x64xf32>
  %t = axh.transpose %w {permutation = array<i64: 1, 0>} : tensor<32x64xf32> -> tensor<64x32xf32>
  %0 = axh.matmul %r, %t : (tensor<10x64xf32>, tensor<64x32xf32>) -> tensor<10x32xf32>
  func.return %0 : tensor<10x32xf32>
}
