// RUN: axc-opt %s -p fuse-rms-norm --split-input-file | filecheck %s

// fuse-rms-norm: x * rsqrt(mean(x^2, -1, keepdim) + eps) times a weight becomes one
// axh.rms_norm, with the epsilon read from the constant and gemma's `1 + w` as
// weight_offset = 1.

// qwen2's input_layernorm, decode, as imported (weight * normed).
// CHECK-LABEL: func.func @qwen2_input_layernorm(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.input_layernorm.weight" : tensor<64xf32>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32} : (tensor<1x1x64xf32>, tensor<64xf32>) -> tensor<1x1x64xf32>
// CHECK-NEXT: func.return %[[N]]
// CHECK-NOT: axh.unary
func.func @qwen2_input_layernorm(%input: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
  %w = axh.weight "model.layers.0.input_layernorm.weight" : tensor<64xf32>
  %0 = axh.unary square %input : tensor<1x1x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x1x64xf32> -> tensor<1x1x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x1x1xf32>, tensor<f32>) -> tensor<1x1x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x1x1xf32>
  %5 = axh.mul %input, %4 : (tensor<1x1x64xf32>, tensor<1x1x1xf32>) -> tensor<1x1x64xf32>
  %6 = axh.mul %w, %5 : (tensor<64xf32>, tensor<1x1x64xf32>) -> tensor<1x1x64xf32>
  func.return %6 : tensor<1x1x64xf32>
}

// -----

