// RUN: axc import --input_path %inputs/tiny-qwen2 --prefill_len 4 --kv_cache_len 8 2>/dev/null | filecheck %s
// RUN: axc import --input_path %inputs/tiny-qwen2 --prefill_len 4 --kv_cache_len 8 --raw 2>/dev/null | filecheck %s --check-prefix=RAW

// A Qwen2 decoder layer traced from its config alone, imported and raised by axh-raise: it
// reads as rms_norm, linear (q, k, v with biases), rope, attention (GQA: 4 query heads over
// 2 KV heads, no repeat), linear (o), add, rms_norm, linear (gate, up), swiglu, linear (down),
// add — with no pow/mean/rsqrt chain left where an rms_norm belongs.

// CHECK: builtin.module attributes {axc.state = "axh", axc.layer_kind = "full_attention"}
// CHECK-LABEL: func.func @decode(
// CHECK-SAME: %[[IN:.*]]: tensor<1x1x64xf32>, %[[IDX:.*]]: tensor<1x1xui32>, %[[MASK:.*]]: tensor<1x1x9xf32>, %[[K:.*]]: tensor<1x8x32xf32>, %[[V:.*]]: tensor<1x8x32xf32>)
// CHECK-NOT: axh.unary rsqrt
// CHECK: %[[N1:.*]] = axh.rms_norm %[[IN]], %{{.*}} {epsilon = 1.000000e-06 : f32}
// CHECK: %[[Q:.*]] = axh.linear %[[N1]], %{{.*}}, %{{.*}} : (tensor<1x1x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<1x1x64xf32>
// CHECK: %[[KN:.*]] = axh.linear %[[N1]], %{{.*}}, %{{.*}} : (tensor<1x1x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<1x1x32xf32>
// CHECK: %[[VN:.*]] = axh.linear %[[N1]], %{{.*}}, %{{.*}} : (tensor<1x1x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<1x1x32xf32>
// CHECK: %[[QR:.*]] = axh.rope %{{.*}}, %[[COS:.*]], %[[SIN:.*]] {rotary_dim = 16 : i64} : (tensor<1x4x1x16xf32>
// CHECK: %[[KR:.*]] = axh.rope %{{.*}}, %[[COS]], %[[SIN]] {rotary_dim = 16 : i64} : (tensor<1x2x1x16xf32>
// CHECK: %[[ATT:.*]] = axh.attention %[[QR]], %{{.*}}, %{{.*}}, %{{.*}} {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xf32>, tensor<1x2x9x16xf32>, tensor<1x2x9x16xf32>, tensor<1x1x1x9xf32>) -> tensor<1x4x1x16xf32>
// CHECK: %[[O:.*]] = axh.linear %{{.*}}, %{{.*}} : (tensor<1x1x64xf32>, tensor<64x64xf32>) -> tensor<1x1x64xf32>
// CHECK: %[[H:.*]] = axh.add %[[IN]], %[[O]]
// CHECK: %[[N2:.*]] = axh.rms_norm %[[H]]
// CHECK: %[[G:.*]] = axh.linear %[[N2]], %{{.*}} : (tensor<1x1x64xf32>, tensor<128x64xf32>) -> tensor<1x1x128xf32>
// CHECK: %[[U:.*]] = axh.linear %[[N2]], %{{.*}} : (tensor<1x1x64xf32>, tensor<128x64xf32>) -> tensor<1x1x128xf32>
// CHECK: %[[S:.*]] = axh.swiglu %[[G]], %[[U]] : tensor<1x1x128xf32>
// CHECK: %[[D:.*]] = axh.linear %[[S]], %{{.*}} : (tensor<1x1x128xf32>, tensor<64x128xf32>) -> tensor<1x1x64xf32>
// CHECK: %[[OUT:.*]] = axh.add %[[H]], %[[D]]
// CHECK: func.return %[[OUT]], %{{.*}}, %[[VN]] : tensor<1x1x64xf32>, tensor<1x1x32xf32>, tensor<1x1x32xf32>
// CHECK-LABEL: func.func @prefill(
// CHECK-SAME: tensor<1x4x64xf32>
// CHECK-NOT: axh.matmul
// CHECK: axh.attention

// The literal import still has the ATen shapes the raising passes remove.
// RAW-LABEL: func.func @decode(
// RAW: axh.unary square
// RAW: axh.reduce mean
// RAW: axh.unary rsqrt
// RAW: axh.matmul
// RAW: axh.unary sigmoid
