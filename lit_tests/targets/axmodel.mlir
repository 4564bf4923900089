// The axmodel target: axc-opt schedules a two-group program and writes it as an .axmodel;
// `axc info --mlir` decodes the instruction streams back into the same program (ids, deps,
// EUs, cycles, enums, floats, strided views all survive), `axc info` shows its groups; a
// weight buffer without bytes, or no -o, is a one-line error. (`axc sim` is tested in
// tests/test_axmodel.py, which needs .npz inputs.)
// RUN: axc-opt %s -p 'axnpu-calc-deps,axnpu-assign-eu{strategy=onepass}' -t axmodel -o %t.axmodel --zero-weights && axc info %t.axmodel --mlir | filecheck %s
// RUN: axc info %t.axmodel | filecheck %s --check-prefix=INFO
// RUN: axc info %t.axmodel --json | filecheck %s --check-prefix=JSON
// RUN: not axc-opt %s -t axmodel -o %t.bad.axmodel 2>&1 | filecheck %s --check-prefix=NOWEIGHT
// RUN: not axc-opt %s -t axmodel 2>&1 | filecheck %s --check-prefix=NOOUT

// CHECK:      axnpu.program @layer chip "AX650" ocm_bytes 2097152 ddr_bytes 16777216 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
// CHECK-NEXT:   axnpu.group @decode index 0 {
// CHECK-NEXT:     axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 1, 64], bf16> {kind = "input"}
// CHECK-NEXT:     axnpu.buffer @w : #axnpu.view<ddr, 256, [64, 64], s8> {kind = "weight"}
// CHECK-NEXT:     axnpu.buffer @w.scale : #axnpu.view<ddr, 4352, [64, 1], bf16> {kind = "weight"}
// The compiler constant's bytes moved to an initializer: no hex `data` left in the stream.
// CHECK-NEXT:     axnpu.buffer @norm : #axnpu.view<ddr, 4480, [64], bf16> {kind = "weight"}
// CHECK-NEXT:     axnpu.buffer @output : #axnpu.view<ddr, 4608, [1, 1, 64], bf16> {kind = "output"}
// The scheduled order (assign-eu moved the norm's load up), with ids, EUs and cycles.
// CHECK-NEXT:     axnpu.dma_load <ddr, 0, 128> -> <ocm, 0, 128> id 0 eu <sdma, {{[0-2]}}, 0> cycles {{[0-9]+}}
// CHECK-NEXT:     axnpu.dma_load <ddr, 4480, 128> -> <ocm, 4608, 128> id 2 eu <sdma, {{[0-2]}}, 0> cycles {{[0-9]+}}
// CHECK-NEXT:     axnpu.dma_load <ddr, 256, 4224> -> <ocm, 256, 4224> id 1 eu <sdma, {{[0-2]}}, 0> cycles {{[0-9]+}}
// CHECK-NEXT:     axnpu.rms_norm <ocm, 0, [1, 64], bf16> weight <ocm, 4608, [64], bf16> weight_offset 1.000000e+00 eps 1.000000e-06 -> <ocm, 8192, [1, 64], bf16> id 3 deps [0, 2] eu <teng, {{[0-2]}}, 0> cycles {{[0-9]+}}
// CHECK-NEXT:     axnpu.matmul <ocm, 8192, [1, 64], bf16>, <ocm, 256, [64, 64], s8> scale <ocm, 4352, [64, 1], bf16> -> <ocm, 8320, [1, 64], bf16> id 4 deps [1, 3] eu <conv, {{[0-2]}}, {{[01]}}> cycles {{[0-9]+}}
// CHECK-NEXT:     axnpu.eltwise mul <ocm, 8320, [1, 64], bf16> scalar 1.250000e-01 -> <ocm, 8448, [1, 64], bf16> id 5 deps [4] eu <teng, {{[0-2]}}, 0> cycles {{[0-9]+}}
// CHECK-NEXT:     axnpu.dma_store <ocm, 8448, 128> -> <ddr, 4608, 128> id 6 deps [5] eu <sdma, {{[0-2]}}, 0> cycles {{[0-9]+}}
// CHECK-NEXT:   }
// CHECK-NEXT:   axnpu.group @prefill index 1 {
// CHECK-NEXT:     axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 2, 64], bf16> {kind = "input"}
// CHECK-NEXT:     axnpu.buffer @w : #axnpu.view<ddr, 256, [64, 64], s8> {kind = "weight"}
// CHECK-NEXT:     axnpu.buffer @mask : #axnpu.view<ddr, 8192, [1, 16], bf16> {kind = "input"}
// CHECK-NEXT:     axnpu.buffer @output : #axnpu.view<ddr, 8448, [2, 16], bf16> {kind = "output"}
// CHECK-NEXT:     axnpu.barrier id 6 cycles 0
// CHECK:          axnpu.eltwise cast <ocm, 0, [2, 16], bf16> -> <ocm, 2048, [2, 16], f32> id 3 deps [0]
// CHECK-NEXT:     axnpu.dma_copy <ocm, 0, 192> -> <ocm, 1024, 256> rows 2 row_bytes 64 src_stride_bytes 128 dst_stride_bytes 192 id 1 deps [0]
// CHECK-NEXT:     axnpu.softmax <ocm, 2048, [2, 16], f32> mask <ocm, 3072, [1, 16], bf16> scale 0.176776692 -> <ocm, 4096, [2, 16], bf16> id 4 deps [2, 3]
// CHECK-NEXT:     axnpu.dma_store <ocm, 4096, 64> -> <ddr, 8448, 64> id 5 deps [4]
// CHECK-NEXT:   }
// CHECK-NEXT: }

