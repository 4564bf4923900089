// RUN: axc-opt %s -p 'axnpu-assign-eu{strategy=heuristic}' --split-input-file | filecheck %s --check-prefixes=CHECK,HEUR
// RUN: axc-opt %s -p 'axnpu-assign-eu{strategy=onepass}' --split-input-file | filecheck %s --check-prefixes=CHECK,LIST
// RUN: axc-opt %s -p 'axnpu-assign-eu{strategy=greedy}' --split-input-file | filecheck %s --check-prefixes=CHECK,LIST

// A decode matvec on AX650 NPU3 (3 cores x 2 CONV, 1 TENG, 1 SDMA): every instruction gets
// a unit of its kind that exists and its standalone cycles. The heuristic takes units
// round-robin in program order, cores first (sdma 0, 1, 2, 0, ...; conv c0.0, c1.0, c2.0,
// c0.1); the list schedulers put each instruction on the unit that frees first, which here
// spreads the same way.
// CHECK-LABEL: builtin.module attributes {axc.state = "axnpu-scheduled"}
// CHECK:      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512> id 0 eu <sdma, 0, 0> cycles 241
// CHECK-NEXT: axnpu.dma_load {{.*}} id 1 eu <sdma, 1, 0> cycles 1069
// CHECK-NEXT: axnpu.dma_load {{.*}} id 2 eu <sdma, 2, 0> cycles 1069
// CHECK-NEXT: axnpu.dma_load {{.*}} id 3 eu <sdma, 0, 0> cycles 1069
// CHECK-NEXT: axnpu.dma_load {{.*}} id 4 eu <sdma, 1, 0> cycles 1069
// CHECK-NEXT: axnpu.matmul {{.*}} id 5 deps [0, 1] eu <conv, 0, 0> cycles 322
// CHECK-NEXT: axnpu.matmul {{.*}} id 6 deps [0, 2] eu <conv, 1, 0> cycles 322
// CHECK-NEXT: axnpu.matmul {{.*}} id 7 deps [0, 3] eu <conv, 2, 0> cycles 322
// CHECK-NEXT: axnpu.matmul {{.*}} id 8 deps [0, 4] eu <conv, {{[0-2]}}, {{[01]}}> cycles 322
// CHECK-NEXT: axnpu.eltwise silu {{.*}} id 9 deps [5, 6, 7, 8] eu <teng, {{[0-2]}}, 0> cycles 1068
// CHECK-NEXT: axnpu.dma_store {{.*}} id 10 deps [9] eu <sdma, {{[0-2]}}, 0> cycles 228
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @layer chip "AX650" ocm_bytes 2097152 ddr_bytes 16777216 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @decode index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 256], bf16> {kind = "input"}
      axnpu.buffer @w : #axnpu.view<ddr, 512, [256, 256], bf16> {kind = "weight"}
      axnpu.buffer @output : #axnpu.view<ddr, 131584, [1, 128], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512> id 0
      axnpu.dma_load <ddr, 512, 16384> -> <ocm, 1024, 16384> id 1
      axnpu.dma_load <ddr, 16896, 16384> -> <ocm, 17408, 16384> id 2
      axnpu.dma_load <ddr, 33280, 16384> -> <ocm, 33792, 16384> id 3
      axnpu.dma_load <ddr, 49664, 16384> -> <ocm, 50176, 16384> id 4
      axnpu.matmul <ocm, 0, [1, 256], bf16>, <ocm, 1024, [32, 256], bf16> -> <ocm, 66560, [1, 32], bf16> id 5 deps [0, 1]
      axnpu.matmul <ocm, 0, [1, 256], bf16>, <ocm, 17408, [32, 256], bf16> -> <ocm, 66624, [1, 32], bf16> id 6 deps [0, 2]
      axnpu.matmul <ocm, 0, [1, 256], bf16>, <ocm, 33792, [32, 256], bf16> -> <ocm, 66688, [1, 32], bf16> id 7 deps [0, 3]
      axnpu.matmul <ocm, 0, [1, 256], bf16>, <ocm, 50176, [32, 256], bf16> -> <ocm, 66752, [1, 32], bf16> id 8 deps [0, 4]
      axnpu.eltwise silu <ocm, 66560, [1, 128], bf16> -> <ocm, 67072, [1, 128], bf16> id 9 deps [5, 6, 7, 8]
      axnpu.dma_store <ocm, 67072, 256> -> <ddr, 131584, 256> id 10 deps [9]
    }
  }
}

// -----

// One core, one SDMA: the order on the unit matters. Program order loads the big weight
// first; the heuristic keeps it, so the long TENG chain on x waits for both loads. The list
// schedulers load x first (its successors' path to the end is the longest) and start the
// chain while the weight streams: the group is reordered, ids and deps unchanged.
// CHECK-LABEL: axnpu.program @order
// HEUR:      axnpu.dma_load <ddr, 512, 65536> -> <ocm, 1024, 65536> id 0 eu <sdma, 0, 0>
// HEUR-NEXT: axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512> id 1 eu <sdma, 0, 0>
// HEUR-NEXT: axnpu.matmul {{.*}} id 2 deps [0, 1] eu <conv, 0, 0>
// LIST:      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512> id 1 eu <sdma, 0, 0>
// LIST-NEXT: axnpu.eltwise exp {{.*}} id 3 deps [1] eu <teng, 0, 0>
// LIST-NEXT: axnpu.dma_load <ddr, 512, 65536> -> <ocm, 1024, 65536> id 0 eu <sdma, 0, 0>
// CHECK:     axnpu.dma_store {{.*}} id 6 deps [2, 5] eu <sdma, 0, 0> cycles 255
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @order chip "AX650" ocm_bytes 2097152 ddr_bytes 16777216 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @decode index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 256], bf16> {kind = "input"}
      axnpu.buffer @w : #axnpu.view<ddr, 512, [128, 256], bf16> {kind = "weight"}
      axnpu.buffer @output : #axnpu.view<ddr, 66048, [1, 384], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 512, 65536> -> <ocm, 1024, 65536> id 0
      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512> id 1
      axnpu.matmul <ocm, 0, [1, 256], bf16>, <ocm, 1024, [128, 256], bf16> -> <ocm, 66560, [1, 128], bf16> id 2 deps [0, 1]
      axnpu.eltwise exp <ocm, 0, [1, 256], bf16> -> <ocm, 67072, [1, 256], bf16> id 3 deps [1]
      axnpu.eltwise exp <ocm, 67072, [1, 256], bf16> -> <ocm, 67584, [1, 256], bf16> id 4 deps [3]
      axnpu.eltwise exp <ocm, 67584, [1, 128], bf16> -> <ocm, 66816, [1, 128], bf16> id 5 deps [4]
      axnpu.dma_store <ocm, 66560, 768> -> <ddr, 66048, 768> id 6 deps [2, 5]
    }
  }
}
