// RUN: axc-opt %s -p 'convert-axh-to-axnpu,axnpu-tile,axnpu-build-ops' --split-input-file | filecheck %s
// RUN: axc-opt %s -p 'convert-axh-to-axnpu{chip="%inputs/tiny-ocm.chip"},axnpu-tile,axnpu-build-ops' --split-input-file | filecheck %s --check-prefix=TINY

// Tiles of whole weight rows are already contiguous: the weight stays row-major. Every
// instruction gets its cost-model cycles.
// CHECK-LABEL: axnpu.group @linear index 0
// CHECK:      axnpu.buffer @"l.weight#s8" : #axnpu.view<ddr, 0, [96, 256], s8> {kind = "weight", weight = "l.weight#s8", layout = "row_major"}
// CHECK:      axnpu.buffer @"l.weight#s8.scale" : #axnpu.view<ddr, 24576, [96, 1], bf16> {kind = "weight", weight = "l.weight#s8.scale", layout = "row_major"}
// CHECK:      axnpu.dma_load <ddr, 0, 4096> -> <vocm, {{[0-9]+}}, 4096> cycles {{[0-9]+}}
// CHECK:      axnpu.matmul {{.*}} cycles {{[0-9]+}}
// With K split (tiny OCM) the weight is stored tile by tile ([9, 64] tiles, n-major): each
// tile's DMA becomes one contiguous read of 576 bytes, at the tile's place in the buffer.
// TINY-LABEL: axnpu.group @linear index 0
// TINY:      axnpu.buffer @"l.weight#s8" : #axnpu.view<ddr, 0, [96, 256], s8> {kind = "weight", weight = "l.weight#s8", tile_shape = array<i64: 9, 64>, layout = "tiles"}
// TINY:      axnpu.buffer @"l.weight#s8.scale" : {{.*}} layout = "row_major"}
// TINY:      axnpu.dma_load <ddr, 0, 576> -> <vocm, [[W0:[0-9]+]], 576> cycles
// TINY-NEXT: axnpu.dma_load <ddr, 24576, 18>
// TINY-NEXT: axnpu.matmul <vocm, 0, [2, 64], bf16, stride 512>, <vocm, [[W0]], [9, 64], s8>
// TINY-NEXT: axnpu.dma_load <ddr, 576, 576> -> <vocm, {{[0-9]+}}, 576> cycles
// TINY-NEXT: axnpu.matmul
// TINY-NEXT: axnpu.dma_load <ddr, 1152, 576>
// TINY:      axnpu.dma_load <ddr, 2304, 576>
// The last row of tiles has 96 - 10 * 9 = 6 rows: 384-byte tiles.
// TINY:      axnpu.dma_load <ddr, 23040, 384> -> <vocm, {{[0-9]+}}, 384>
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @linear(%input: tensor<1x2x256xbf16>) -> tensor<1x2x96xbf16> {
    %w = axh.weight "l.weight#s8" : tensor<96x256xi8>
    %s = axh.weight "l.weight#s8.scale" : tensor<96x1xbf16>
    %y = axh.linear %input, %w scale %s : (tensor<1x2x256xbf16>, tensor<96x256xi8>, tensor<96x1xbf16>) -> tensor<1x2x96xbf16>
    func.return %y : tensor<1x2x96xbf16>
  }
}
