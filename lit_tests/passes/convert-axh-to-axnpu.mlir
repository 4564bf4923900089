// RUN: axc-opt %s -p convert-axh-to-axnpu --split-input-file | filecheck %s
// RUN: axc-opt %s -p 'convert-axh-to-axnpu{chip="%inputs/tiny-ocm.chip"}' --split-input-file | filecheck %s --check-prefix=CHIP

// One group per func, in func order (decode first). Weights are DDR buffers named as the
// weight-store entry, at the same offset in every group; graph inputs and outputs follow.
// A linear loads its input, weight, scale and bias into vocm and runs one (untiled) matmul.
// CHECK-LABEL: axnpu.program @model chip "AX650" ocm_bytes 2097152
// CHECK-SAME: cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1
// CHECK:      axnpu.group @decode index 0 {
// CHECK-NEXT:   axnpu.buffer @input : #axnpu.view<ddr, 4096, [1, 2, 64], bf16> {kind = "input"}
// CHECK-NEXT:   axnpu.buffer @"l.weight#s8" : #axnpu.view<ddr, 0, [32, 64], s8> {kind = "weight", weight = "l.weight#s8"}
// CHECK-NEXT:   axnpu.buffer @"l.weight#s8.scale" : #axnpu.view<ddr, 2048, [32, 1], bf16> {kind = "weight", weight = "l.weight#s8.scale"}
// CHECK-NEXT:   axnpu.buffer @"l.bias#bf16" : #axnpu.view<ddr, 2112, [32], bf16> {kind = "weight", weight = "l.bias#bf16"}
// CHECK-NEXT:   axnpu.buffer @output : #axnpu.view<ddr, 4352, [1, 2, 32], bf16> {kind = "output"}
// CHECK-NEXT:   axnpu.dma_load <ddr, 4096, 256> -> <vocm, 0, 256>
// CHECK-NEXT:   axnpu.dma_load <ddr, 0, 2048> -> <vocm, 256, 2048>
// CHECK-NEXT:   axnpu.dma_load <ddr, 2048, 64> -> <vocm, 2304, 64>
// CHECK-NEXT:   axnpu.dma_load <ddr, 2112, 64> -> <vocm, 2368, 64>
// CHECK-NEXT:   axnpu.matmul <vocm, 0, [2, 64], bf16>, <vocm, 256, [32, 64], s8> scale <vocm, 2304, [32, 1], bf16> bias <vocm, 2368, [32], bf16> -> <vocm, 2432, [2, 32], bf16>
// CHECK-NEXT:   axnpu.dma_store <vocm, 2432, 128> -> <ddr, 4352, 128>
// CHECK-NEXT: }
// CHECK-NEXT: axnpu.group @prefill index 1 {
// CHECK:        axnpu.buffer @"l.weight#s8" : #axnpu.view<ddr, 0, [32, 64], s8>
// CHECK:        axnpu.matmul <vocm, 0, [8, 64], bf16>, <vocm, 1024, [32, 64], s8> scale <vocm, 3072, [32, 1], bf16> -> <vocm, 3136, [8, 32], bf16>
// The chip option takes a chip file; the program carries its facts.
// CHIP-LABEL: axnpu.program @model chip "TINYOCM" ocm_bytes 4096
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @decode(%input: tensor<1x2x64xbf16>) -> tensor<1x2x32xbf16> {
    %w = axh.weight "l.weight#s8" : tensor<32x64xi8>
    %s = axh.weight "l.weight#s8.scale" : tensor<32x1xbf16>
    %b = axh.weight "l.bias#bf16" : tensor<32xbf16>
    %y = axh.linear %input, %w, %b scale %s : (tensor<1x2x64xbf16>, tensor<32x64xi8>, tensor<32xbf16>, tensor<32x1xbf16>) -> tensor<1x2x32xbf16>
    func.return %y : tensor<1x2x32xbf16>
  }
  func.func @prefill(%input: tensor<1x8x64xbf16>) -> tensor<1x8x32xbf16> {
    %w = axh.weight "l.weight#s8" : tensor<32x64xi8>
    %s = axh.weight "l.weight#s8.scale" : tensor<32x1xbf16>
    %y = axh.linear %input, %w scale %s : (tensor<1x8x64xbf16>, tensor<32x64xi8>, tensor<32x1xbf16>) -> tensor<1x8x32xbf16>
    func.return %y : tensor<1x8x32xbf16>
  }
}

