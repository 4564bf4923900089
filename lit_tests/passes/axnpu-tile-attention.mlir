// RUN: axc-opt %s -p 'convert-axh-to-axnpu,axnpu-tile' | filecheck %s
// RUN: sed 's/ocm_bytes_per_core = 4_096/ocm_bytes_per_core = 65_536/' %inputs/tiny-ocm.chip > %t.chip && axc-opt %s -p 'convert-axh-to-axnpu{chip="%t.chip"},axnpu-tile,axnpu-insert-ddr-swap' | filecheck %s --check-prefix=FITS
// RUN: sed 's/ocm_bytes_per_core = 4_096/ocm_bytes_per_core = 65_536/' %inputs/tiny-ocm.chip > %t.chip && axc-opt %s -p 'convert-axh-to-axnpu{chip="%t.chip"},axnpu-tile{stream_attention=false},axnpu-insert-ddr-swap' | filecheck %s --check-prefix=WHOLE

// A 32-token prefill attention (4 query heads, 2 KV heads of 64: GQA groups of 2) with the K
// and V cache outputs. axnpu-tile computes it one KV head at a time: that head's columns of
// k, v and q (weight rows of k/v/q_proj into fresh [32, 64] / [32, 128] tiles), rope on the
// tiles, the head's K / V cache columns stored (strided), then per query head scores,
// softmax and P x V into the KV head's own [32, 128] output tile; o_proj takes K tile by KV
// head, accumulating in f32 per N tile, one cast each.
// CHECK-LABEL: axnpu.group @prefill
// CHECK:      axnpu.matmul <vocm, [[X:[0-9]+]], [32, 256], bf16>, {{.*}} -> <vocm, [[K0:[0-9]+]], [32, 32], bf16, stride 128>
// CHECK:      axnpu.matmul <vocm, [[X]], [32, 256], bf16>, {{.*}} -> <vocm, {{[0-9]+}}, [32, 32], bf16, stride 128>
// CHECK:      axnpu.matmul <vocm, [[X]], [32, 256], bf16>, {{.*}} -> <vocm, [[V0:[0-9]+]], [32, 32], bf16, stride 128>
// CHECK:      axnpu.matmul <vocm, [[X]], [32, 256], bf16>, {{.*}} -> <vocm, [[Q0:[0-9]+]], [32, 48], bf16, stride 256>
// CHECK:      axnpu.rope half <vocm, [[K0]], [32, 64], bf16> {{.*}} head_dim 64 {{.*}} -> <vocm, [[KR0:[0-9]+]], [32, 64], bf16>
// CHECK-NEXT: axnpu.rope half <vocm, [[Q0]], [32, 128], bf16> {{.*}} head_dim 64 {{.*}} -> <vocm, [[QR0:[0-9]+]], [32, 128], bf16>
// CHECK-NEXT: axnpu.dma_store <vocm, [[KR0]], 4096> -> <ddr, [[KOUT:[0-9]+]], 8064> rows 32 row_bytes 128 src_stride_bytes 128 dst_stride_bytes 256
// CHECK-NEXT: axnpu.dma_store <vocm, [[V0]], 4096> -> <ddr, [[VOUT:[0-9]+]], 8064> rows 32 row_bytes 128 src_stride_bytes 128 dst_stride_bytes 256
// CHECK-NEXT: axnpu.matmul <vocm, [[QR0]], [32, 64], bf16, stride 256>, <vocm, [[KR0]], [32, 64], bf16> -> <vocm, [[S0:[0-9]+]], [32, 32], f32>
// CHECK:      axnpu.softmax <vocm, [[S0]], [1, 32, 32], f32> mask {{.*}} -> <vocm, [[P0:[0-9]+]], [1, 32, 32], f32>
// CHECK-NEXT: axnpu.matmul <vocm, [[P0]], [32, 32], f32>, <vocm, [[V0]], [32, 64], bf16> w_kn -> <vocm, [[O0:[0-9]+]], [32, 64], bf16, stride 256>
// CHECK-NEXT: axnpu.matmul <vocm, {{[0-9]+}}, [32, 64], bf16, stride 256>, <vocm, [[KR0]], [32, 64], bf16> -> <vocm, {{[0-9]+}}, [32, 32], f32>
// CHECK-NEXT: axnpu.softmax
// CHECK-NEXT: axnpu.matmul {{.*}}, <vocm, [[V0]], [32, 64], bf16> w_kn -> <vocm, {{[0-9]+}}, [32, 64], bf16, stride 256>
// The second KV head: its own tiles, its own columns of the cache outputs.
// CHECK:      axnpu.rope half {{.*}} -> <vocm, [[KR1:[0-9]+]], [32, 64], bf16>
// CHECK-NEXT: axnpu.rope half {{.*}} -> <vocm, [[QR1:[0-9]+]], [32, 128], bf16>
// CHECK-NEXT: axnpu.dma_store <vocm, [[KR1]], 4096> -> <ddr, {{[0-9]+}}, 8064> rows 32 row_bytes 128
// CHECK-NEXT: axnpu.dma_store <vocm, {{[0-9]+}}, 4096> -> <ddr, {{[0-9]+}}, 8064> rows 32 row_bytes 128
// CHECK-NEXT: axnpu.matmul <vocm, [[QR1]], [32, 64], bf16, stride 256>, <vocm, [[KR1]], [32, 64], bf16>
// CHECK:      axnpu.matmul {{.*}} w_kn -> <vocm, [[O1:[0-9]+]], [32, 64], bf16, stride 256>
// o_proj: per N tile, K tile 0 from head 0's output tile, K tile 1 (accumulate) from head 1's.
// CHECK:      axnpu.dma_load {{.*}} rows 48 row_bytes 128 src_stride_bytes 256 dst_stride_bytes 128
// CHECK:      axnpu.matmul <vocm, [[O0]], [32, 128], bf16>, {{.*}} -> <vocm, [[ACC:[0-9]+]], [32, 48], f32>
// CHECK:      axnpu.matmul <vocm, [[O1]], [32, 128], bf16>, {{.*}} accumulate -> <vocm, [[ACC]], [32, 48], f32>
// CHECK-NEXT: axnpu.eltwise cast <vocm, [[ACC]], [32, 48], f32> -> <vocm, {{[0-9]+}}, [32, 48], bf16, stride 512>
// CHECK-NOT:  axnpu.dma_store <vocm, {{[0-9]+}}, 8192>

