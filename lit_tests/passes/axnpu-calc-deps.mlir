// RUN: axc-opt %s -p axnpu-calc-deps --split-input-file | filecheck %s

// Every kind of hazard over exact bytes, in OCM and DDR:
// - 1 and 2 read interleaved column tiles of what 0 loaded (RAW on 0), and write
//   interleaved column tiles at 1024: no dependency between them (their bytes never meet);
// - 4 reads the first row of 1's tile (RAW, partial overlap) and overwrites bytes 0..64,
//   which 1 read (WAR, partial) and 0 wrote (WAW, implied through 1, so reduced away);
// - 5 overwrites 1's tile (WAW on 1, implied) that 4 read (WAR on 4) with 3's data (RAW);
// - 6 stores both tiles (RAW on 5 and 2) to DDR scratch; 7 reloads it (RAW through DDR);
// - 8 overwrites 7's destination (WAW only: reading input DDR conflicts with nothing);
// - the barrier keeps the dep it was given (id 7 before the pass, renumbered to 3).
// CHECK-LABEL: axnpu.program @hazards
// CHECK:      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512> id 0{{$}}
// CHECK-NEXT: axnpu.eltwise exp {{.*}} id 1 deps [0]{{$}}
// CHECK-NEXT: axnpu.eltwise exp {{.*}} id 2 deps [0]{{$}}
// CHECK-NEXT: axnpu.eltwise neg {{.*}} id 3 deps [2]{{$}}
// CHECK-NEXT: axnpu.eltwise neg {{.*}} id 4 deps [1]{{$}}
// CHECK-NEXT: axnpu.eltwise relu {{.*}} id 5 deps [3, 4]{{$}}
// CHECK-NEXT: axnpu.dma_store <ocm, 1024, 512> -> <ddr, 512, 512> id 6 deps [2, 5]{{$}}
// CHECK-NEXT: axnpu.dma_load <ddr, 512, 512> -> <ocm, 4096, 512> id 7 deps [6]{{$}}
// CHECK-NEXT: axnpu.dma_load <ddr, 0, 512> -> <ocm, 4096, 512> id 8 deps [7]{{$}}
// CHECK-NEXT: axnpu.dma_store <ocm, 4096, 512> -> <ddr, 1024, 512> id 9 deps [8]{{$}}
// CHECK-NEXT: axnpu.barrier id 10 deps [3]{{$}}
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @hazards chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @g index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [4, 64], bf16> {kind = "input"}
      axnpu.buffer @scratch : #axnpu.view<ddr, 512, [512], s8> {kind = "scratch"}
      axnpu.buffer @output : #axnpu.view<ddr, 1024, [4, 64], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512>
      axnpu.eltwise exp <ocm, 0, [4, 32], bf16, stride 128> -> <ocm, 1024, [4, 32], bf16, stride 128>
      axnpu.eltwise exp <ocm, 64, [4, 32], bf16, stride 128> -> <ocm, 1088, [4, 32], bf16, stride 128>
      axnpu.eltwise neg <ocm, 1088, [4, 32], bf16, stride 128> -> <ocm, 2048, [4, 32], bf16, stride 128> id 7
      axnpu.eltwise neg <ocm, 1024, [1, 32], bf16> -> <ocm, 0, [1, 32], bf16>
      axnpu.eltwise relu <ocm, 2048, [4, 32], bf16, stride 128> -> <ocm, 1024, [4, 32], bf16, stride 128>
      axnpu.dma_store <ocm, 1024, 512> -> <ddr, 512, 512>
      axnpu.dma_load <ddr, 512, 512> -> <ocm, 4096, 512>
      axnpu.dma_load <ddr, 0, 512> -> <ocm, 4096, 512>
      axnpu.dma_store <ocm, 4096, 512> -> <ddr, 1024, 512>
      axnpu.barrier deps [7]
    }
  }
}

// -----

// Matmul tiles: accumulation reads its output (RAW and WAW on the previous K tile; its
// loads are deps of that tile, so they are reduced away), two
// readers of one tile do not depend on each other, and a write that covers an earlier
// write entirely retires it (the reader of the new bytes depends on the new writer only).
// CHECK-LABEL: axnpu.program @tiles
// CHECK:      axnpu.matmul {{.*}} -> <ocm, 8192, [1, 32], f32> id 2 deps [0, 1]{{$}}
// CHECK-NEXT: axnpu.matmul {{.*}} accumulate -> <ocm, 8192, [1, 32], f32> id 3 deps [2]{{$}}
// CHECK-NEXT: axnpu.eltwise cast <ocm, 8192, [1, 32], f32> -> <ocm, 8448, [1, 32], bf16> id 4 deps [3]{{$}}
// CHECK-NEXT: axnpu.eltwise exp <ocm, 8192, [1, 32], f32> -> <ocm, 8576, [1, 32], bf16> id 5 deps [3]{{$}}
// CHECK-NEXT: axnpu.dma_load <ddr, 0, 256> -> <ocm, 8192, 256> id 6 deps [4, 5]{{$}}
// CHECK-NEXT: axnpu.eltwise neg <ocm, 8192, [1, 32], f32> -> <ocm, 9216, [1, 32], f32> id 7 deps [6]{{$}}
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @tiles chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @g index 0 {
      axnpu.buffer @w : #axnpu.view<ddr, 0, [64, 32], bf16> {kind = "weight"}
      axnpu.dma_load <ddr, 0, 4096> -> <ocm, 0, 4096>
      axnpu.dma_load <ddr, 0, 256> -> <ocm, 4096, 256>
      axnpu.matmul <ocm, 4096, [1, 32], bf16>, <ocm, 0, [32, 32], bf16> -> <ocm, 8192, [1, 32], f32>
      axnpu.matmul <ocm, 4096, [1, 32], bf16>, <ocm, 2048, [32, 32], bf16> accumulate -> <ocm, 8192, [1, 32], f32>
      axnpu.eltwise cast <ocm, 8192, [1, 32], f32> -> <ocm, 8448, [1, 32], bf16>
      axnpu.eltwise exp <ocm, 8192, [1, 32], f32> -> <ocm, 8576, [1, 32], bf16>
      axnpu.dma_load <ddr, 0, 256> -> <ocm, 8192, 256>
      axnpu.eltwise neg <ocm, 8192, [1, 32], f32> -> <ocm, 9216, [1, 32], f32>
    }
  }
}