// -----

// s4 weights with group scales: group_size is K / G. A DDR input used twice is loaded once.
// CHECK-LABEL: axnpu.group @mlp index 0
// CHECK:      axnpu.dma_load <ddr, [[IN:[0-9]+]], 512> -> <vocm, 0, 512>
// CHECK:      axnpu.rms_norm <vocm, 0, [1, 2, 128], bf16> weight <vocm, {{[0-9]+}}, [128], bf16> weight_offset 1.000000e+00 eps 1.000000e-06 -> <vocm, [[N:[0-9]+]], [1, 2, 128], bf16>
// CHECK:      axnpu.matmul <vocm, [[N]], [2, 128], bf16>, <vocm, {{[0-9]+}}, [64, 128], s4> scale <vocm, {{[0-9]+}}, [64, 4], bf16> group_size 32 -> <vocm, [[G:[0-9]+]], [2, 64], bf16>
// CHECK:      axnpu.matmul <vocm, [[N]], [2, 128], bf16>, <vocm, {{[0-9]+}}, [64, 128], s4> scale <vocm, {{[0-9]+}}, [64, 4], bf16> group_size 32 -> <vocm, [[U:[0-9]+]], [2, 64], bf16>
// CHECK:      axnpu.eltwise swiglu <vocm, [[G]], [1, 2, 64], bf16>, <vocm, [[U]], [1, 2, 64], bf16> -> <vocm, [[S:[0-9]+]], [1, 2, 64], bf16>
// The concat copies each input into its slice of a fresh temporary.
// CHECK-NEXT: axnpu.dma_copy <vocm, [[S]], 256> -> <vocm, [[C:[0-9]+]], 384> rows 2 row_bytes 128 src_stride_bytes 128 dst_stride_bytes 256
// CHECK-NEXT: axnpu.dma_copy <vocm, [[S]], 256>
// CHECK-NOT:  axnpu.dma_load <ddr, [[IN]]
// CHECK:      axnpu.eltwise add <vocm, 0, [1, 2, 128], bf16>, <vocm, [[C]], [1, 2, 128], bf16>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @mlp(%input: tensor<1x2x128xbf16>) -> tensor<1x2x128xbf16> {
    %nw = axh.weight "n.weight#bf16" : tensor<128xbf16>
    %n = axh.rms_norm %input, %nw {epsilon = 1.000000e-06 : f32, weight_offset = 1.000000e+00 : f32} : (tensor<1x2x128xbf16>, tensor<128xbf16>) -> tensor<1x2x128xbf16>
    %gw = axh.weight "g.weight#s4g32" : tensor<64x128xi4>
    %gs = axh.weight "g.weight#s4g32.scale" : tensor<64x4xbf16>
    %g = axh.linear %n, %gw scale %gs : (tensor<1x2x128xbf16>, tensor<64x128xi4>, tensor<64x4xbf16>) -> tensor<1x2x64xbf16>
    %uw = axh.weight "u.weight#s4g32" : tensor<64x128xi4>
    %us = axh.weight "u.weight#s4g32.scale" : tensor<64x4xbf16>
    %u = axh.linear %n, %uw scale %us : (tensor<1x2x128xbf16>, tensor<64x128xi4>, tensor<64x4xbf16>) -> tensor<1x2x64xbf16>
    %a = axh.swiglu %g, %u : tensor<1x2x64xbf16>
    %r = axh.reshape %a : tensor<1x2x64xbf16> -> tensor<1x2x64xbf16>
    %c = axh.concat %r, %r {axis = 2 : i64} : (tensor<1x2x64xbf16>, tensor<1x2x64xbf16>) -> tensor<1x2x128xbf16>
    %o = axh.add %input, %c : (tensor<1x2x128xbf16>, tensor<1x2x128xbf16>) -> tensor<1x2x128xbf16>
    func.return %o : tensor<1x2x128xbf16>
  }
}

