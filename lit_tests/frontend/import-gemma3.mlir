// RUN: axc import --input_path %inputs/tiny-gemma3_text --layer 0 --prefill_len 4 --kv_cache_len 8 2>/dev/null | filecheck %s
// RUN: axc import --input_path %inputs/tiny-gemma3_text --layer 2 --prefill_len 4 --kv_cache_len 8 2>/dev/null | filecheck %s --check-prefix=FULL

// Gemma 3 layers: (1 + w) RMSNorms (weight_offset 1) before and after attention and MLP,
// q_norm/k_norm per head, rope, GQA attention, GeGLU (tanh). Layer 0 is a sliding-window
// layer: the window mask is built in-graph from the positions and the attention carries the
// sliding_window hint; layer 2 attends to everything.

// CHECK: builtin.module attributes {axc.state = "axh", axc.layer_kind = "sliding_attention"}
// CHECK-LABEL: func.func @decode(
// CHECK-NOT: axh.unary rsqrt
// CHECK: %[[WIN:.*]] = axh.select
// CHECK: %[[N1:.*]] = axh.rms_norm %input, %{{.*}} {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x1x64xf32>
// CHECK: %[[Q:.*]] = axh.linear %[[N1]]
// CHECK: %[[QN:.*]] = axh.rms_norm %{{.*}}, %{{.*}} {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x4x1x16xf32>, tensor<16xf32>)
// CHECK: %[[KN:.*]] = axh.rms_norm %{{.*}}, %{{.*}} {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x2x1x16xf32>, tensor<16xf32>)
// CHECK: %[[QR:.*]] = axh.rope %[[QN]]
// CHECK: %[[KR:.*]] = axh.rope %[[KN]]
// CHECK: axh.attention %[[QR]], %{{.*}}, %{{.*}}, %[[WIN]] {scale = 2.500000e-01 : f32, sliding_window = 8 : i64}
// CHECK: axh.rms_norm
// CHECK: axh.add %input
// CHECK: axh.rms_norm
// CHECK: %[[GE:.*]] = axh.geglu %{{.*}}, %{{.*}} approximate = tanh : tensor<1x1x128xf32>
// CHECK: axh.linear %[[GE]]
// CHECK: axh.rms_norm
// CHECK: axh.add

// FULL: builtin.module attributes {axc.state = "axh", axc.layer_kind = "full_attention"}
// FULL-LABEL: func.func @decode(
// FULL-NOT: axh.select
// FULL-NOT: sliding_window
// FULL: axh.attention %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32} :
// FULL: axh.geglu
