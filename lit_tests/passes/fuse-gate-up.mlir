// RUN: axc-opt %s -p fuse-gate-up --split-input-file | filecheck %s

// gate and up of a swiglu: one linear over [gate; up], sliced back into the two halves.
// CHECK-LABEL: func.func @swiglu_s8(
// CHECK-SAME: %[[X:.*]]: tensor<1x2x64xbf16>)
// CHECK-DAG: %[[W:.*]] = axh.weight "m.gate+up_proj.weight#s8" : tensor<256x64xi8>
// CHECK-DAG: %[[S:.*]] = axh.weight "m.gate+up_proj.weight#s8.scale" : tensor<256x1xbf16>
// CHECK: %[[Y:.*]] = axh.linear %[[X]], %[[W]] scale %[[S]] : (tensor<1x2x64xbf16>, tensor<256x64xi8>, tensor<256x1xbf16>) -> tensor<1x2x256xbf16>
// CHECK-NEXT: %[[G:.*]] = axh.slice %[[Y]] {axis = 2 : i64, start = 0 : i64, end = 128 : i64}
// CHECK-NEXT: %[[U:.*]] = axh.slice %[[Y]] {axis = 2 : i64, start = 128 : i64, end = 256 : i64}
// CHECK: axh.swiglu %[[G]], %[[U]] : tensor<1x2x128xbf16>
func.func @swiglu_s8(%x: tensor<1x2x64xbf16>) -> tensor<1x2x128xbf16> {
  %wg = axh.weight "m.gate_proj.weight#s8" : tensor<128x64xi8>
  %sg = axh.weight "m.gate_proj.weight#s8.scale" : tensor<128x1xbf16>
  %wu = axh.weight "m.up_proj.weight#s8" : tensor<128x64xi8>
  %su = axh.weight "m.up_proj.weight#s8.scale" : tensor<128x1xbf16>
  %g = axh.linear %x, %wg scale %sg : (tensor<1x2x64xbf16>, tensor<128x64xi8>, tensor<128x1xbf16>) -> tensor<1x2x128xbf16>
  %u = axh.linear %x, %wu scale %su : (tensor<1x2x64xbf16>, tensor<128x64xi8>, tensor<128x1xbf16>) -> tensor<1x2x128xbf16>
  %a = axh.swiglu %g, %u : tensor<1x2x128xbf16>
  func.return %a : tensor<1x2x128xbf16>
}

// -----

// geglu (gemma) too, on float weights.
// CHECK-LABEL: func.func @geglu_float(
// CHECK: %[[Y:.*]] = axh.linear %{{.*}}, %{{.*}} : (tensor<1x1x64xf32>, tensor<64x64xf32>) -> tensor<1x1x64xf32>
// CHECK: axh.geglu
func.func @geglu_float(%x: tensor<1x1x64xf32>) -> tensor<1x1x32xf32> {
  %wg = axh.weight "m.gate_proj.weight" : tensor<32x64xf32>
  %wu = axh.weight "m.up_proj.weight" : tensor<32x64xf32>
  %g = axh.linear %x, %wg : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
  %u = axh.linear %x, %wu : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
  %a = axh.geglu %g, %u {approximate = #axh<gelu_approximation tanh>} : tensor<1x1x32xf32>
  func.return %a : tensor<1x1x32xf32>
}

// -----

// Different weight types (s8 gate, bf16 up) cannot share one matmul: unchanged.
// CHECK-LABEL: func.func @mismatched(
// CHECK-COUNT-2: axh.linear
// CHECK-NOT: axh.slice
func.func @mismatched(%x: tensor<1x1x64xbf16>) -> tensor<1x1x32xbf16> {
  %wg = axh.weight "m.gate_proj.weight#s8" : tensor<32x64xi8>
  %sg = axh.weight "m.gate_proj.weight#s8.scale" : tensor<32x1xbf16>
  %wu = axh.weight "m.up_proj.weight#bf16" : tensor<32x64xbf16>
  %g = axh.linear %x, %wg scale %sg : (tensor<1x1x64xbf16>, tensor<32x64xi8>, tensor<32x1xbf16>) -> tensor<1x1x32xbf16>
  %u = axh.linear %x, %wu : (tensor<1x1x64xbf16>, tensor<32x64xbf16>) -> tensor<1x1x32xbf16>
  %a = axh.swiglu %g, %u : tensor<1x1x32xbf16>
  func.return %a : tensor<1x1x32xbf16>
}