// -----

// Rope tables built from positions (cos/sin of cat(f, f), f = indices * inv_freq) become
// one axnpu.rope on the token-major [T, heads * head_dim] projection (cos/sin kept f32 like
// the f32 tables, `tables "f32"`); the dead table ops vanish. The head-major view of the
// input is loaded as one flat block and used in place.
// CHECK-LABEL: axnpu.group @rope index 0
// CHECK-NOT:  axnpu.eltwise cos
// CHECK:      axnpu.rope half <vocm, [[Q:[0-9]+]], [4, 32], bf16> positions <vocm, {{[0-9]+}}, [4], u32> inv_freq <vocm, {{[0-9]+}}, [8], f32> head_dim 16 tables "f32" -> <vocm, [[R:[0-9]+]], [4, 32], bf16>
// CHECK-NEXT: axnpu.dma_store <vocm, [[R]], 256> -> <ddr, {{[0-9]+}}, 256>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @rope(%input: tensor<1x4x32xbf16>, %indices: tensor<1x4xui32>) -> tensor<1x4x32xbf16> {
    %f = axh.weight "rotary.inv_freq" : tensor<8xf32>
    %p = axh.cast %indices : tensor<1x4xui32> -> tensor<1x4xi64>
    %p3 = axh.reshape %p : tensor<1x4xi64> -> tensor<1x4x1xi64>
    %pf = axh.cast %p3 : tensor<1x4x1xi64> -> tensor<1x4x1xf32>
    %ang = axh.mul %pf, %f : (tensor<1x4x1xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
    %e = axh.concat %ang, %ang {axis = 2 : i64} : (tensor<1x4x8xf32>, tensor<1x4x8xf32>) -> tensor<1x4x16xf32>
    %cos = axh.unary cos %e : tensor<1x4x16xf32>
    %sin = axh.unary sin %e : tensor<1x4x16xf32>
    %x = axh.reshape %input : tensor<1x4x32xbf16> -> tensor<1x4x2x16xbf16>
    %xt = axh.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x4x2x16xbf16> -> tensor<1x2x4x16xbf16>
    %y = axh.rope %xt, %cos, %sin {rotary_dim = 16 : i64} : (tensor<1x2x4x16xbf16>, tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x2x4x16xbf16>
    %yt = axh.transpose %y {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x2x4x16xbf16> -> tensor<1x4x2x16xbf16>
    %o = axh.reshape %yt : tensor<1x4x2x16xbf16> -> tensor<1x4x32xbf16>
    func.return %o : tensor<1x4x32xbf16>
  }
}

// -----

// Rope with arbitrary tables: the generic element-wise form (x * cos + rotate(x) * sin).
// CHECK-LABEL: axnpu.group @rope_tables index 0
// CHECK:      axnpu.eltwise neg
// CHECK:      axnpu.eltwise cast
// CHECK:      axnpu.eltwise mul {{.*}} -> <vocm, {{[0-9]+}}, [1, 2, 4, 16], f32>
// CHECK:      axnpu.eltwise mul {{.*}} -> <vocm, {{[0-9]+}}, [1, 2, 4, 16], f32>
// CHECK:      axnpu.eltwise add {{.*}} -> <vocm, {{[0-9]+}}, [1, 2, 4, 16], bf16>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @rope_tables(%x: tensor<1x2x4x16xbf16>, %cos: tensor<1x4x16xf32>, %sin: tensor<1x4x16xf32>) -> tensor<1x2x4x16xbf16> {
    %y = axh.rope %x, %cos, %sin {rotary_dim = 16 : i64} : (tensor<1x2x4x16xbf16>, tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x2x4x16xbf16>
    func.return %y : tensor<1x2x4x16xbf16>
  }
}