// phi3's post_attention_layernorm, prefill (eps 1e-5), with every commutative op written the
// other way round: normed * weight, eps + mean, rsqrt * x.
// CHECK-LABEL: func.func @phi3_operands_swapped(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.post_attention_layernorm.weight" : tensor<64xf32>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-05 : f32} : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
// CHECK-NEXT: func.return %[[N]]
func.func @phi3_operands_swapped(%x: tensor<1x5x64xf32>) -> tensor<1x5x64xf32> {
  %w = axh.weight "model.layers.0.post_attention_layernorm.weight" : tensor<64xf32>
  %0 = axh.unary square %x : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %2 = axh.constant dense<1.000000e-05> : tensor<f32>
  %3 = axh.add %2, %1 : (tensor<f32>, tensor<1x5x1xf32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %4, %x : (tensor<1x5x1xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %5, %w : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  func.return %6 : tensor<1x5x64xf32>
}

// -----

// pow(x, 2) instead of square.
// CHECK-LABEL: func.func @pow_two(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32}
// CHECK-NEXT: func.return %[[N]]
func.func @pow_two(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>) -> tensor<1x5x64xf32> {
  %c2 = axh.constant dense<2.000000e+00> : tensor<f32>
  %0 = axh.binary pow %x, %c2 : (tensor<1x5x64xf32>, tensor<f32>) -> tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %w, %5 : (tensor<64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %6 : tensor<1x5x64xf32>
}

// -----

// gemma3's input_layernorm: normed * (w + 1.0).
// CHECK-LABEL: func.func @gemma3_input_layernorm(
// CHECK-SAME: %[[X:.*]]: tensor<1x1x64xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.input_layernorm.weight" : tensor<64xf32>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x1x64xf32>, tensor<64xf32>) -> tensor<1x1x64xf32>
// CHECK-NEXT: func.return %[[N]]
// CHECK-NOT: axh.add
func.func @gemma3_input_layernorm(%input: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
  %w = axh.weight "model.layers.0.input_layernorm.weight" : tensor<64xf32>
  %0 = axh.unary square %input : tensor<1x1x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x1x64xf32> -> tensor<1x1x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x1x1xf32>, tensor<f32>) -> tensor<1x1x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x1x1xf32>
  %5 = axh.mul %input, %4 : (tensor<1x1x64xf32>, tensor<1x1x1xf32>) -> tensor<1x1x64xf32>
  %6 = axh.constant dense<1.000000e+00> : tensor<f32>
  %7 = axh.add %w, %6 : (tensor<64xf32>, tensor<f32>) -> tensor<64xf32>
  %8 = axh.mul %5, %7 : (tensor<1x1x64xf32>, tensor<64xf32>) -> tensor<1x1x64xf32>
  func.return %8 : tensor<1x1x64xf32>
}

// -----

// gemma written as (1 + w) * normed.
// CHECK-LABEL: func.func @gemma_one_plus_w(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32}
// CHECK-NEXT: func.return %[[N]]
func.func @gemma_one_plus_w(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>) -> tensor<1x5x64xf32> {
  %0 = axh.unary square %x : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %6 = axh.constant dense<1.000000e+00> : tensor<f32>
  %7 = axh.add %6, %w : (tensor<f32>, tensor<64xf32>) -> tensor<64xf32>
  %8 = axh.mul %7, %5 : (tensor<64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %8 : tensor<1x5x64xf32>
}

// -----

// gemma3's q_norm, decode: per head on [B, H, T, D] (rank 4), over the head dimension.
// CHECK-LABEL: func.func @gemma3_q_norm(
// CHECK-SAME: %[[Q:.*]]: tensor<1x4x1x16xf32>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.layers.0.self_attn.q_norm.weight" : tensor<16xf32>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[Q]], %[[W]] {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x4x1x16xf32>, tensor<16xf32>) -> tensor<1x4x1x16xf32>
// CHECK-NEXT: func.return %[[N]]
func.func @gemma3_q_norm(%q: tensor<1x4x1x16xf32>) -> tensor<1x4x1x16xf32> {
  %w = axh.weight "model.layers.0.self_attn.q_norm.weight" : tensor<16xf32>
  %0 = axh.unary square %q : tensor<1x4x1x16xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 3>, keepdim} : tensor<1x4x1x16xf32> -> tensor<1x4x1x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x4x1x1xf32>, tensor<f32>) -> tensor<1x4x1x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x4x1x1xf32>
  %5 = axh.mul %q, %4 : (tensor<1x4x1x16xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x1x16xf32>
  %6 = axh.constant dense<1.000000e+00> : tensor<f32>
  %7 = axh.add %w, %6 : (tensor<16xf32>, tensor<f32>) -> tensor<16xf32>
  %8 = axh.mul %5, %7 : (tensor<1x4x1x16xf32>, tensor<16xf32>) -> tensor<1x4x1x16xf32>
  func.return %8 : tensor<1x4x1x16xf32>
}

// -----

// LlamaRMSNorm exported in bf16: x goes to f32, the normalized value comes back to bf16
// before the weight mul. The norm reads x and w in bf16.
// CHECK-LABEL: func.func @llama_bf16_casts(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xbf16>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.norm.weight" : tensor<64xbf16>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
// CHECK-NEXT: func.return %[[N]]
// CHECK-NOT: axh.cast
func.func @llama_bf16_casts(%input: tensor<1x5x64xbf16>) -> tensor<1x5x64xbf16> {
  %0 = axh.weight "model.norm.weight" : tensor<64xbf16>
  %1 = axh.cast %input : tensor<1x5x64xbf16> -> tensor<1x5x64xf32>
  %2 = axh.unary square %1 : tensor<1x5x64xf32>
  %3 = axh.reduce mean %2 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %4 = axh.constant dense<1.000000e-06> : tensor<f32>
  %5 = axh.add %3, %4 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %6 = axh.unary rsqrt %5 : tensor<1x5x1xf32>
  %7 = axh.mul %1, %6 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %8 = axh.cast %7 : tensor<1x5x64xf32> -> tensor<1x5x64xbf16>
  %9 = axh.mul %0, %8 : (tensor<64xbf16>, tensor<1x5x64xbf16>) -> tensor<1x5x64xbf16>
  func.return %9 : tensor<1x5x64xbf16>
}

// -----

// Gemma3RMSNorm exported in bf16: everything in f32, the weight cast up, the result cast back.
// CHECK-LABEL: func.func @gemma_bf16_casts(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xbf16>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "model.norm.weight" : tensor<64xbf16>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x5x64xbf16>, tensor<64xbf16>) -> tensor<1x5x64xbf16>
// CHECK-NEXT: func.return %[[N]]
// CHECK-NOT: axh.cast
func.func @gemma_bf16_casts(%input: tensor<1x5x64xbf16>) -> tensor<1x5x64xbf16> {
  %0 = axh.weight "model.norm.weight" : tensor<64xbf16>
  %1 = axh.cast %input : tensor<1x5x64xbf16> -> tensor<1x5x64xf32>
  %2 = axh.unary square %1 : tensor<1x5x64xf32>
  %3 = axh.reduce mean %2 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %4 = axh.constant dense<1.000000e-06> : tensor<f32>
  %5 = axh.add %3, %4 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %6 = axh.unary rsqrt %5 : tensor<1x5x1xf32>
  %7 = axh.mul %1, %6 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %8 = axh.cast %0 : tensor<64xbf16> -> tensor<64xf32>
  %9 = axh.constant dense<1.000000e+00> : tensor<f32>
  %10 = axh.add %8, %9 : (tensor<64xf32>, tensor<f32>) -> tensor<64xf32>
  %11 = axh.mul %7, %10 : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  %12 = axh.cast %11 : tensor<1x5x64xf32> -> tensor<1x5x64xbf16>
  func.return %12 : tensor<1x5x64xbf16>
}

// -----

// The bf16 gemma norm whose f32 result is also read before the cast back: the norm is taken
// in f32 (x and w cast up) so that reader keeps its precision; the cast back stays.
// CHECK-LABEL: func.func @gemma_bf16_f32_result_used(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xbf16>)
// CHECK-NEXT: %[[W:.*]] = axh.weight "w" : tensor<64xbf16>
// CHECK-NEXT: %[[XF:.*]] = axh.cast %[[X]] : tensor<1x5x64xbf16> -> tensor<1x5x64xf32>
// CHECK-NEXT: %[[WF:.*]] = axh.cast %[[W]] : tensor<64xbf16> -> tensor<64xf32>
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[XF]], %[[WF]] {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
// CHECK-NEXT: %[[B:.*]] = axh.cast %[[N]] : tensor<1x5x64xf32> -> tensor<1x5x64xbf16>
// CHECK-NEXT: func.return %[[B]], %[[N]]
func.func @gemma_bf16_f32_result_used(%input: tensor<1x5x64xbf16>) -> (tensor<1x5x64xbf16>, tensor<1x5x64xf32>) {
  %0 = axh.weight "w" : tensor<64xbf16>
  %1 = axh.cast %input : tensor<1x5x64xbf16> -> tensor<1x5x64xf32>
  %2 = axh.unary square %1 : tensor<1x5x64xf32>
  %3 = axh.reduce mean %2 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %4 = axh.constant dense<1.000000e-06> : tensor<f32>
  %5 = axh.add %3, %4 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %6 = axh.unary rsqrt %5 : tensor<1x5x1xf32>
  %7 = axh.mul %1, %6 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %8 = axh.cast %0 : tensor<64xbf16> -> tensor<64xf32>
  %9 = axh.constant dense<1.000000e+00> : tensor<f32>
  %10 = axh.add %8, %9 : (tensor<64xf32>, tensor<f32>) -> tensor<64xf32>
  %11 = axh.mul %7, %10 : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  %12 = axh.cast %11 : tensor<1x5x64xf32> -> tensor<1x5x64xbf16>
  func.return %12, %11 : tensor<1x5x64xbf16>, tensor<1x5x64xf32>
}

// -----

// The unweighted normalized value is also returned: it keeps its chain, the weighted one is
// the fused norm.
// CHECK-LABEL: func.func @normalized_value_shared(
// CHECK-SAME: %[[X:.*]]: tensor<1x5x64xf32>, %[[W:.*]]: tensor<64xf32>)
// CHECK: %[[R:.*]] = axh.unary rsqrt
// CHECK-NEXT: %[[M:.*]] = axh.mul %[[X]], %[[R]]
// CHECK-NEXT: %[[N:.*]] = axh.rms_norm %[[X]], %[[W]] {epsilon = 1.000000e-06 : f32}
// CHECK-NEXT: func.return %[[N]], %[[M]]
func.func @normalized_value_shared(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>) -> (tensor<1x5x64xf32>, tensor<1x5x64xf32>) {
  %0 = axh.unary square %x : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %w, %5 : (tensor<64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %6, %5 : tensor<1x5x64xf32>, tensor<1x5x64xf32>
}

// -----

// Negative: the mean is over the tokens (axis 1), not the last axis.
// CHECK-LABEL: func.func @mean_over_other_axis(
// CHECK-NOT: axh.rms_norm
// CHECK: axh.unary rsqrt
func.func @mean_over_other_axis(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>) -> tensor<1x5x64xf32> {
  %0 = axh.unary square %x : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 1>, keepdim} : tensor<1x5x64xf32> -> tensor<1x1x64xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x1x64xf32>, tensor<f32>) -> tensor<1x1x64xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x1x64xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x1x64xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %w, %5 : (tensor<64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %6 : tensor<1x5x64xf32>
}

// -----

// Negative: the scale is computed from y but applied to x.
// CHECK-LABEL: func.func @scale_of_other_value(
// CHECK-NOT: axh.rms_norm
// CHECK: axh.unary rsqrt
func.func @scale_of_other_value(%x: tensor<1x5x64xf32>, %y: tensor<1x5x64xf32>, %w: tensor<64xf32>) -> tensor<1x5x64xf32> {
  %0 = axh.unary square %y : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %w, %5 : (tensor<64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %6 : tensor<1x5x64xf32>
}

// -----

// Negative: the "weight" is a per-token activation [1, 5, 64], not a [D] vector.
// CHECK-LABEL: func.func @weight_not_a_vector(
// CHECK-NOT: axh.rms_norm
// CHECK: axh.unary rsqrt
func.func @weight_not_a_vector(%x: tensor<1x5x64xf32>, %w: tensor<1x5x64xf32>) -> tensor<1x5x64xf32> {
  %0 = axh.unary square %x : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %2 = axh.constant dense<1.000000e-06> : tensor<f32>
  %3 = axh.add %1, %2 : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %w, %5 : (tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %6 : tensor<1x5x64xf32>
}

// -----

// Negative: the epsilon is not a splat constant (a runtime value).
// CHECK-LABEL: func.func @eps_not_constant(
// CHECK-NOT: axh.rms_norm
// CHECK: axh.unary rsqrt
func.func @eps_not_constant(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>, %eps: tensor<f32>) -> tensor<1x5x64xf32> {
  %0 = axh.unary square %x : tensor<1x5x64xf32>
  %1 = axh.reduce mean %0 {axes = array<i64: 2>, keepdim} : tensor<1x5x64xf32> -> tensor<1x5x1xf32>
  %3 = axh.add %1, %eps : (tensor<1x5x1xf32>, tensor<f32>) -> tensor<1x5x1xf32>
  %4 = axh.unary rsqrt %3 : tensor<1x5x1xf32>
  %5 = axh.mul %x, %4 : (tensor<1x5x64xf32>, tensor<1x5x1xf32>) -> tensor<1x5x64xf32>
  %6 = axh.mul %w, %5 : (tensor<64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return %6 : tensor<1x5x64xf32>
}
