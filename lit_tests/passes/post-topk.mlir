// RUN: axc-opt %s -p 'post-topk{k=4}' --split-input-file | filecheck %s

// The post function returns (indices i32, probabilities) of the top k of the softmax over
// the whole vocabulary instead of the logits.
// CHECK-LABEL: func.func @post(
// CHECK-SAME: -> (tensor<1x1x4xi32>, tensor<1x1x4xbf16>)
// CHECK: %[[L:.*]] = axh.linear
// CHECK-NEXT: %[[P:.*]] = axh.softmax %[[L]] {axis = 2 : i64} : tensor<1x1x100xbf16>
// CHECK-NEXT: %[[V:.*]], %[[I:.*]] = axh.topk %[[P]] {k = 4 : i64} : (tensor<1x1x100xbf16>) -> (tensor<1x1x4xbf16>, tensor<1x1x4xi32>)
// CHECK-NEXT: func.return %[[I]], %[[V]] : tensor<1x1x4xi32>, tensor<1x1x4xbf16>
func.func @post(%input: tensor<1x1x64xbf16>) -> tensor<1x1x100xbf16> {
  %nw = axh.weight "model.norm.weight#bf16" : tensor<64xbf16>
  %w = axh.weight "lm_head.weight#bf16" : tensor<100x64xbf16>
  %n = axh.rms_norm %input, %nw {epsilon = 1.0e-06 : f32} : (tensor<1x1x64xbf16>, tensor<64xbf16>) -> tensor<1x1x64xbf16>
  %l = axh.linear %n, %w : (tensor<1x1x64xbf16>, tensor<100x64xbf16>) -> tensor<1x1x100xbf16>
  func.return %l : tensor<1x1x100xbf16>
}

// -----

// Before quantize, on f32 logits (gemma's final soft-capping stays in front).
// CHECK-LABEL: func.func @post_f32(
// CHECK-SAME: -> (tensor<1x1x4xi32>, tensor<1x1x4xf32>)
// CHECK: axh.unary tanh
// CHECK: axh.softmax
// CHECK: axh.topk
func.func @post_f32(%input: tensor<1x1x100xf32>) -> tensor<1x1x100xf32> {
  %t = axh.unary tanh %input : tensor<1x1x100xf32>
  func.return %t : tensor<1x1x100xf32>
}