// -----

// Decode attention with GQA (4 query heads over 2 KV heads) against a KV cache: the cache
// rows are loaded straight into the concatenated K/V (one strided DMA per KV head), then per
// KV head the group's query rows form one QK^T matmul (f32 scores), a softmax with scale and
// mask, and one PV matmul (w_kn) writing the token-major output.
// CHECK-LABEL: axnpu.group @decode index 0
// CHECK:      axnpu.dma_load <ddr, {{[0-9]+}}, 416> -> <vocm, [[K0:[0-9]+]], 224> rows 7 row_bytes 32 src_stride_bytes 64 dst_stride_bytes 32
// CHECK:      axnpu.matmul <vocm, {{[0-9]+}}, [2, 16], bf16>, <vocm, [[K0]], [8, 16], bf16> -> <vocm, [[S0:[0-9]+]], [2, 8], f32>
// CHECK-NEXT: axnpu.softmax <vocm, [[S0]], [2, 1, 8], f32> mask <vocm, {{[0-9]+}}, [1, 8], bf16> scale 2.500000e-01 -> <vocm, [[P0:[0-9]+]], [2, 1, 8], f32>
// CHECK-NEXT: axnpu.matmul <vocm, [[P0]], [2, 8], f32>, <vocm, {{[0-9]+}}, [8, 16], bf16> w_kn -> <vocm, [[O:[0-9]+]], [2, 16], bf16>
// CHECK:      axnpu.matmul
// CHECK-NEXT: axnpu.softmax
// CHECK-NEXT: axnpu.matmul
// CHECK:      axnpu.dma_store <vocm, [[O]], 128>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @decode(%q: tensor<1x4x1x16xbf16>, %knew: tensor<1x2x1x16xbf16>, %vnew: tensor<1x2x1x16xbf16>, %mask: tensor<1x1x8xbf16>, %K_cache: tensor<1x7x32xbf16>, %V_cache: tensor<1x7x32xbf16>) -> tensor<1x1x64xbf16> {
    %k0 = axh.reshape %K_cache : tensor<1x7x32xbf16> -> tensor<1x7x2x16xbf16>
    %k1 = axh.transpose %k0 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x7x2x16xbf16> -> tensor<1x2x7x16xbf16>
    %v0 = axh.reshape %V_cache : tensor<1x7x32xbf16> -> tensor<1x7x2x16xbf16>
    %v1 = axh.transpose %v0 {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x7x2x16xbf16> -> tensor<1x2x7x16xbf16>
    %k = axh.concat %k1, %knew {axis = 2 : i64} : (tensor<1x2x7x16xbf16>, tensor<1x2x1x16xbf16>) -> tensor<1x2x8x16xbf16>
    %v = axh.concat %v1, %vnew {axis = 2 : i64} : (tensor<1x2x7x16xbf16>, tensor<1x2x1x16xbf16>) -> tensor<1x2x8x16xbf16>
    %m = axh.reshape %mask : tensor<1x1x8xbf16> -> tensor<1x1x1x8xbf16>
    %a = axh.attention %q, %k, %v, %m {scale = 2.500000e-01 : f32} : (tensor<1x4x1x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x2x8x16xbf16>, tensor<1x1x1x8xbf16>) -> tensor<1x4x1x16xbf16>
    %t = axh.transpose %a {permutation = array<i64: 0, 2, 1, 3>} : tensor<1x4x1x16xbf16> -> tensor<1x1x4x16xbf16>
    %o = axh.reshape %t : tensor<1x1x4x16xbf16> -> tensor<1x1x64xbf16>
    func.return %o : tensor<1x1x64xbf16>
  }
}

