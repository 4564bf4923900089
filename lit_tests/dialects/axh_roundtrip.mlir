// RUN: axc-opt %s | filecheck %s
// RUN: axc-opt %s | axc-opt | filecheck %s
// RUN: axc-opt %s --print-op-generic | axc-opt | filecheck %s

// Every axh op in its custom syntax; each must print back the way it was written.

// CHECK-LABEL: func.func @sources()
func.func @sources() -> (tensor<64x64xbf16>, tensor<2xf32>, tensor<i64>, tensor<1100xi64>) {
  // CHECK: %[[W:.*]] = axh.weight "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xbf16>
  %w = axh.weight "model.layers.0.self_attn.q_proj.weight" : tensor<64x64xbf16>
  // CHECK: %[[C:.*]] = axh.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
  %c = axh.constant dense<[1.0, 2.0]> : tensor<2xf32>
  // CHECK: %[[S:.*]] = axh.constant dense<3> : tensor<i64>
  %s = axh.constant dense<3> : tensor<i64>
  // CHECK: %[[I:.*]] = axh.iota {start = 2 : i64, step = 3 : i64} : tensor<1100xi64>
  %i = axh.iota {start = 2 : i64, step = 3 : i64} : tensor<1100xi64>
  // CHECK: func.return %[[W]], %[[C]], %[[S]], %[[I]]
  func.return %w, %c, %s, %i : tensor<64x64xbf16>, tensor<2xf32>, tensor<i64>, tensor<1100xi64>
}

