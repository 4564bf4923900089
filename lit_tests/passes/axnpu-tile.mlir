// RUN: axc-opt %s -p 'convert-axh-to-axnpu,axnpu-tile' --split-input-file | filecheck %s
// RUN: axc-opt %s -p 'convert-axh-to-axnpu{chip="%inputs/tiny-ocm.chip"},axnpu-tile' --split-input-file | filecheck %s --check-prefix=TINY

// A linear on the AX650 (2 MiB OCM per core): the weight fits, but N is split so that each of
// the 6 CONV units gets a tile; each tile's weight and scale rows are their own DMAs into
// fresh vocm, right before the tile's matmul.
// CHECK-LABEL: axnpu.group @linear index 0
// CHECK:      axnpu.dma_load <ddr, 0, 4096> -> <vocm, [[W0:[0-9]+]], 4096>
// CHECK-NEXT: axnpu.dma_load <ddr, 24576, 32> -> <vocm, [[S0:[0-9]+]], 32>
// CHECK-NEXT: axnpu.matmul <vocm, 0, [2, 256], bf16>, <vocm, [[W0]], [16, 256], s8> scale <vocm, [[S0]], [16, 1], bf16> -> <vocm, [[O:[0-9]+]], [2, 16], bf16, stride 192>
// CHECK-NEXT: axnpu.dma_load <ddr, 4096, 4096>
// CHECK-NEXT: axnpu.dma_load <ddr, 24608, 32>
// CHECK-NEXT: axnpu.matmul
// CHECK-COUNT-4: axnpu.matmul <vocm, 0, [2, 256], bf16>, {{.*}} -> <vocm, {{[0-9]+}}, [2, 16], bf16, stride 192>
// CHECK-NOT:  axnpu.matmul
// CHECK:      axnpu.dma_store <vocm, [[O]], 384>
// With a 4 KiB OCM (a 1365-byte tile budget) 16 weight rows of K = 256 do not fit: K is split
// in 64-wide tiles accumulating into an f32 temporary, N in tiles of 9 rows; one cast per N
// tile writes the bf16 result.
// TINY-LABEL: axnpu.group @linear index 0
// TINY:      axnpu.dma_load <ddr, 0, 2112> -> <vocm, [[W:[0-9]+]], 576> rows 9 row_bytes 64 src_stride_bytes 256 dst_stride_bytes 64
// TINY-NEXT: axnpu.dma_load <ddr, 24576, 18> -> <vocm, [[S:[0-9]+]], 18>
// TINY-NEXT: axnpu.matmul <vocm, 0, [2, 64], bf16, stride 512>, <vocm, [[W]], [9, 64], s8> scale <vocm, [[S]], [9, 1], bf16> -> <vocm, [[ACC:[0-9]+]], [2, 9], f32, stride 384>
// TINY-NEXT: axnpu.dma_load <ddr, 64, 2112> -> <vocm, [[W1:[0-9]+]], 576> rows 9
// TINY-NEXT: axnpu.matmul <vocm, 128, [2, 64], bf16, stride 512>, <vocm, [[W1]], [9, 64], s8> scale <vocm, [[S]], [9, 1], bf16> accumulate -> <vocm, [[ACC]], [2, 9], f32, stride 384>
// TINY-NEXT: axnpu.dma_load <ddr, 128, 2112>
// TINY-NEXT: axnpu.matmul <vocm, 256, [2, 64], bf16, stride 512>, {{.*}} accumulate -> <vocm, [[ACC]], [2, 9], f32, stride 384>
// TINY-NEXT: axnpu.dma_load <ddr, 192, 2112>
// TINY-NEXT: axnpu.matmul <vocm, 384, [2, 64], bf16, stride 512>, {{.*}} accumulate -> <vocm, [[ACC]], [2, 9], f32, stride 384>
// TINY-NEXT: axnpu.eltwise cast <vocm, [[ACC]], [2, 9], f32, stride 384> -> <vocm, {{[0-9]+}}, [2, 9], bf16, stride 192>
// TINY-NEXT: axnpu.dma_load <ddr, 2304, 2112>
// TINY-COUNT-40: axnpu.matmul
// TINY-NOT:  axnpu.matmul
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @linear(%input: tensor<1x2x256xbf16>) -> tensor<1x2x96xbf16> {
    %w = axh.weight "l.weight#s8" : tensor<96x256xi8>
    %s = axh.weight "l.weight#s8.scale" : tensor<96x1xbf16>
    %y = axh.linear %input, %w scale %s : (tensor<1x2x256xbf16>, tensor<96x256xi8>, tensor<96x1xbf16>) -> tensor<1x2x96xbf16>
    func.return %y : tensor<1x2x96xbf16>
  }
}

// -----

// TENG ops split by rows when their operands exceed the budget (tiny OCM: one row of x and
// out per tile), and DMAs split into budget-sized chunks; on the AX650 they stay whole. Each
// load chunk sinks to just before the first row that reads it (sink_copies).
// CHECK-LABEL: axnpu.group @norm index 0
// CHECK:      axnpu.dma_load <ddr, {{[0-9]+}}, 4096> -> <vocm, 0, 4096>
// CHECK:      axnpu.rms_norm <vocm, 0, [1, 8, 256], bf16>
// CHECK-NOT:  axnpu.rms_norm
// TINY-LABEL: axnpu.group @norm index 0
// TINY:      axnpu.dma_load <ddr, {{[0-9]+}}, 1344> -> <vocm, 0, 1344>
// TINY-NEXT: axnpu.dma_load <ddr, 0, 512> -> <vocm, 4096, 512>
// TINY-NEXT: axnpu.rms_norm <vocm, 0, [1, 256], bf16> weight <vocm, 4096, [256], bf16> eps 1.000000e-06 -> <vocm, 4608, [1, 256], bf16>
// TINY-NEXT: axnpu.rms_norm <vocm, 512, [1, 256], bf16> weight <vocm, 4096, [256], bf16> eps 1.000000e-06 -> <vocm, 5120, [1, 256], bf16>
// TINY-NEXT: axnpu.dma_load <ddr, {{[0-9]+}}, 1344> -> <vocm, 1344, 1344>
// TINY-NEXT: axnpu.rms_norm <vocm, 1024, [1, 256], bf16>
// TINY-COUNT-2: axnpu.rms_norm
// TINY-NEXT: axnpu.dma_load <ddr, {{[0-9]+}}, 1344> -> <vocm, 2688, 1344>
// TINY-COUNT-2: axnpu.rms_norm
// TINY-NEXT: axnpu.dma_load <ddr, {{[0-9]+}}, 64> -> <vocm, 4032, 64>
// TINY-NEXT: axnpu.rms_norm
// TINY-NEXT: axnpu.dma_store <vocm, 4608, 1344>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @norm(%input: tensor<1x8x256xbf16>) -> tensor<1x8x256xbf16> {
    %nw = axh.weight "n.weight#bf16" : tensor<256xbf16>
    %n = axh.rms_norm %input, %nw {epsilon = 1.000000e-06 : f32} : (tensor<1x8x256xbf16>, tensor<256xbf16>) -> tensor<1x8x256xbf16>
    func.return %n : tensor<1x8x256xbf16>
  }
}
