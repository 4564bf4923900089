// RUN: axc-opt %s -p axnpu-insert-ddr-swap --split-input-file | filecheck %s
// RUN: axc-opt %s -p 'axnpu-insert-ddr-swap{ocm-bytes=4608}' --split-input-file | filecheck %s --check-prefix=TINY

// An MLP-shaped decode program: x and its norm, two weight tiles (s8 + scales) streamed
// into their own vocm temporaries, two matmuls writing the two halves of one [1, 128]
// temporary (merged into one temporary because silu reads it whole), then a residual add.
//
// Plenty of OCM: every temporary gets its own 64-byte aligned range while it is live,
// no vocm is left and no swap is inserted.
// CHECK-LABEL: axnpu.program @mlp
// CHECK-NOT: vocm
// CHECK-NOT: ddr_swap
// CHECK: axnpu.dma_load <ddr, 0, 128> -> <ocm, 0, 128>
// CHECK-NEXT: axnpu.rms_norm <ocm, 0, [1, 64], bf16> eps 1.000000e-06 -> <ocm, 128, [1, 64], bf16>
// CHECK-NEXT: axnpu.dma_load <ddr, 128, 4096> -> <ocm, [[W0:[0-9]+]], 4096>
// CHECK-NEXT: axnpu.dma_load <ddr, 8320, 128> -> <ocm, [[S0:[0-9]+]], 128>
// CHECK-NEXT: axnpu.matmul <ocm, 128, [1, 64], bf16>, <ocm, [[W0]], [64, 64], s8> scale <ocm, [[S0]], [64, 1], bf16> -> <ocm, [[H:[0-9]+]], [1, 64], bf16>
// The second half of the hidden temporary sits 128 bytes after the first.
// CHECK: axnpu.matmul {{.*}} -> <ocm, [[H1:[0-9]+]], [1, 64], bf16>
// CHECK-NEXT: axnpu.eltwise silu <ocm, [[H]], [1, 128], bf16> -> <ocm, [[A:[0-9]+]], [1, 128], bf16>
// CHECK-NEXT: axnpu.eltwise add <ocm, 0, [1, 64], bf16>, <ocm, [[A]], [1, 64], bf16> -> <ocm, [[Y:[0-9]+]], [1, 64], bf16>
// CHECK-NEXT: axnpu.dma_store <ocm, [[Y]], 128> -> <ddr, 8576, 128>

// 4608 bytes of OCM: the first matmul needs all of it (x-norm 128 + tile 4096 + scales 128
// + the hidden temporary 256). x is still needed by the final add, so it is evicted; it came
// from the read-only input, so it is dropped and loaded again from @input (no store). The
// normalised x moves: it is stored to a DDR scratch buffer and loaded back before the matmul.
// TINY-LABEL: axnpu.program @mlp chip "AX650" ocm_bytes 4608
// TINY-NOT: vocm
// TINY: axnpu.buffer @ddr_swap0 : #axnpu.view<ddr, [[SW:[0-9]+]], [128], s8> {kind = "scratch"}
// TINY: axnpu.rms_norm <ocm, 0, [1, 64], bf16> eps 1.000000e-06 -> <ocm, 128, [1, 64], bf16>
// TINY: axnpu.dma_store <ocm, 128, 128> -> <ddr, [[SW]], 128>
// TINY: axnpu.dma_load <ddr, [[SW]], 128> -> <ocm, [[XN:[0-9]+]], 128>
// TINY: axnpu.matmul <ocm, [[XN]], [1, 64], bf16>
// TINY: axnpu.matmul <ocm, [[XN]], [1, 64], bf16>
// TINY: axnpu.eltwise silu
// TINY-NEXT: axnpu.dma_load <ddr, 0, 128> -> <ocm, [[X:[0-9]+]], 128>
// TINY-NEXT: axnpu.eltwise add <ocm, [[X]], [1, 64], bf16>
// TINY-NEXT: axnpu.dma_store
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @mlp chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @decode index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 64], bf16> {kind = "input"}
      axnpu.buffer @w : #axnpu.view<ddr, 128, [128, 64], s8> {kind = "weight"}
      axnpu.buffer @w.scale : #axnpu.view<ddr, 8320, [128, 1], bf16> {kind = "weight"}
      axnpu.buffer @output : #axnpu.view<ddr, 8576, [1, 64], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 128> -> <vocm, 0, 128>
      axnpu.rms_norm <vocm, 0, [1, 64], bf16> eps 1.000000e-06 -> <vocm, 128, [1, 64], bf16>
      axnpu.dma_load <ddr, 128, 4096> -> <vocm, 1024, 4096>
      axnpu.dma_load <ddr, 8320, 128> -> <vocm, 12288, 128>
      axnpu.matmul <vocm, 128, [1, 64], bf16>, <vocm, 1024, [64, 64], s8> scale <vocm, 12288, [64, 1], bf16> -> <vocm, 16384, [1, 64], bf16>
      axnpu.dma_load <ddr, 4224, 4096> -> <vocm, 5120, 4096>
      axnpu.dma_load <ddr, 8448, 128> -> <vocm, 12416, 128>
      axnpu.matmul <vocm, 128, [1, 64], bf16>, <vocm, 5120, [64, 64], s8> scale <vocm, 12416, [64, 1], bf16> -> <vocm, 16512, [1, 64], bf16>
      axnpu.eltwise silu <vocm, 16384, [1, 128], bf16> -> <vocm, 20480, [1, 128], bf16>
      axnpu.eltwise add <vocm, 0, [1, 64], bf16>, <vocm, 20480, [1, 64], bf16> -> <vocm, 24576, [1, 64], bf16>
      axnpu.dma_store <vocm, 24576, 128> -> <ddr, 8576, 128>
    }
  }
}

