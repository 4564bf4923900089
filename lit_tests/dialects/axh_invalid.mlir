// RUN: axc-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of the axh dialect.

// types shared by all ops

func.func @dynamic_shape(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{expected a static-shape tensor of f32, bf16 or f16, got tensor<?x64xf32>}}
  %y = "axh.silu"(%x) : (tensor<?x64xf32>) -> tensor<?x64xf32>
  func.return
}

// -----

func.func @float_ids(%ids: tensor<1x5xf32>, %table: tensor<128x64xf32>) {
  // expected-error @+1 {{expected a tensor of i32, i64 or ui32, got tensor<1x5xf32>}}
  %h = "axh.embedding"(%ids, %table) : (tensor<1x5xf32>, tensor<128x64xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @unknown_unary_kind(%x: tensor<4xf32>) {
  // expected-error @+1 {{Expected `neg`, `exp`, `log`}}
  %y = axh.unary cube %x : tensor<4xf32>
  func.return
}

// -----

// axh.weight, axh.constant

func.func @empty_weight_name() {
  // expected-error @+1 {{weight name is empty}}
  %w = axh.weight "" : tensor<64x64xf32>
  func.return
}

// -----

func.func @large_constant() {
  // expected-error @+1 {{constant has 2048 elements, more than 1024: use axh.weight for tensors}}
  %c = axh.constant dense<0.0> : tensor<2x1024xf32>
  func.return
}

// -----

// axh.embedding

func.func @embedding_table_rank(%ids: tensor<1x5xi32>, %table: tensor<128xf32>) {
  // expected-error @+1 {{table must have rank 2, got rank 1 ([128])}}
  %h = axh.embedding %ids, %table : (tensor<1x5xi32>, tensor<128xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @embedding_result_type(%ids: tensor<1x5xi32>, %table: tensor<128x64xf32>) {
  // expected-error @+1 {{result element type bf16 differs from table element type f32}}
  %h = axh.embedding %ids, %table : (tensor<1x5xi32>, tensor<128x64xf32>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @embedding_result_shape(%ids: tensor<1x5xi32>, %table: tensor<128x64xf32>) {
  // expected-error @+1 {{result shape [1, 5, 32] should be [1, 5, 64] (ids shape + hidden size 64)}}
  %h = axh.embedding %ids, %table : (tensor<1x5xi32>, tensor<128x64xf32>) -> tensor<1x5x32xf32>
  func.return
}

// -----

// axh.linear

func.func @linear_weight_rank(%x: tensor<1x5x16xf32>, %w: tensor<2x32x16xf32>) {
  // expected-error @+1 {{weight must have rank 2, got rank 3 ([2, 32, 16])}}
  %y = axh.linear %x, %w : (tensor<1x5x16xf32>, tensor<2x32x16xf32>) -> tensor<1x5x32xf32>
  func.return
}

// -----

func.func @linear_scalar_input(%x: tensor<f32>, %w: tensor<32x16xf32>) {
  // expected-error @+1 {{input must have rank >= 1, got rank 0}}
  %y = axh.linear %x, %w : (tensor<f32>, tensor<32x16xf32>) -> tensor<32xf32>
  func.return
}

// -----

func.func @linear_in_features(%x: tensor<1x5x16xf32>, %w: tensor<64x32xf32>) {
  // expected-error @+1 {{weight has 32 input features but the input has 16}}
  %y = axh.linear %x, %w : (tensor<1x5x16xf32>, tensor<64x32xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @linear_bias_rank(%x: tensor<1x5x16xf32>, %w: tensor<64x16xf32>, %b: tensor<1x64xf32>) {
  // expected-error @+1 {{bias must have rank 1, got rank 2 ([1, 64])}}
  %y = axh.linear %x, %w, %b : (tensor<1x5x16xf32>, tensor<64x16xf32>, tensor<1x64xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @linear_bias_size(%x: tensor<1x5x16xf32>, %w: tensor<64x16xf32>, %b: tensor<10xf32>) {
  // expected-error @+1 {{bias has 10 elements but the weight has 64 output features}}
  %y = axh.linear %x, %w, %b : (tensor<1x5x16xf32>, tensor<64x16xf32>, tensor<10xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @linear_result_element_type(%x: tensor<1x5x16xbf16>, %w: tensor<64x16xf32>) {
  // expected-error @+1 {{result element type f32 differs from input element type bf16}}
  %y = axh.linear %x, %w : (tensor<1x5x16xbf16>, tensor<64x16xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @linear_int_weight_needs_scale(%x: tensor<1x5x16xbf16>, %w: tensor<64x16xi8>) {
  // expected-error @+1 {{a i8 weight needs a scale operand}}
  %y = axh.linear %x, %w : (tensor<1x5x16xbf16>, tensor<64x16xi8>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @linear_scale_groups(%x: tensor<1x5x16xbf16>, %w: tensor<64x16xi4>, %s: tensor<64x3xbf16>) {
  // expected-error @+1 {{scale shape [64, 3] should be [64, G] with G dividing the 16 input features}}
  %y = axh.linear %x, %w scale %s : (tensor<1x5x16xbf16>, tensor<64x16xi4>, tensor<64x3xbf16>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @linear_zero_shape(%x: tensor<1x5x16xbf16>, %w: tensor<64x16xi4>, %s: tensor<64x2xbf16>, %z: tensor<64x1xbf16>) {
  // expected-error @+1 {{zero shape [64, 1] differs from scale shape [64, 2]}}
  %y = axh.linear %x, %w scale %s zero %z : (tensor<1x5x16xbf16>, tensor<64x16xi4>, tensor<64x2xbf16>, tensor<64x1xbf16>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @linear_float_weight_with_scale(%x: tensor<1x5x16xbf16>, %w: tensor<64x16xbf16>, %s: tensor<64x1xbf16>) {
  // expected-error @+1 {{a float weight takes no scale or zero operand}}
  %y = axh.linear %x, %w scale %s : (tensor<1x5x16xbf16>, tensor<64x16xbf16>, tensor<64x1xbf16>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @linear_weight_int_width(%x: tensor<1x5x16xbf16>, %w: tensor<64x16xi16>, %s: tensor<64x1xbf16>) {
  // expected-error @+1 {{integer weights must be i8 or i4, got i16}}
  %y = axh.linear %x, %w scale %s : (tensor<1x5x16xbf16>, tensor<64x16xi16>, tensor<64x1xbf16>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @linear_result_shape(%x: tensor<1x5x16xf32>, %w: tensor<64x16xf32>) {
  // expected-error @+1 {{result shape [1, 5, 16] should be [1, 5, 64] (input [..., K] -> [..., N])}}
  %y = axh.linear %x, %w : (tensor<1x5x16xf32>, tensor<64x16xf32>) -> tensor<1x5x16xf32>
  func.return
}

// -----

// axh.matmul

func.func @matmul_rank(%a: tensor<16xf32>, %b: tensor<16x8xf32>) {
  // expected-error @+1 {{lhs must have rank >= 2, got rank 1 ([16])}}
  %c = axh.matmul %a, %b : (tensor<16xf32>, tensor<16x8xf32>) -> tensor<8xf32>
  func.return
}

// -----

func.func @matmul_contraction(%a: tensor<4x5x16xf32>, %b: tensor<4x8x7xf32>) {
  // expected-error @+1 {{lhs has 16 columns but rhs has 8 rows}}
  %c = axh.matmul %a, %b : (tensor<4x5x16xf32>, tensor<4x8x7xf32>) -> tensor<4x5x7xf32>
  func.return
}

// -----

func.func @matmul_contraction_transposed(%a: tensor<4x5x16xf32>, %b: tensor<4x16x7xf32>) {
  // expected-error @+1 {{lhs has 16 columns but rhs has 7 columns (transpose_b)}}
  %c = axh.matmul %a, %b {transpose_b} : (tensor<4x5x16xf32>, tensor<4x16x7xf32>) -> tensor<4x5x16xf32>
  func.return
}

// -----

func.func @matmul_batch(%a: tensor<4x5x16xf32>, %b: tensor<2x16x7xf32>) {
  // expected-error @+1 {{shapes [4], [2] do not broadcast: dimension -1 has sizes 2, 4}}
  %c = axh.matmul %a, %b : (tensor<4x5x16xf32>, tensor<2x16x7xf32>) -> tensor<4x5x7xf32>
  func.return
}

// -----

func.func @matmul_result(%a: tensor<1x5x16xf32>, %b: tensor<4x16x7xf32>) {
  // expected-error @+1 {{result shape [1, 5, 7] should be [4, 5, 7] ([batch..., M, N])}}
  %c = axh.matmul %a, %b : (tensor<1x5x16xf32>, tensor<4x16x7xf32>) -> tensor<1x5x7xf32>
  func.return
}

// -----

func.func @matmul_element_types(%a: tensor<5x16xf16>, %b: tensor<16x7xf32>) {
  // expected-error @+1 {{rhs element type f32 differs from lhs element type f16}}
  %c = axh.matmul %a, %b : (tensor<5x16xf16>, tensor<16x7xf32>) -> tensor<5x7xf16>
  func.return
}

// -----

// axh.rms_norm, axh.layer_norm

func.func @rms_norm_epsilon(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{epsilon must be > 0, got 0.0}}
  %y = axh.rms_norm %x, %w {epsilon = 0.0 : f32} : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @rms_norm_weight_size(%x: tensor<1x5x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{weight has 32 elements but the input's last dimension is 64}}
  %y = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32} : (tensor<1x5x64xf32>, tensor<32xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @rms_norm_weight_rank(%x: tensor<1x5x64xf32>, %w: tensor<1x64xf32>) {
  // expected-error @+1 {{weight must have rank 1, got rank 2 ([1, 64])}}
  %y = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32} : (tensor<1x5x64xf32>, tensor<1x64xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @rms_norm_scalar(%x: tensor<f32>, %w: tensor<1xf32>) {
  // expected-error @+1 {{input must have rank >= 1, got rank 0}}
  %y = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32} : (tensor<f32>, tensor<1xf32>) -> tensor<f32>
  func.return
}

// -----

func.func @rms_norm_weight_type(%x: tensor<1x5x64xbf16>, %w: tensor<64xf32>) {
  // expected-error @+1 {{weight element type f32 differs from input element type bf16}}
  %y = axh.rms_norm %x, %w {epsilon = 1.0e-06 : f32} : (tensor<1x5x64xbf16>, tensor<64xf32>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @rms_norm_result_type(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{attribute tensor<1x5x64xf32> expected from variable 'T', but got tensor<1x5x64xbf16>}}
  %y = "axh.rms_norm"(%x, %w) <{epsilon = 1.0e-06 : f32}> : (tensor<1x5x64xf32>, tensor<64xf32>) -> tensor<1x5x64xbf16>
  func.return
}

// -----

func.func @layer_norm_epsilon(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{epsilon must be > 0, got -1.0}}
  %y = axh.layer_norm %x, %w, %b {epsilon = -1.0 : f32} : (tensor<1x5x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @layer_norm_bias_size(%x: tensor<1x5x64xf32>, %w: tensor<64xf32>, %b: tensor<63xf32>) {
  // expected-error @+1 {{bias has 63 elements but the input's last dimension is 64}}
  %y = axh.layer_norm %x, %w, %b {epsilon = 1.0e-05 : f32} : (tensor<1x5x64xf32>, tensor<64xf32>, tensor<63xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

// axh.rope

func.func @rope_input_rank(%x: tensor<1x5x64xf32>, %cos: tensor<1x5x64xf32>) {
  // expected-error @+1 {{input must have rank 4, got rank 3 ([1, 5, 64])}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 64 : i64} : (tensor<1x5x64xf32>, tensor<1x5x64xf32>, tensor<1x5x64xf32>) -> tensor<1x5x64xf32>
  func.return
}

// -----

func.func @rope_cos_rank(%x: tensor<1x4x5x16xf32>, %cos: tensor<5x16xf32>) {
  // expected-error @+1 {{cos must have rank 3, got rank 2 ([5, 16])}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<5x16xf32>, tensor<5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_sin_shape(%x: tensor<1x4x5x16xf32>, %cos: tensor<1x5x16xf32>, %sin: tensor<1x5x8xf32>) {
  // expected-error @+1 {{sin shape [1, 5, 8] differs from cos shape [1, 5, 16]}}
  %y = axh.rope %x, %cos, %sin {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x16xf32>, tensor<1x5x8xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_odd_rotary_dim(%x: tensor<1x4x5x16xf32>, %cos: tensor<1x5x7xf32>) {
  // expected-error @+1 {{rotary_dim must be even and > 0, got 7}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 7 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x7xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_rotary_dim_too_big(%x: tensor<1x4x5x16xf32>, %cos: tensor<1x5x32xf32>) {
  // expected-error @+1 {{rotary_dim 32 exceeds the head dimension 16}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 32 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x32xf32>, tensor<1x5x32xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_rotary_dim_mismatch(%x: tensor<1x4x5x16xf32>, %cos: tensor<1x5x16xf32>) {
  // expected-error @+1 {{cos/sin shape [1, 5, 16] should be [1, 5, 8] ([batch, tokens, rotary_dim] of the input)}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 8 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x16xf32>, tensor<1x5x16xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_positions(%x: tensor<1x4x5x16xf32>, %cos: tensor<1x3x16xf32>) {
  // expected-error @+1 {{cos/sin shape [1, 3, 16] should be [1, 5, 16] ([batch, tokens, rotary_dim] of the input)}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_element_types(%x: tensor<1x4x5x16xf32>, %cos: tensor<1x5x16xbf16>) {
  // expected-error @+1 {{cos/sin element type bf16 must be the input's (f32) or f32}}
  %y = axh.rope %x, %cos, %cos {rotary_dim = 16 : i64} : (tensor<1x4x5x16xf32>, tensor<1x5x16xbf16>, tensor<1x5x16xbf16>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @rope_cos_sin_types(%x: tensor<1x4x5x16xbf16>, %cos: tensor<1x5x16xf32>, %sin: tensor<1x5x16xbf16>) {
  // expected-error @+1 {{sin element type bf16 differs from cos element type f32}}
  %y = axh.rope %x, %cos, %sin {rotary_dim = 16 : i64} : (tensor<1x4x5x16xbf16>, tensor<1x5x16xf32>, tensor<1x5x16xbf16>) -> tensor<1x4x5x16xbf16>
  func.return
}

// -----

// axh.attention

func.func @attention_rank(%q: tensor<4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{query must have rank 4, got rank 3 ([4, 5, 16])}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32} : (tensor<4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_head_dim(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x32xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{key head dim 32 differs from query head dim 16}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x32xf32>, tensor<1x2x7x32xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x32xf32>
  func.return
}

// -----

func.func @attention_value_length(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %v: tensor<1x2x6x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{value shape [1, 2, 6] should be [1, 2, 7] (key's [B, Hkv, S])}}
  %o = axh.attention %q, %k, %v, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x6x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_batch(%q: tensor<1x4x5x16xf32>, %k: tensor<2x2x7x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{key batch 2 differs from query batch 1}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<2x2x7x16xf32>, tensor<2x2x7x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_gqa(%q: tensor<1x4x5x16xf32>, %k: tensor<1x3x7x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{4 query heads are not a multiple of 3 key/value heads}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x3x7x16xf32>, tensor<1x3x7x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_mask(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %m: tensor<1x2x5x7xf32>) {
  // expected-error @+1 {{mask shape [1, 2, 5, 7] should be [B, 1 or Hq, T, S] = [1, 1 or 4, 5, 7] or [B, T, S] = [1, 5, 7]}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_bool_mask(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %m: tensor<1x5x7xi1>) {
  // expected-error @+1 {{expected a tensor of f32, bf16 or f16, got tensor<1x5x7xi1>}}
  %o = "axh.attention"(%q, %k, %k, %m) <{scale = 0.25 : f32}> : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>, tensor<1x5x7xi1>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_element_types(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xbf16>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{key element type bf16 differs from query element type f32}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xbf16>, tensor<1x2x7x16xbf16>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_result(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %v: tensor<1x2x7x8xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{result shape [1, 4, 5, 16] should be [1, 4, 5, 8] ([B, Hq, T, Dv])}}
  %o = axh.attention %q, %k, %v, %m {scale = 0.25 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x8xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_scale(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{scale must be > 0, got 0.0}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.0 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_softcap(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{softcap must be > 0, got -50.0}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32, softcap = -50.0 : f32} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

func.func @attention_sliding_window(%q: tensor<1x4x5x16xf32>, %k: tensor<1x2x7x16xf32>, %m: tensor<1x5x7xf32>) {
  // expected-error @+1 {{sliding_window must be >= 1, got 0}}
  %o = axh.attention %q, %k, %k, %m {scale = 0.25 : f32, sliding_window = 0 : i64} : (tensor<1x4x5x16xf32>, tensor<1x2x7x16xf32>, tensor<1x2x7x16xf32>, tensor<1x5x7xf32>) -> tensor<1x4x5x16xf32>
  func.return
}

// -----

// activations

func.func @silu_result_type(%x: tensor<1x5x64xf32>) {
  // expected-error @+1 {{attribute tensor<1x5x64xf32> expected from variable 'T', but got tensor<1x5x64xf16>}}
  %y = "axh.silu"(%x) : (tensor<1x5x64xf32>) -> tensor<1x5x64xf16>
  func.return
}

// -----

func.func @swiglu_shapes(%gate: tensor<1x5x128xf32>, %up: tensor<1x5x64xf32>) {
  // expected-error @+1 {{attribute tensor<1x5x128xf32> expected from variable 'T', but got tensor<1x5x64xf32>}}
  %y = "axh.swiglu"(%gate, %up) : (tensor<1x5x128xf32>, tensor<1x5x64xf32>) -> tensor<1x5x128xf32>
  func.return
}

// -----

func.func @geglu_integer(%gate: tensor<4xi32>) {
  // expected-error @+1 {{expected a tensor of f32, bf16 or f16, got tensor<4xi32>}}
  %y = "axh.geglu"(%gate, %gate) <{approximate = #axh<gelu_approximation tanh>}> : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  func.return
}

// -----

// element-wise

func.func @add_element_types(%a: tensor<4xf32>, %b: tensor<4xf16>) {
  // expected-error @+1 {{rhs element type f16 differs from lhs element type f32}}
  %c = axh.add %a, %b : (tensor<4xf32>, tensor<4xf16>) -> tensor<4xf32>
  func.return
}

// -----

func.func @sub_no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4x3xf32>) {
  // expected-error @+1 {{shapes [2, 3], [4, 3] do not broadcast: dimension -2 has sizes 2, 4}}
  %c = axh.sub %a, %b : (tensor<2x3xf32>, tensor<4x3xf32>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @mul_result_shape(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{result shape [3] should be [2, 3] (the broadcast operand shape)}}
  %c = axh.mul %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @div_result_type(%a: tensor<3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{result element type bf16 differs from lhs element type f32}}
  %c = axh.div %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xbf16>
  func.return
}

// -----

func.func @unary_integer(%x: tensor<4xi64>) {
  // expected-error @+1 {{expected a tensor of f32, bf16 or f16, got tensor<4xi64>}}
  %y = "axh.unary"(%x) <{kind = #axh<unary_kind exp>}> : (tensor<4xi64>) -> tensor<4xi64>
  func.return
}

// -----

func.func @binary_result_shape(%a: tensor<2x3xf32>, %b: tensor<2x1xf32>) {
  // expected-error @+1 {{result shape [2, 1] should be [2, 3] (the broadcast operand shape)}}
  %c = axh.binary maximum %a, %b : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x1xf32>
  func.return
}

// -----

func.func @compare_result_type(%a: tensor<3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{expected a tensor of i1, got tensor<3xf32>}}
  %c = "axh.compare"(%a, %b) <{predicate = #axh<compare_predicate eq>}> : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @compare_element_types(%a: tensor<3xf32>, %b: tensor<3xi32>) {
  // expected-error @+1 {{rhs element type i32 differs from lhs element type f32}}
  %c = axh.compare ne %a, %b : (tensor<3xf32>, tensor<3xi32>) -> tensor<3xi1>
  func.return
}

// -----

func.func @select_condition(%c: tensor<3xf32>, %a: tensor<3xf32>) {
  // expected-error @+1 {{expected a tensor of i1, got tensor<3xf32>}}
  %y = "axh.select"(%c, %a, %a) : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @select_element_types(%c: tensor<3xi1>, %a: tensor<3xf32>, %b: tensor<3xbf16>) {
  // expected-error @+1 {{false_value element type bf16 differs from true_value element type f32}}
  %y = axh.select %c, %a, %b : (tensor<3xi1>, tensor<3xf32>, tensor<3xbf16>) -> tensor<3xf32>
  func.return
}

// -----

func.func @select_shape(%c: tensor<2x1xi1>, %a: tensor<3xf32>) {
  // expected-error @+1 {{result shape [3] should be [2, 3] (the broadcast operand shape)}}
  %y = axh.select %c, %a, %a : (tensor<2x1xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  func.return
}

// -----

func.func @cast_shape(%x: tensor<1x5xf32>) {
  // expected-error @+1 {{result shape [5] should be [1, 5] (cast keeps the shape)}}
  %y = axh.cast %x : tensor<1x5xf32> -> tensor<5xbf16>
  func.return
}

// -----

// axh.reduce, axh.softmax, axh.topk

func.func @reduce_no_axes(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axes must not be empty}}
  %y = axh.reduce sum %x {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return
}

// -----

func.func @reduce_axis_range(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range [0, 2) for rank 2}}
  %y = axh.reduce sum %x {axes = array<i64: 2>} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}

// -----

func.func @reduce_negative_axis(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis -1 is out of range [0, 2) for rank 2}}
  %y = axh.reduce max %x {axes = array<i64: -1>} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}

// -----

func.func @reduce_axes_order(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{axes [2, 0] must be strictly increasing}}
  %y = axh.reduce min %x {axes = array<i64: 2, 0>} : tensor<2x3x4xf32> -> tensor<3xf32>
  func.return
}

// -----

func.func @reduce_integer_mean(%x: tensor<2x3xi32>) {
  // expected-error @+1 {{mean needs float elements, got i32}}
  %y = axh.reduce mean %x {axes = array<i64: 1>} : tensor<2x3xi32> -> tensor<2xi32>
  func.return
}

// -----

func.func @reduce_result_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result element type f16 differs from input element type f32}}
  %y = axh.reduce sum %x {axes = array<i64: 1>} : tensor<2x3xf32> -> tensor<2xf16>
  func.return
}

// -----

func.func @reduce_result_shape(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result shape [2] should be [2, 1] (reduced axes kept as 1)}}
  %y = axh.reduce sum %x {axes = array<i64: 1>, keepdim} : tensor<2x3xf32> -> tensor<2xf32>
  func.return
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis -1 is out of range [0, 2) for rank 2}}
  %y = axh.softmax %x {axis = -1 : i64} : tensor<2x3xf32>
  func.return
}

// -----

func.func @topk_k(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{k must be in [1, 3] (the last dimension), got 4}}
  %v, %i = axh.topk %x {k = 4 : i64} : (tensor<2x3xf32>) -> (tensor<2x4xf32>, tensor<2x4xi32>)
  func.return
}

// -----

func.func @topk_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{input must have rank >= 1, got rank 0}}
  %v, %i = axh.topk %x {k = 1 : i64} : (tensor<f32>) -> (tensor<1xf32>, tensor<1xi32>)
  func.return
}

// -----

func.func @topk_values_shape(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{values shape [2, 3] should be [2, 2] ([..., k])}}
  %v, %i = axh.topk %x {k = 2 : i64} : (tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x2xi32>)
  func.return
}

// -----

func.func @topk_indices_shape(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{indices shape [2, 3] should be [2, 2] ([..., k])}}
  %v, %i = axh.topk %x {k = 2 : i64} : (tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<2x3xi32>)
  func.return
}

// -----

func.func @topk_indices_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{expected a tensor of i32, got tensor<2x2xi64>}}
  %v, %i = "axh.topk"(%x) <{k = 2 : i64}> : (tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
  func.return
}

// -----

func.func @topk_values_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{values element type bf16 differs from input element type f32}}
  %v, %i = axh.topk %x {k = 2 : i64} : (tensor<2x3xf32>) -> (tensor<2x2xbf16>, tensor<2x2xi32>)
  func.return
}

// -----

// layout

func.func @reshape_count(%x: tensor<1x5x64xf32>) {
  // expected-error @+1 {{reshape from [1, 5, 64] (320 elements) to [1, 5, 4, 15] (300 elements) changes the element count}}
  %y = axh.reshape %x : tensor<1x5x64xf32> -> tensor<1x5x4x15xf32>
  func.return
}

// -----

func.func @reshape_element_type(%x: tensor<4xf32>) {
  // expected-error @+1 {{result element type i32 differs from input element type f32}}
  %y = axh.reshape %x : tensor<4xf32> -> tensor<2x2xi32>
  func.return
}

// -----

func.func @transpose_not_permutation(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{permutation [0, 0, 1] is not a permutation of 0..2 (input rank 3)}}
  %y = axh.transpose %x {permutation = array<i64: 0, 0, 1>} : tensor<2x3x4xf32> -> tensor<2x2x3xf32>
  func.return
}

// -----

func.func @transpose_result_shape(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{result shape [2, 3, 4] should be [2, 4, 3] (the input shape permuted)}}
  %y = axh.transpose %x {permutation = array<i64: 0, 2, 1>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  func.return
}

// -----

func.func @transpose_element_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result element type f16 differs from input element type f32}}
  %y = axh.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<3x2xf16>
  func.return
}

// -----

func.func @slice_axis(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range [0, 2) for rank 2}}
  %y = axh.slice %x {axis = 2 : i64, start = 0 : i64, end = 1 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return
}

// -----

func.func @slice_step(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{step must be >= 1, got 0}}
  %y = axh.slice %x {axis = 1 : i64, start = 0 : i64, end = 3 : i64, step = 0 : i64} : tensor<2x3xf32> -> tensor<2x3xf32>
  func.return
}

// -----

func.func @slice_start_after_end(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{slice [2:1] is not within 0 <= start <= end <= 3 (dimension 1)}}
  %y = axh.slice %x {axis = 1 : i64, start = 2 : i64, end = 1 : i64} : tensor<2x3xf32> -> tensor<2x0xf32>
  func.return
}

// -----

func.func @slice_end_past_dim(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{slice [0:4] is not within 0 <= start <= end <= 3 (dimension 1)}}
  %y = axh.slice %x {axis = 1 : i64, start = 0 : i64, end = 4 : i64} : tensor<2x3xf32> -> tensor<2x4xf32>
  func.return
}

// -----

func.func @slice_result_shape(%x: tensor<2x10xf32>) {
  // expected-error @+1 {{result shape [2, 4] should be [2, 3] (ceil((end - start) / step))}}
  %y = axh.slice %x {axis = 1 : i64, start = 1 : i64, end = 10 : i64, step = 4 : i64} : tensor<2x10xf32> -> tensor<2x4xf32>
  func.return
}

// -----

func.func @slice_element_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result element type bf16 differs from input element type f32}}
  %y = axh.slice %x {axis = 1 : i64, start = 0 : i64, end = 2 : i64} : tensor<2x3xf32> -> tensor<2x2xbf16>
  func.return
}

// -----

func.func @concat_no_inputs() {
  // expected-error @+1 {{concat needs at least one input}}
  %y = "axh.concat"() <{axis = 0 : i64}> : () -> tensor<2xf32>
  func.return
}

// -----

func.func @concat_axis(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range [0, 2) for rank 2}}
  %y = axh.concat %a, %a {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @concat_other_dims(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error @+1 {{input 1 has shape [2, 4] but input 0 has [2, 3]: all dimensions but 0 must match}}
  %y = axh.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @concat_rank(%a: tensor<2x3xf32>, %b: tensor<2x3x1xf32>) {
  // expected-error @+1 {{input 1 has shape [2, 3, 1] but input 0 has [2, 3]: all dimensions but 1 must match}}
  %y = axh.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3x1xf32>) -> tensor<2x6xf32>
  func.return
}

// -----

func.func @concat_element_types(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) {
  // expected-error @+1 {{input 1 element type f16 differs from input 0 element type f32}}
  %y = axh.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @concat_result_shape(%a: tensor<2x3xf32>, %b: tensor<5x3xf32>) {
  // expected-error @+1 {{result shape [4, 3] should be [7, 3] (the inputs' sum along 0)}}
  %y = axh.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<5x3xf32>) -> tensor<4x3xf32>
  func.return
}

// -----

func.func @concat_result_type(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{result element type f16 differs from input 0 element type f32}}
  %y = axh.concat %a, %a {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf16>
  func.return
}

// -----

func.func @broadcast_incompatible(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{input shape [2, 3] does not broadcast to [4, 2, 4]}}
  %y = axh.broadcast %x : tensor<2x3xf32> -> tensor<4x2x4xf32>
  func.return
}

// -----

func.func @broadcast_rank(%x: tensor<1x2x3xf32>) {
  // expected-error @+1 {{input shape [1, 2, 3] does not broadcast to [2, 3]}}
  %y = axh.broadcast %x : tensor<1x2x3xf32> -> tensor<2x3xf32>
  func.return
}

// -----

func.func @broadcast_element_type(%x: tensor<3xf32>) {
  // expected-error @+1 {{result element type bf16 differs from input element type f32}}
  %y = axh.broadcast %x : tensor<3xf32> -> tensor<2x3xbf16>
  func.return
}

// -----

func.func @iota_rank() {
  // expected-error @+1 {{result must have rank 1, got rank 2 ([2, 3])}}
  %y = axh.iota {start = 0 : i64, step = 1 : i64} : tensor<2x3xi64>
  func.return
}

// -----

func.func @iota_step() {
  // expected-error @+1 {{step must not be 0}}
  %y = axh.iota {start = 0 : i64, step = 0 : i64} : tensor<8xi64>
  func.return
}