// -----

// The generic element-wise lowering: gemma's sliding-window mask from positions with iota,
// compare and select. Scalar constants become immediates; tensors become constant buffers.
// CHECK-LABEL: axnpu.group @window index 0
// CHECK:      axnpu.buffer @window.const_0 : #axnpu.view<ddr, {{[0-9]+}}, [8], i32> {kind = "weight", data = "0000000001000000
// CHECK:      axnpu.eltwise sub
// CHECK:      axnpu.eltwise cmp_ge {{.*}} scalar 4.000000e+00 -> <vocm, {{[0-9]+}}, [1, 8], s8>
// CHECK:      axnpu.eltwise select <vocm, {{[0-9]+}}, [1, 1, 8], s8>, <vocm, {{[0-9]+}}, [1], bf16> else <vocm, {{[0-9]+}}, [1, 1, 8], bf16> -> <vocm, {{[0-9]+}}, [1, 1, 8], bf16>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @window(%indices: tensor<1x1xui32>, %mask: tensor<1x1x8xbf16>) -> tensor<1x1x8xbf16> {
    %i = axh.iota {start = 0 : i64, step = 1 : i64} : tensor<8xi64>
    %p = axh.cast %indices : tensor<1x1xui32> -> tensor<1x1xi64>
    %d = axh.sub %p, %i : (tensor<1x1xi64>, tensor<8xi64>) -> tensor<1x8xi64>
    %w = axh.constant dense<4> : tensor<i64>
    %c = axh.compare ge %d, %w : (tensor<1x8xi64>, tensor<i64>) -> tensor<1x8xi1>
    %c3 = axh.reshape %c : tensor<1x8xi1> -> tensor<1x1x8xi1>
    %neg = axh.constant dense<-6.553600e+04> : tensor<bf16>
    %o = axh.select %c3, %neg, %mask : (tensor<1x1x8xi1>, tensor<bf16>, tensor<1x1x8xbf16>) -> tensor<1x1x8xbf16>
    func.return %o : tensor<1x1x8xbf16>
  }
}

// -----

// post-topk: softmax over the vocabulary, then one top-k instruction; the two results are
// the `indices` and `probs` output buffers.
// CHECK-LABEL: axnpu.group @post index 0
// CHECK:      axnpu.buffer @indices : #axnpu.view<ddr, {{[0-9]+}}, [1, 1, 4], i32> {kind = "output"}
// CHECK-NEXT: axnpu.buffer @probs : #axnpu.view<ddr, {{[0-9]+}}, [1, 1, 4], bf16> {kind = "output"}
// CHECK:      axnpu.softmax <vocm, 0, [1, 1, 16], bf16> -> <vocm, [[P:[0-9]+]], [1, 1, 16], bf16>
// CHECK-NEXT: axnpu.topk <vocm, [[P]], [1, 1, 16], bf16> k 4 -> <vocm, [[V:[0-9]+]], [1, 1, 4], bf16>, <vocm, [[I:[0-9]+]], [1, 1, 4], i32>
// CHECK-NEXT: axnpu.dma_store <vocm, [[I]], 16>
// CHECK-NEXT: axnpu.dma_store <vocm, [[V]], 8>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @post(%input: tensor<1x1x16xbf16>) -> (tensor<1x1x4xi32>, tensor<1x1x4xbf16>) {
    %p = axh.softmax %input {axis = 2 : i64} : tensor<1x1x16xbf16>
    %top:2 = axh.topk %p {k = 4 : i64} : (tensor<1x1x16xbf16>) -> (tensor<1x1x4xbf16>, tensor<1x1x4xi32>)
    func.return %top#1, %top#0 : tensor<1x1x4xi32>, tensor<1x1x4xbf16>
  }
}
