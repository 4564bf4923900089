// RUN: axc-opt %s -p fuse-qkv --split-input-file | filecheck %s

// q, k, v read one input: one linear over the concatenated weights and biases, then slices
// along the last axis in q, k, v order; the store names join the sources' middles.
// CHECK-LABEL: func.func @qkv_float(
// CHECK-SAME: %[[X:.*]]: tensor<1x3x64xf32>)
// CHECK-DAG: %[[W:.*]] = axh.weight "l.q+k+v_proj.weight" : tensor<96x64xf32>
// CHECK-DAG: %[[B:.*]] = axh.weight "l.q+k+v_proj.bias" : tensor<96xf32>
// CHECK: %[[Y:.*]] = axh.linear %[[X]], %[[W]], %[[B]] : (tensor<1x3x64xf32>, tensor<96x64xf32>, tensor<96xf32>) -> tensor<1x3x96xf32>
// CHECK-NEXT: %[[Q:.*]] = axh.slice %[[Y]] {axis = 2 : i64, start = 0 : i64, end = 64 : i64} : tensor<1x3x96xf32> -> tensor<1x3x64xf32>
// CHECK-NEXT: %[[K:.*]] = axh.slice %[[Y]] {axis = 2 : i64, start = 64 : i64, end = 80 : i64} : tensor<1x3x96xf32> -> tensor<1x3x16xf32>
// CHECK-NEXT: %[[V:.*]] = axh.slice %[[Y]] {axis = 2 : i64, start = 80 : i64, end = 96 : i64} : tensor<1x3x96xf32> -> tensor<1x3x16xf32>
// CHECK-NOT: axh.linear
// CHECK: func.return %[[Q]], %[[K]], %[[V]]
func.func @qkv_float(%x: tensor<1x3x64xf32>) -> (tensor<1x3x64xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>) {
  %wq = axh.weight "l.q_proj.weight" : tensor<64x64xf32>
  %bq = axh.weight "l.q_proj.bias" : tensor<64xf32>
  %wk = axh.weight "l.k_proj.weight" : tensor<16x64xf32>
  %bk = axh.weight "l.k_proj.bias" : tensor<16xf32>
  %wv = axh.weight "l.v_proj.weight" : tensor<16x64xf32>
  %bv = axh.weight "l.v_proj.bias" : tensor<16xf32>
  %q = axh.linear %x, %wq, %bq : (tensor<1x3x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<1x3x64xf32>
  %k = axh.linear %x, %wk, %bk : (tensor<1x3x64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<1x3x16xf32>
  %v = axh.linear %x, %wv, %bv : (tensor<1x3x64xf32>, tensor<16x64xf32>, tensor<16xf32>) -> tensor<1x3x16xf32>
  func.return %q, %k, %v : tensor<1x3x64xf32>, tensor<1x3x16xf32>, tensor<1x3x16xf32>
}

// -----

// After quantize: integers and their per-(channel, group) scales are concatenated by rows.
// CHECK-LABEL: func.func @qkv_s4(
// CHECK-DAG: %[[W:.*]] = axh.weight "l.q+k+v_proj.weight#s4g32" : tensor<96x64xi4>
// CHECK-DAG: %[[S:.*]] = axh.weight "l.q+k+v_proj.weight#s4g32.scale" : tensor<96x2xbf16>
// CHECK: %[[Y:.*]] = axh.linear %{{.*}}, %[[W]] scale %[[S]] : (tensor<1x1x64xbf16>, tensor<96x64xi4>, tensor<96x2xbf16>) -> tensor<1x1x96xbf16>
// CHECK-COUNT-3: axh.slice %[[Y]]
func.func @qkv_s4(%x: tensor<1x1x64xbf16>) -> (tensor<1x1x64xbf16>, tensor<1x1x16xbf16>, tensor<1x1x16xbf16>) {
  %wq = axh.weight "l.q_proj.weight#s4g32" : tensor<64x64xi4>
  %sq = axh.weight "l.q_proj.weight#s4g32.scale" : tensor<64x2xbf16>
  %wk = axh.weight "l.k_proj.weight#s4g32" : tensor<16x64xi4>
  %sk = axh.weight "l.k_proj.weight#s4g32.scale" : tensor<16x2xbf16>
  %wv = axh.weight "l.v_proj.weight#s4g32" : tensor<16x64xi4>
  %sv = axh.weight "l.v_proj.weight#s4g32.scale" : tensor<16x2xbf16>
  %q = axh.linear %x, %wq scale %sq : (tensor<1x1x64xbf16>, tensor<64x64xi4>, tensor<64x2xbf16>) -> tensor<1x1x64xbf16>
  %k = axh.linear %x, %wk scale %sk : (tensor<1x1x64xbf16>, tensor<16x64xi4>, tensor<16x2xbf16>) -> tensor<1x1x16xbf16>
  %v = axh.linear %x, %wv scale %sv : (tensor<1x1x64xbf16>, tensor<16x64xi4>, tensor<16x2xbf16>) -> tensor<1x1x16xbf16>
  func.return %q, %k, %v : tensor<1x1x64xbf16>, tensor<1x1x16xbf16>, tensor<1x1x16xbf16>
}

// -----

// Linears of different inputs, or of different weight types, stay apart; gate/up feeding a
// gated activation are left to fuse-gate-up.
// CHECK-LABEL: func.func @not_fused(
// CHECK-COUNT-4: axh.linear
// CHECK-NOT: axh.slice
func.func @not_fused(%x: tensor<1x1x64xf32>, %y: tensor<1x1x64xf32>) -> (tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x32xf32>) {
  %wa = axh.weight "a.weight" : tensor<16x64xf32>
  %wb = axh.weight "b.weight" : tensor<16x64xf32>
  %wg = axh.weight "m.gate_proj.weight" : tensor<32x64xf32>
  %wu = axh.weight "m.up_proj.weight" : tensor<32x64xf32>
  %a = axh.linear %x, %wa : (tensor<1x1x64xf32>, tensor<16x64xf32>) -> tensor<1x1x16xf32>
  %b = axh.linear %y, %wb : (tensor<1x1x64xf32>, tensor<16x64xf32>) -> tensor<1x1x16xf32>
  %g = axh.linear %x, %wg : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
  %u = axh.linear %x, %wu : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
  %s = axh.swiglu %g, %u : tensor<1x1x32xf32>
  func.return %a, %b, %s : tensor<1x1x16xf32>, tensor<1x1x16xf32>, tensor<1x1x32xf32>
}
