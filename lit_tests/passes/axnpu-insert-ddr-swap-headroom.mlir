// RUN: axc-opt %s -p 'axnpu-insert-ddr-swap{ocm-bytes=6336 far-use=2 headroom=0.5}' | filecheck %s
// RUN: axc-opt %s -p 'axnpu-insert-ddr-swap{ocm-bytes=6336 far-use=1000}' | filecheck %s --check-prefix=NOROOM

// x, two 2 KiB residual inputs read only at the end, and four 2 KiB weight tiles streamed
// through matmuls, in 6336 bytes of OCM: the first tile does not fit. Belady evicts one
// residual (the one used last), which is enough for this request. With headroom (half the
// OCM here) the other residual, whose next use is far too, goes as well: the tiles then
// alternate between two ranges (a ring: the load of tile k + 1 need not wait for tile k's
// matmul), at the price of reloading that residual once at the end.
// CHECK-LABEL: axnpu.group @prefill
// CHECK:      axnpu.dma_load <ddr, 4096, 2048> -> <ocm, [[T0:[0-9]+]], 2048>
// CHECK:      axnpu.dma_load <ddr, 6144, 2048> -> <ocm, [[T1:[0-9]+]], 2048>
// CHECK:      axnpu.dma_load <ddr, 8192, 2048> -> <ocm, [[T2:[0-9]+]], 2048>
// CHECK-NOT:  <ocm, [[T1]], 2048>
// CHECK:      axnpu.matmul <ocm, 0, [1, 64], bf16>, <ocm, [[T2]], [16, 64], bf16>
// CHECK-NEXT: axnpu.dma_load <ddr, 10240, 2048> -> <ocm, [[T1]], 2048>
// CHECK:      axnpu.dma_load <ddr, 12416, 2048>
// CHECK:      axnpu.dma_load <ddr, 14464, 2048>
// CHECK:      axnpu.dma_store
// Without headroom every tile after the first lands on the previous tile's range.
// NOROOM-LABEL: axnpu.group @prefill
// NOROOM:      axnpu.dma_load <ddr, 6144, 2048> -> <ocm, [[T:[0-9]+]], 2048>
// NOROOM:      axnpu.dma_load <ddr, 8192, 2048> -> <ocm, [[T]], 2048>
// NOROOM:      axnpu.dma_load <ddr, 10240, 2048> -> <ocm, [[T]], 2048>
// NOROOM-NOT:  axnpu.dma_load <ddr, 12416, 2048>
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @stream chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @prefill index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 64], bf16> {kind = "input"}
      axnpu.buffer @residual : #axnpu.view<ddr, 12416, [2, 1024], bf16> {kind = "input"}
      axnpu.buffer @w : #axnpu.view<ddr, 4096, [64, 64], bf16> {kind = "weight"}
      axnpu.buffer @output : #axnpu.view<ddr, 12288, [1, 64], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 128> -> <vocm, 0, 128>
      axnpu.dma_load <ddr, 12416, 2048> -> <vocm, 9472, 2048>
      axnpu.dma_load <ddr, 14464, 2048> -> <vocm, 11584, 2048>
      axnpu.dma_load <ddr, 4096, 2048> -> <vocm, 1024, 2048>
      axnpu.matmul <vocm, 0, [1, 64], bf16>, <vocm, 1024, [16, 64], bf16> -> <vocm, 512, [1, 16], bf16>
      axnpu.dma_load <ddr, 6144, 2048> -> <vocm, 3136, 2048>
      axnpu.matmul <vocm, 0, [1, 64], bf16>, <vocm, 3136, [16, 64], bf16> -> <vocm, 544, [1, 16], bf16>
      axnpu.dma_load <ddr, 8192, 2048> -> <vocm, 5248, 2048>
      axnpu.matmul <vocm, 0, [1, 64], bf16>, <vocm, 5248, [16, 64], bf16> -> <vocm, 576, [1, 16], bf16>
      axnpu.dma_load <ddr, 10240, 2048> -> <vocm, 7360, 2048>
      axnpu.matmul <vocm, 0, [1, 64], bf16>, <vocm, 7360, [16, 64], bf16> -> <vocm, 608, [1, 16], bf16>
      axnpu.eltwise add <vocm, 512, [1, 64], bf16>, <vocm, 9472, [1, 64], bf16> -> <vocm, 640, [1, 64], bf16>
      axnpu.eltwise add <vocm, 640, [1, 64], bf16>, <vocm, 11584, [1, 64], bf16> -> <vocm, 768, [1, 64], bf16>
      axnpu.dma_store <vocm, 768, 128> -> <ddr, 12288, 128>
    }
  }
}