// With 64 KiB of OCM the per-head layout fits: nothing is spilled. The whole-activation
// layout (stream_attention=false) keeps q, k, v and the attention output whole and the DDR
// swap pass stores and reloads them.
// FITS-LABEL: axnpu.group @prefill
// FITS-NOT:   ddr_swap
// FITS:       axnpu.softmax
// FITS-NOT:   ddr_swap
// WHOLE-LABEL: axnpu.group @prefill
// WHOLE:       axnpu.buffer @ddr_swap0 : {{.*}} {kind = "scratch"}
// WHOLE:       axnpu.dma_store <ocm, {{[0-9]+}}, 16384> -> <ddr
// WHOLE:       axnpu.dma_load <ddr, {{[0-9]+}}, 16384> -> <ocm

builtin.module attributes {axc.state = "axh-quantized", axc.hidden_type = "bf16", axc.weight_type = "s8"} {
  func.func @prefill(%x: tensor<1x32x256xbf16>, %indices: tensor<1x32xui32>, %mask: tensor<1x32x32xbf16>) -> (tensor<1x32x256xbf16>, tensor<1x32x128xbf16>, tensor<1x32x128xbf16>) {
    %inv = axh.weight "inv_freq" : tensor<32xf32>
    %i64 = axh.cast %indices : tensor<1x32xui32> -> tensor<1x32xi64>
    %m4 = axh.reshape %mask : tensor<1x32x32xbf16> -> tensor<1x1x32x32xbf16>
    %p3 = axh.reshape %i64 : tensor<1x32xi64> -> tensor<1x32x1xi64>
    %pf = axh.cast %p3 : tensor<1x32x1xi64> -> tensor<1x32x1xf32>
    %f = axh.mul %pf, %inv : (tensor<1x32x1xf32>, tensor<32xf32>) -> tensor<1x32x32xf32>
    %ff = axh.concat %f, %f {axis = 2 : i64} : (tensor<1x32x32xf32>, tensor<1x32x32xf32>) -> tensor<1x32x64xf32>
    %cos = axh.unary cos %ff : tensor<1x32x64xf32>
    %sin = axh.unary sin %ff : tensor<1x32x64xf32>
    %wq = axh.weight "q.weight#s8" : tensor<256x256xi8>
    %sq = axh.weight "q.weight#s8.scale" : tensor<256x1xbf16>
    %q = axh.linear %x, %wq scale %sq : (tensor<1x32x256xbf16>, tensor<256x256xi8>, tensor<256x1xbf16>) -> tensor<1x32x256xbf16>
    %q4 = axh.reshape %q : tensor<1x32x256xbf16> -> tensor<1x32x4x64xbf16>
    %qh = axh.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x32x4x64xbf16> -> tensor<1x4x32x64xbf16>
    %wk = axh.weight "k.weight#s8" : tensor<128x256xi8>
    %sk = axh.weight "k.weight#s8.scale" : tensor<128x1xbf16>
    %k = axh.linear %x, %wk scale %sk : (tensor<1x32x256xbf16>, tensor<128x256xi8>, tensor<128x1xbf16>) -> tensor<1x32x128xbf16>
    %k4 = axh.reshape %k : tensor<1x32x128xbf16> -> tensor<1x32x2x64xbf16>
    %kh = axh.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x32x2x64xbf16> -> tensor<1x2x32x64xbf16>
    %wv = axh.weight "v.weight#s8" : tensor<128x256xi8>
    %sv = axh.weight "v.weight#s8.scale" : tensor<128x1xbf16>
    %v = axh.linear %x, %wv scale %sv : (tensor<1x32x256xbf16>, tensor<128x256xi8>, tensor<128x1xbf16>) -> tensor<1x32x128xbf16>
    %v4 = axh.reshape %v : tensor<1x32x128xbf16> -> tensor<1x32x2x64xbf16>
    %vh = axh.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x32x2x64xbf16> -> tensor<1x2x32x64xbf16>
    %qr = axh.rope %qh, %cos, %sin {rotary_dim = 64 : i64} : (tensor<1x4x32x64xbf16>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> tensor<1x4x32x64xbf16>
    %kr = axh.rope %kh, %cos, %sin {rotary_dim = 64 : i64} : (tensor<1x2x32x64xbf16>, tensor<1x32x64xf32>, tensor<1x32x64xf32>) -> tensor<1x2x32x64xbf16>
    %a = axh.attention %qr, %kr, %vh, %m4 {scale = 1.250000e-01 : f32} : (tensor<1x4x32x64xbf16>, tensor<1x2x32x64xbf16>, tensor<1x2x32x64xbf16>, tensor<1x1x32x32xbf16>) -> tensor<1x4x32x64xbf16>
    %at = axh.transpose %a {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x4x32x64xbf16> -> tensor<1x32x4x64xbf16>
    %a2 = axh.reshape %at : tensor<1x32x4x64xbf16> -> tensor<1x32x256xbf16>
    %wo = axh.weight "o.weight#s8" : tensor<256x256xi8>
    %so = axh.weight "o.weight#s8.scale" : tensor<256x1xbf16>
    %o = axh.linear %a2, %wo scale %so : (tensor<1x32x256xbf16>, tensor<256x256xi8>, tensor<256x1xbf16>) -> tensor<1x32x256xbf16>
    %kt = axh.transpose %kr {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x2x32x64xbf16> -> tensor<1x32x2x64xbf16>
    %k2 = axh.reshape %kt : tensor<1x32x2x64xbf16> -> tensor<1x32x128xbf16>
    func.return %o, %k2, %v : tensor<1x32x256xbf16>, tensor<1x32x128xbf16>, tensor<1x32x128xbf16>
  }
}