// CHECK-LABEL: func.func @embedding_linear_matmul(
// CHECK-SAME: %[[IDS:.*]]: tensor<1x5xi32>, %[[A:.*]]: tensor<1x4x5x16xf32>, %[[B:.*]]: tensor<4x7x16xf32>)
func.func @embedding_linear_matmul(%ids: tensor<1x5xi32>, %a: tensor<1x4x5x16xf32>, %b: tensor<4x7x16xf32>)
    -> (tensor<1x5x64xf32>, tensor<1x5x32xf32>, tensor<1x4x5x7xf32>, tensor<1x4x5x5xf32>) {
  // CHECK: %[[TABLE:.*]] = axh.weight "model.embed_tokens.weight" : tensor<128x64xf32>
  %table = axh.weight "model.embed_tokens.weight" : tensor<128x64xf32>
  // CHECK: %[[H:.*]] = axh.embedding %[[IDS]], %[[TABLE]] : (tensor<1x5xi32>, tensor<128x64xf32>) -> tensor<1x5x64xf32>
  %h = axh.embedding %ids, %table : (tensor<1x5xi32>, tensor<128x64xf32>) -> tensor<1x5x64xf32>
  %kw = axh.weight "model.layers.0.self_attn.k_proj.weight" : tensor<32x64xf32>
  %kb = axh.weight "model.layers.0.self_attn.k_proj.bias" : tensor<32xf32>
  // CHECK: %[[K:.*]] = axh.linear %[[H]], %[[KW:.*]], %[[KB:.*]] : (tensor<1x5x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<1x5x32xf32>
  %k = axh.linear %h, %kw, %kb : (tensor<1x5x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<1x5x32xf32>
  // CHECK: %[[K2:.*]] = axh.linear %[[K]], %[[WSQ:.*]] : (tensor<1x5x32xf32>, tensor<32x32xf32>) -> tensor<1x5x32xf32>
  %wsq = axh.weight "model.layers.0.mlp.proj.weight" : tensor<32x32xf32>
  %k2 = axh.linear %k, %wsq : (tensor<1x5x32xf32>, tensor<32x32xf32>) -> tensor<1x5x32xf32>
  // CHECK: %[[AB:.*]] = axh.matmul %[[A]], %[[B]] {transpose_b} : (tensor<1x4x5x16xf32>, tensor<4x7x16xf32>) -> tensor<1x4x5x7xf32>
  %ab = axh.matmul %a, %b {transpose_b} : (tensor<1x4x5x16xf32>, tensor<4x7x16xf32>) -> tensor<1x4x5x7xf32>
  %at = axh.transpose %a {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x5x16xf32> -> tensor<1x4x16x5xf32>
  // CHECK: %[[AA:.*]] = axh.matmul %[[A]], %[[AT:.*]] : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  %aa = axh.matmul %a, %at : (tensor<1x4x5x16xf32>, tensor<1x4x16x5xf32>) -> tensor<1x4x5x5xf32>
  func.return %h, %k2, %ab, %aa : tensor<1x5x64xf32>, tensor<1x5x32xf32>, tensor<1x4x5x7xf32>, tensor<1x4x5x5xf32>
}

// Quantized linears: s8 per output channel, s4 in groups of 8 with AWQ-style zeros.
// CHECK-LABEL: func.func @quantized_linear(
// CHECK-SAME: %[[QX:.*]]: tensor<1x5x16xbf16>)
func.func @quantized_linear(%x: tensor<1x5x16xbf16>) -> (tensor<1x5x32xbf16>, tensor<1x5x32xbf16>) {
  %w8 = axh.weight "model.layers.0.mlp.up_proj.weight#s8" : tensor<32x16xi8>
  %s8 = axh.weight "model.layers.0.mlp.up_proj.weight#s8.scale" : tensor<32x1xbf16>
  %b = axh.weight "model.layers.0.mlp.up_proj.bias#bf16" : tensor<32xbf16>
  // CHECK: %[[Y8:.*]] = axh.linear %[[QX]], %[[W8:.*]], %[[B:.*]] scale %[[S8:.*]] : (tensor<1x5x16xbf16>, tensor<32x16xi8>, tensor<32xbf16>, tensor<32x1xbf16>) -> tensor<1x5x32xbf16>
  %y8 = axh.linear %x, %w8, %b scale %s8 : (tensor<1x5x16xbf16>, tensor<32x16xi8>, tensor<32xbf16>, tensor<32x1xbf16>) -> tensor<1x5x32xbf16>
  %w4 = axh.weight "model.layers.0.mlp.gate_proj.qweight" : tensor<32x16xi4>
  %s4 = axh.weight "model.layers.0.mlp.gate_proj.scales" : tensor<32x2xbf16>
  %z4 = axh.weight "model.layers.0.mlp.gate_proj.qzeros" : tensor<32x2xi4>
  // CHECK: %[[Y4:.*]] = axh.linear %[[QX]], %[[W4:.*]] scale %[[S4:.*]] zero %[[Z4:.*]] : (tensor<1x5x16xbf16>, tensor<32x16xi4>, tensor<32x2xbf16>, tensor<32x2xi4>) -> tensor<1x5x32xbf16>
  %y4 = axh.linear %x, %w4 scale %s4 zero %z4 : (tensor<1x5x16xbf16>, tensor<32x16xi4>, tensor<32x2xbf16>, tensor<32x2xi4>) -> tensor<1x5x32xbf16>
  // CHECK: func.return %[[Y8]], %[[Y4]]
  func.return %y8, %y4 : tensor<1x5x32xbf16>, tensor<1x5x32xbf16>
}

// CHECK-LABEL: func.func @norms(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xbf16>)
func.func @norms(%x: tensor<1x5x64xbf16>) -> (tensor<1x5x64xbf16>, tensor<1x5x64xbf16>, tensor<1x5x64xbf16>) {
  // CHECK: %[[W:.*]] = axh.weight "model.norm.weight" : tensor<64xbf16>
  %w = axh.weight "model.norm.weight" : tensor<64xbf16>
  // CHECK: %[[BIAS:.*]] = axh.weight "model.norm.bias" : tensor<64xbf16>
  %bias = axh.weight "model.norm.bias" : tensor<64xbf16>
  // CHECK: %[[LLAMA:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
  %llama = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
  // CHECK: %[[GEMMA:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
  %gemma = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32, weight_offset = 1.0 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
  // CHECK: %[[LN:.*]] = axh.layer_norm %[[X]], %[[W]], %[[BIAS]] {epsilon = 1.000000e-05 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
  %ln = axh.layer_norm %x, %w, %bias {epsilon = 1.0e-05 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
  func.return %llama, %gemma, %ln : tensor<1x5x64xbf16>, tensor<1x5x64xbf16>, tensor<1x5x64xbf16>
}

// CHECK-LABEL: func.func @rope_attention(
// CHECK-SAME: %[[Q:.*]]: tensor<1x4x5x16xf32>, %[[K:.*]]: tensor<1x2x7x16xf32>, %[[V:.*]]: tensor<1x2x7x8xf32>, %[[COS:.*]]: tensor<1x5x16xf32>, %[[SIN:.*]]: tensor<1x5x16xf32>, %[[PCOS:.*]]: tensor<1x5x8xf32>, %[[MASK:.*]]: tensor<1x1x5x7xf32>, %[[MASK3:.*]]: tensor<1x5x7xbf16>)
func.func @rope_attention(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %v: tensor<1x2x7x8xf32>,
    %cos: tensor<1x5x16xf32>, %sin: tensor<1x5x16xf32>, %pcos: tensor<1x5x8xf32>,
    %mask: tensor<1x1x5x7xf32>, %mask3: tensor<1x5x7xbf16>)
    -> (tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) {
  // CHECK: %[[QR:.*]] = axh.rope %[[Q]], %[[COS]], %[[SIN]] {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x16xf32>, tensor<1x5x16xf32>) -> tensor<1x4x5x16xf32>
  %qr = axh.rope %q, %cos, %sin {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x16xf32>, tensor<1x5x16xf32>) -> tensor<1x4x5x16xf32>
  // CHECK: %[[QP:.*]] = axh.rope %[[Q]], %[[PCOS]], %[[PCOS]] {rotary_dim = 8 : i64, interleaved} : (tensor<1x4x5x16xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x4x5x16xf32>
  %qp = axh.rope %q, %pcos, %pcos {rotary_dim = 8 : i64, interleaved} : (tensor<1x4x5x16xf32>, tensor<1x5x8xf32>, tensor<1x5x8xf32>) -> tensor<1x4x5x16xf32>
  // CHECK: %[[O:.*]] = axh.attention %[[QR]], %[[K]], %[[V]], %[[MASK]] {scale = 2.500000e-01 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x8xf32>, tensor<1x1x5x7xf32>) -> tensor<1x4x5x8xf32>
  %o = axh.attention %qr, %k, %v, %mask {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x8xf32>, tensor<1x1x5x7xf32>) -> tensor<1x4x5x8xf32>
  // CHECK: %[[OG:.*]] = axh.attention %[[QR]], %[[K]], %[[V]], %[[MASK3]] {scale = 6.250000e-02 : f32, softcap = 5.000000e+01 : f32, sliding_window = 4096 : i64} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x8xf32>, tensor<1x5x7xbf16>) -> tensor<1x4x5x8xf32>
  %og = axh.attention %qr, %k, %v, %mask3 {scale = 0.0625 : f32, softcap = 50.0 : f32, sliding_window = 4096 : i64} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x8xf32>, tensor<1x5x7xbf16>) -> tensor<1x4x5x8xf32>
  func.return %qr, %qp, %o, %og : tensor<1x4x5x16xf32>, tensor<1x4x5x16xf32>, tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>
}

// CHECK-LABEL: func.func @activations(
// CHECK-SAME: %[[GATE:.*]]: tensor<1x5x128xf16>, %[[UP:.*]]: tensor<1x5x128xf16>)
func.func @activations(%gate: tensor<1x5x128xf16>, %up: tensor<1x5x128xf16>)
    -> (tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>) {
  // CHECK: %[[SILU:.*]] = axh.silu %[[GATE]] : tensor<1x5x128xf16>
  %silu = axh.silu %gate : tensor<1x5x128xf16>
  // CHECK: %[[GELU:.*]] = axh.gelu %[[GATE]] : tensor<1x5x128xf16>
  %gelu = axh.gelu %gate : tensor<1x5x128xf16>
  // CHECK: %[[GELU_TANH:.*]] = axh.gelu %[[GATE]] approximate = tanh : tensor<1x5x128xf16>
  %gelu_tanh = axh.gelu %gate approximate = tanh : tensor<1x5x128xf16>
  // CHECK: %[[SWIGLU:.*]] = axh.swiglu %[[GATE]], %[[UP]] : tensor<1x5x128xf16>
  %swiglu = axh.swiglu %gate, %up : tensor<1x5x128xf16>
  // CHECK: %[[GEGLU:.*]] = axh.geglu %[[GATE]], %[[UP]] : tensor<1x5x128xf16>
  %geglu = axh.geglu %gate, %up : tensor<1x5x128xf16>
  // CHECK: %[[GEGLU_TANH:.*]] = axh.geglu %[[GATE]], %[[UP]] approximate = tanh : tensor<1x5x128xf16>
  %geglu_tanh = axh.geglu %gate, %up approximate = tanh : tensor<1x5x128xf16>
  func.return %silu, %gelu, %gelu_tanh, %swiglu, %geglu, %geglu_tanh : tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>, tensor<1x5x128xf16>
}

// CHECK-LABEL: func.func @elementwise(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>, %[[ROW:.*]]: tensor<64xf32>, %[[POS:.*]]: tensor<1x5xi64>)
func.func @elementwise(%x: tensor<1x5x64xf32>, %row: tensor<64xf32>, %pos: tensor<1x5xi64>)
    -> (tensor<1x5x64xf32>, tensor<1x5xi64>, tensor<1x5x64xbf16>) {
  // CHECK: %[[ADD:.*]] = axh.add %[[X]], %[[ROW]] : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  %add = axh.add %x, %row : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[SUB:.*]] = axh.sub %[[ADD]], %[[X]] : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  %sub = axh.sub %add, %x : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[MUL:.*]] = axh.mul %[[SUB]], %[[ROW]] : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  %mul = axh.mul %sub, %row : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[DIV:.*]] = axh.div %[[MUL]], %[[X]] : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  %div = axh.div %mul, %x : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[IADD:.*]] = axh.add %[[POS]], %[[POS]] : (tensor<1x5xi64>, tensor<1x5xi64>) -> tensor<1x5xi64>
  %iadd = axh.add %pos, %pos : (tensor<1x5xi64>, tensor<1x5xi64>) -> tensor<1x5xi64>
  // CHECK: %[[RSQRT:.*]] = axh.unary rsqrt %[[DIV]] : tensor<1x5x64xf32>
  %rsqrt = axh.unary rsqrt %div : tensor<1x5x64xf32>
  // CHECK: %[[ERF:.*]] = axh.unary erf %[[RSQRT]] : tensor<1x5x64xf32>
  %erf = axh.unary erf %rsqrt : tensor<1x5x64xf32>
  // CHECK: %[[POW:.*]] = axh.binary pow %[[ERF]], %[[ROW]] : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  %pow = axh.binary pow %erf, %row : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[MAX:.*]] = axh.binary maximum %[[POW]], %[[X]] : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  %max = axh.binary maximum %pow, %x : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[GT:.*]] = axh.compare gt %[[MAX]], %[[ROW]] : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xi1>
  %gt = axh.compare gt %max, %row : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xi1>
  // CHECK: %[[SEL:.*]] = axh.select %[[GT]], %[[MAX]], %[[ROW]] : (tensor<1x5x64xi1>, tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  %sel = axh.select %gt, %max, %row : (tensor<1x5x64xi1>, tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  // CHECK: %[[BF:.*]] = axh.cast %[[SEL]] : tensor<1x5x64xf32> -> tensor<1x5x64xbf16>
  %bf = axh.cast %sel : tensor<1x5x64xf32> -> tensor<1x5x64xbf16>
  func.return %sel, %iadd, %bf : tensor<1x5x64xf32>, tensor<1x5xi64>, tensor<1x5x64xbf16>
}

// CHECK-LABEL: func.func @reductions(
// CHECK-SAME: %[[X:.*]]: tensor<1x4x5x7xf32>)
func.func @reductions(%x: tensor<1x4x5x7xf32>)
    -> (tensor<1x4x5x1xf32>, tensor<1x5xf32>, tensor<1x4x5x7xf32>, tensor<1x4x5x3xf32>, tensor<1x4x5x3xi32>) {
  // CHECK: %[[MEAN:.*]] = axh.reduce mean %[[X]] {axes = array<i64: 3>, keepdim} : tensor<1x4x5x7xf32> -> tensor<1x4x5x1xf32>
  %mean = axh.reduce mean %x {axes = array<i64: 3>, keepdim} : tensor<1x4x5x7xf32> -> tensor<1x4x5x1xf32>
  // CHECK: %[[MAX:.*]] = axh.reduce max %[[X]] {axes = array<i64: 1, 3>} : tensor<1x4x5x7xf32> -> tensor<1x5xf32>
  %max = axh.reduce max %x {axes = array<i64: 1, 3>} : tensor<1x4x5x7xf32> -> tensor<1x5xf32>
  // CHECK: %[[P:.*]] = axh.softmax %[[X]] {axis = 3 : i64} : tensor<1x4x5x7xf32>
  %p = axh.softmax %x {axis = 3 : i64} : tensor<1x4x5x7xf32>
  // CHECK: %[[VALUES:.*]], %[[INDICES:.*]] = axh.topk %[[P]] {k = 3 : i64} : (tensor<1x4x5x7xf32>) -> (tensor<1x4x5x3xf32>, tensor<1x4x5x3xi32>)
  %top:2 = axh.topk %p {k = 3 : i64} : (tensor<1x4x5x7xf32>) -> (tensor<1x4x5x3xf32>, tensor<1x4x5x3xi32>)
  // CHECK: func.return %[[MEAN]], %[[MAX]], %[[P]], %[[VALUES]], %[[INDICES]]
  func.return %mean, %max, %p, %top#0, %top#1 : tensor<1x4x5x1xf32>, tensor<1x5xf32>, tensor<1x4x5x7xf32>, tensor<1x4x5x3xf32>, tensor<1x4x5x3xi32>
}

// CHECK-LABEL: func.func @layout(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>, %[[KV:.*]]: tensor<1x2x7x16xf32>, %[[NEW:.*]]: tensor<1x2x1x16xf32>)
func.func @layout(%x: tensor<1x5x64xf32>, %kv: tensor<1x2x7x16xf32>, %new: tensor<1x2x1x16xf32>)
    -> (tensor<1x4x5x16xf32>, tensor<1x4x5x2xf32>, tensor<1x2x8x16xf32>, tensor<1x2x2x8x16xf32>) {
  // CHECK: %[[HEADS:.*]] = axh.reshape %[[X]] : tensor<1x5x64xf32> -> tensor<1x5x4x16xf32>
  %heads = axh.reshape %x : tensor<1x5x64xf32> -> tensor<1x5x4x16xf32>
  // CHECK: %[[T:.*]] = axh.transpose %[[HEADS]] {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x5x4x16xf32> -> tensor<1x4x5x16xf32>
  %t = axh.transpose %heads {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x5x4x16xf32> -> tensor<1x4x5x16xf32>
  // CHECK: %[[ODD:.*]] = axh.slice %[[T]] {axis = 3 : i64, start = 1 : i64, end = 4 : i64, step = 2 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x2xf32>
  %odd = axh.slice %t {axis = 3 : i64, start = 1 : i64, end = 4 : i64, step = 2 : i64} : tensor<1x4x5x16xf32> -> tensor<1x4x5x2xf32>
  // CHECK: %[[CACHE:.*]] = axh.concat %[[KV]], %[[NEW]] {axis = 2 : i64} : (tensor<1x2x7x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x8x16xf32>
  %cache = axh.concat %kv, %new {axis = 2 : i64} : (tensor<1x2x7x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x2x8x16xf32>
  %groups = axh.reshape %cache : tensor<1x2x8x16xf32> -> tensor<1x2x1x8x16xf32>
  // CHECK: %[[REP:.*]] = axh.broadcast %[[GROUPS:.*]] : tensor<1x2x1x8x16xf32> -> tensor<1x2x2x8x16xf32>
  %rep = axh.broadcast %groups : tensor<1x2x1x8x16xf32> -> tensor<1x2x2x8x16xf32>
  func.return %t, %odd, %cache, %rep : tensor<1x4x5x16xf32>, tensor<1x4x5x2xf32>, tensor<1x2x8x16xf32>, tensor<1x2x2x8x16xf32>
}