// -----

// A computed temporary (not a copy of read-only DDR) that must survive a phase needing all
// of OCM goes to scratch: the running sum is stored after the first add and loaded back
// (possibly elsewhere) for the second; interleaved column tiles of one matrix are one
// temporary and keep their stride.
// CHECK-LABEL: axnpu.program @spill
// CHECK: axnpu.eltwise exp <ocm, [[T:[0-9]+]], [4, 32], bf16, stride 128> -> <ocm, [[E:[0-9]+]], [4, 32], bf16, stride 128>
// CHECK-NEXT: axnpu.eltwise exp <ocm, {{[0-9]+}}, [4, 32], bf16, stride 128> -> <ocm, {{[0-9]+}}, [4, 32], bf16, stride 128>
// TINY-LABEL: axnpu.program @spill
// TINY: axnpu.buffer @ddr_swap0 : #axnpu.view<ddr, [[SW:[0-9]+]], [512], s8> {kind = "scratch"}
// TINY: axnpu.eltwise add <ocm, {{[0-9]+}}, [4, 64], bf16>, <ocm, {{[0-9]+}}, [4, 64], bf16> -> <ocm, [[SUM:[0-9]+]], [4, 64], bf16>
// TINY-NEXT: axnpu.dma_store <ocm, [[SUM]], 512> -> <ddr, [[SW]], 512>
// TINY: axnpu.dma_load <ddr, [[SW]], 512> -> <ocm, [[BACK:[0-9]+]], 512>
// TINY-NEXT: axnpu.eltwise add <ocm, [[BACK]], [4, 64], bf16>
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @spill chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @decode index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [4, 64], bf16> {kind = "input"}
      axnpu.buffer @big : #axnpu.view<ddr, 512, [4096], s8> {kind = "weight"}
      axnpu.buffer @output : #axnpu.view<ddr, 4608, [4, 64], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 512> -> <vocm, 0, 512>
      axnpu.eltwise exp <vocm, 0, [4, 32], bf16, stride 128> -> <vocm, 1024, [4, 32], bf16, stride 128>
      axnpu.eltwise exp <vocm, 64, [4, 32], bf16, stride 128> -> <vocm, 1088, [4, 32], bf16, stride 128>
      axnpu.eltwise add <vocm, 0, [4, 64], bf16>, <vocm, 1024, [4, 64], bf16> -> <vocm, 2048, [4, 64], bf16>
      axnpu.dma_load <ddr, 512, 4096> -> <vocm, 8192, 4096>
      axnpu.reduce sum <vocm, 8192, [4, 512], bf16> axis 1 -> <vocm, 16384, [4, 1], bf16>
      axnpu.eltwise add <vocm, 2048, [4, 64], bf16>, <vocm, 16384, [4, 1], bf16> -> <vocm, 20480, [4, 64], bf16>
      axnpu.dma_store <vocm, 20480, 512> -> <ddr, 4608, 512>
    }
  }
}