// INFO:      program @layer for AX650 NPU3, axmodel format 1
// INFO:      groups
// INFO:      0 {{.*}} decode {{.*}} 7 {{.*}} 1 {{.*}} 2 {{.*}} 4
// INFO:      1 {{.*}} prefill
// INFO:      inputs and outputs
// INFO:      decode {{.*}} input {{.*}} input {{.*}} [1, 1, 64] {{.*}} bf16
// INFO:      prefill {{.*}} input {{.*}} input {{.*}} [1, 2, 64] {{.*}} bf16

// JSON:      "blobs": {
// JSON-NEXT:   "axc.program": "{{[0-9a-f]+}}",
// JSON-NEXT:   "axc.stream.decode": "{{[0-9a-f]+}}",
// JSON:      "instructions": {
// JSON-NEXT:   "conv": 1,
// JSON-NEXT:   "sdma": 4,
// JSON-NEXT:   "teng": 2
// JSON:      "time_ms":

// NOWEIGHT: error: weight buffer @w of group @decode has no bytes: pass it in `weights`
// NOOUT: axc-opt: error: -t axmodel writes one binary file: give -o FILE.axmodel

builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @layer chip "AX650" ocm_bytes 2097152 ddr_bytes 16777216 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @decode index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 1, 64], bf16> {kind = "input"}
      axnpu.buffer @w : #axnpu.view<ddr, 256, [64, 64], s8> {kind = "weight"}
      axnpu.buffer @w.scale : #axnpu.view<ddr, 4352, [64, 1], bf16> {kind = "weight"}
      axnpu.buffer @norm : #axnpu.view<ddr, 4480, [64], bf16> {kind = "weight", data = "803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f803f"}
      axnpu.buffer @output : #axnpu.view<ddr, 4608, [1, 1, 64], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 128> -> <ocm, 0, 128>
      axnpu.dma_load <ddr, 256, 4224> -> <ocm, 256, 4224>
      axnpu.dma_load <ddr, 4480, 128> -> <ocm, 4608, 128>
      axnpu.rms_norm <ocm, 0, [1, 64], bf16> weight <ocm, 4608, [64], bf16> weight_offset 1.0 eps 1.0e-06 -> <ocm, 8192, [1, 64], bf16>
      axnpu.matmul <ocm, 8192, [1, 64], bf16>, <ocm, 256, [64, 64], s8> scale <ocm, 4352, [64, 1], bf16> -> <ocm, 8320, [1, 64], bf16>
      axnpu.eltwise mul <ocm, 8320, [1, 64], bf16> scalar 0.125 -> <ocm, 8448, [1, 64], bf16>
      axnpu.dma_store <ocm, 8448, 128> -> <ddr, 4608, 128>
    }
    axnpu.group @prefill index 1 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 2, 64], bf16> {kind = "input"}
      axnpu.buffer @w : #axnpu.view<ddr, 256, [64, 64], s8> {kind = "weight"}
      axnpu.buffer @mask : #axnpu.view<ddr, 8192, [1, 16], bf16> {kind = "input"}
      axnpu.buffer @output : #axnpu.view<ddr, 8448, [2, 16], bf16> {kind = "output"}
      axnpu.dma_load <ddr, 0, 256> -> <ocm, 0, 256>
      axnpu.dma_copy <ocm, 0, 192> -> <ocm, 1024, 256> rows 2 row_bytes 64 src_stride_bytes 128 dst_stride_bytes 192
      axnpu.dma_load <ddr, 8192, 32> -> <ocm, 3072, 32>
      axnpu.eltwise cast <ocm, 0, [2, 16], bf16> -> <ocm, 2048, [2, 16], f32>
      axnpu.softmax <ocm, 2048, [2, 16], f32> mask <ocm, 3072, [1, 16], bf16> scale 0.176776692 -> <ocm, 4096, [2, 16], bf16>
      axnpu.dma_store <ocm, 4096, 64> -> <ddr, 8448, 64>
      axnpu.barrier
    }
  }
}
