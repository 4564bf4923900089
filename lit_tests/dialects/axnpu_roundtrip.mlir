// RUN: axc-opt %s | filecheck %s
// RUN: axc-opt %s | axc-opt | filecheck %s
// RUN: axc-opt %s --print-op-generic | axc-opt | filecheck %s

// Round trip of every axnpu op and attribute form (docs/axnpu.md). The CHECK lines are
// the canonical printed form; a few inputs use other spellings of the same IR (a short
// float, a stride on a single-row view, the generic op form).

// CHECK: builtin.module {
// AX650: 3 cores of 2 CONV, 1 TENG, 1 SDMA units each.
// CHECK-NEXT: axnpu.program @qwen2_l0 chip "AX650" ocm_bytes 262144 ddr_bytes 1048576 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
axnpu.program @qwen2_l0 chip "AX650" ocm_bytes 262144 ddr_bytes 1048576 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // Decode (1 token) of a small qwen2-like layer: hidden 64, 2 q heads and 1 kv
  // head of 32, 15 cached tokens, intermediate 128. Fully scheduled: every
  // instruction has an id and deps, some have an eu and cycles.
  // CHECK-NEXT: axnpu.group @decode index 0 {
  axnpu.group @decode index 0 {
    // CHECK-NEXT: axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 1, 64], bf16> {kind = "input"}
    axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 1, 64], bf16> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @indices : #axnpu.view<ddr, 128, [1, 1], u32> {kind = "input"}
    axnpu.buffer @indices : #axnpu.view<ddr, 128, [1, 1], u32> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @mask : #axnpu.view<ddr, 192, [1, 1, 16], bf16> {kind = "input"}
    axnpu.buffer @mask : #axnpu.view<ddr, 192, [1, 1, 16], bf16> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @K_cache : #axnpu.view<ddr, 256, [1, 15, 32], bf16> {kind = "input"}
    axnpu.buffer @K_cache : #axnpu.view<ddr, 256, [1, 15, 32], bf16> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @V_cache : #axnpu.view<ddr, 1280, [1, 15, 32], bf16> {kind = "input"}
    axnpu.buffer @V_cache : #axnpu.view<ddr, 1280, [1, 15, 32], bf16> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @output : #axnpu.view<ddr, 2304, [1, 1, 64], bf16> {kind = "output"}
    axnpu.buffer @output : #axnpu.view<ddr, 2304, [1, 1, 64], bf16> {kind = "output"}
    // CHECK-NEXT: axnpu.buffer @K_cache_out : #axnpu.view<ddr, 2432, [1, 1, 32], bf16> {kind = "output"}
    axnpu.buffer @K_cache_out : #axnpu.view<ddr, 2432, [1, 1, 32], bf16> {kind = "output"}
    // CHECK-NEXT: axnpu.buffer @V_cache_out : #axnpu.view<ddr, 2496, [1, 1, 32], bf16> {kind = "output"}
    axnpu.buffer @V_cache_out : #axnpu.view<ddr, 2496, [1, 1, 32], bf16> {kind = "output"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.input_layernorm.weight : #axnpu.view<ddr, 2560, [64], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.input_layernorm.weight : #axnpu.view<ddr, 2560, [64], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.self_attn.qkv_proj.weight : #axnpu.view<ddr, 4096, [128, 64], s8> {kind = "weight"}
    axnpu.buffer @model.layers.0.self_attn.qkv_proj.weight : #axnpu.view<ddr, 4096, [128, 64], s8> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.self_attn.qkv_proj.scales : #axnpu.view<ddr, 12288, [128, 1], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.self_attn.qkv_proj.scales : #axnpu.view<ddr, 12288, [128, 1], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.self_attn.qkv_proj.bias : #axnpu.view<ddr, 12544, [128], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.self_attn.qkv_proj.bias : #axnpu.view<ddr, 12544, [128], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.self_attn.rotary_emb.inv_freq : #axnpu.view<ddr, 12800, [16], f32> {kind = "weight"}
    axnpu.buffer @model.layers.0.self_attn.rotary_emb.inv_freq : #axnpu.view<ddr, 12800, [16], f32> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.self_attn.o_proj.weight : #axnpu.view<ddr, 13312, [64, 64], s4> {kind = "weight"}
    axnpu.buffer @model.layers.0.self_attn.o_proj.weight : #axnpu.view<ddr, 13312, [64, 64], s4> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.self_attn.o_proj.scales : #axnpu.view<ddr, 15360, [64, 2], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.self_attn.o_proj.scales : #axnpu.view<ddr, 15360, [64, 2], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.post_attention_layernorm.weight : #axnpu.view<ddr, 15616, [64], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.post_attention_layernorm.weight : #axnpu.view<ddr, 15616, [64], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.mlp.gate_up_proj.weight : #axnpu.view<ddr, 16384, [256, 64], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.mlp.gate_up_proj.weight : #axnpu.view<ddr, 16384, [256, 64], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.mlp.down_proj.weight : #axnpu.view<ddr, 49152, [64, 128], s4> {kind = "weight"}
    axnpu.buffer @model.layers.0.mlp.down_proj.weight : #axnpu.view<ddr, 49152, [64, 128], s4> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @model.layers.0.mlp.down_proj.scales : #axnpu.view<ddr, 53248, [64, 2], bf16> {kind = "weight"}
    axnpu.buffer @model.layers.0.mlp.down_proj.scales : #axnpu.view<ddr, 53248, [64, 2], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @spill : #axnpu.view<ddr, 65536, [1024], bf16> {kind = "scratch"}
    axnpu.buffer @spill : #axnpu.view<ddr, 65536, [1024], bf16> {kind = "scratch"}
    // CHECK-NEXT: axnpu.dma_load <ddr, 0, 128> -> <ocm, 0, 128> id 0 eu <sdma, 0, 0> cycles 40
    axnpu.dma_load <ddr, 0, 128> -> <ocm, 0, 128> id 0 eu <sdma, 0, 0> cycles 40
    // CHECK-NEXT: axnpu.dma_load <ddr, 2560, 128> -> <ocm, 128, 128> id 1 eu <sdma, 0, 0> cycles 40
    axnpu.dma_load <ddr, 2560, 128> -> <ocm, 128, 128> id 1 eu <sdma, 0, 0> cycles 40
    // CHECK-NEXT: axnpu.rms_norm <ocm, 0, [1, 64], bf16> weight <ocm, 128, [64], bf16> eps 1.000000e-06 -> <ocm, 256, [1, 64], bf16> id 2 deps [0, 1] eu <teng, 0, 0> cycles 30
    axnpu.rms_norm <ocm, 0, [1, 64], bf16> weight <ocm, 128, [64], bf16> eps 1.0e-06 -> <ocm, 256, [1, 64], bf16> id 2 deps [0, 1] eu <teng, 0, 0> cycles 30
    // CHECK-NEXT: axnpu.dma_load <ddr, 4096, 8704> -> <ocm, 4096, 8704> id 3 eu <sdma, 0, 0> cycles 300
    axnpu.dma_load <ddr, 4096, 8704> -> <ocm, 4096, 8704> id 3 eu <sdma, 0, 0> cycles 300
    // CHECK-NEXT: axnpu.matmul <ocm, 256, [1, 64], bf16>, <ocm, 4096, [128, 64], s8> scale <ocm, 12288, [128, 1], bf16> bias <ocm, 12544, [1, 128], bf16> -> <ocm, 12800, [1, 128], bf16> id 4 deps [2, 3] eu <conv, 0, 0> cycles 260
    axnpu.matmul <ocm, 256, [1, 64], bf16>, <ocm, 4096, [128, 64], s8> scale <ocm, 12288, [128, 1], bf16> bias <ocm, 12544, [1, 128], bf16> -> <ocm, 12800, [1, 128], bf16> id 4 deps [2, 3] eu <conv, 0, 0> cycles 260
    // CHECK-NEXT: axnpu.dma_load <ddr, 128, 4> -> <ocm, 13056, 4> id 5
    axnpu.dma_load <ddr, 128, 4> -> <ocm, 13056, 4> id 5
    // CHECK-NEXT: axnpu.dma_load <ddr, 12800, 64> -> <ocm, 13120, 64> id 6
    axnpu.dma_load <ddr, 12800, 64> -> <ocm, 13120, 64> id 6
    // CHECK-NEXT: axnpu.rope half <ocm, 12800, [1, 64], bf16> positions <ocm, 13056, [1], u32> inv_freq <ocm, 13120, [16], f32> head_dim 32 -> <ocm, 13184, [1, 64], bf16> id 7 deps [4, 5, 6]
    axnpu.rope half <ocm, 12800, [1, 64], bf16, stride 256> positions <ocm, 13056, [1], u32> inv_freq <ocm, 13120, [16], f32> head_dim 32 -> <ocm, 13184, [1, 64], bf16> id 7 deps [4, 5, 6]
    // CHECK-NEXT: axnpu.dma_load <ddr, 256, 960> -> <ocm, 13312, 960> id 8
    axnpu.dma_load <ddr, 256, 960> -> <ocm, 13312, 960> id 8
    // CHECK-NEXT: axnpu.rope half <ocm, 12928, [1, 32], bf16> positions <ocm, 13056, [1], u32> inv_freq <ocm, 13120, [16], f32> head_dim 32 -> <ocm, 14272, [1, 32], bf16> id 9 deps [4, 5, 6]
    axnpu.rope half <ocm, 12928, [1, 32], bf16> positions <ocm, 13056, [1], u32> inv_freq <ocm, 13120, [16], f32> head_dim 32 -> <ocm, 14272, [1, 32], bf16> id 9 deps [4, 5, 6]
    // CHECK-NEXT: axnpu.dma_load <ddr, 1280, 960> -> <ocm, 14336, 960> id 10
    axnpu.dma_load <ddr, 1280, 960> -> <ocm, 14336, 960> id 10
    // CHECK-NEXT: axnpu.dma_copy <ocm, 12992, 64> -> <ocm, 15296, 64> id 11 deps [4]
    "axnpu.dma_copy"() <{src = #axnpu.region<ocm, 12992, 64>, dst = #axnpu.region<ocm, 15296, 64>, id = 11 : i64, deps = array<i64: 4>}> : () -> ()
    // CHECK-NEXT: axnpu.dma_load <ddr, 192, 32> -> <ocm, 15360, 32> id 12
    axnpu.dma_load <ddr, 192, 32> -> <ocm, 15360, 32> id 12
    // CHECK-NEXT: axnpu.matmul <ocm, 13184, [2, 32], bf16>, <ocm, 13312, [16, 32], bf16> -> <ocm, 15424, [2, 16], f32> id 13 deps [7, 8, 9] eu <conv, 0, 1>
    axnpu.matmul <ocm, 13184, [2, 32], bf16>, <ocm, 13312, [16, 32], bf16> -> <ocm, 15424, [2, 16], f32> id 13 deps [7, 8, 9] eu <conv, 0, 1>
    // CHECK-NEXT: axnpu.softmax <ocm, 15424, [2, 16], f32> mask <ocm, 15360, [1, 16], bf16> scale 0.176776692 -> <ocm, 15552, [2, 16], bf16> id 14 deps [12, 13]
    axnpu.softmax <ocm, 15424, [2, 16], f32> mask <ocm, 15360, [1, 16], bf16> scale 0.176776692 -> <ocm, 15552, [2, 16], bf16> id 14 deps [12, 13]
    // CHECK-NEXT: axnpu.matmul <ocm, 15552, [2, 16], bf16>, <ocm, 14336, [16, 32], bf16> w_kn -> <ocm, 15616, [2, 32], bf16> id 15 deps [10, 11, 14]
    axnpu.matmul <ocm, 15552, [2, 16], bf16>, <ocm, 14336, [16, 32], bf16> w_kn -> <ocm, 15616, [2, 32], bf16> id 15 deps [10, 11, 14]
    // CHECK-NEXT: axnpu.dma_load <ddr, 13312, 2304> -> <ocm, 16384, 2304> id 16
    axnpu.dma_load <ddr, 13312, 2304> -> <ocm, 16384, 2304> id 16
    // CHECK-NEXT: axnpu.matmul <ocm, 15616, [1, 64], bf16>, <ocm, 16384, [64, 64], s4> scale <ocm, 18432, [64, 2], bf16> group_size 32 -> <ocm, 18688, [1, 64], bf16> id 17 deps [15, 16]
    axnpu.matmul <ocm, 15616, [1, 64], bf16>, <ocm, 16384, [64, 64], s4> scale <ocm, 18432, [64, 2], bf16> group_size 32 -> <ocm, 18688, [1, 64], bf16> id 17 deps [15, 16]
    // CHECK-NEXT: axnpu.eltwise add <ocm, 0, [1, 64], bf16>, <ocm, 18688, [1, 64], bf16> -> <ocm, 18816, [1, 64], bf16> id 18 deps [17]
    axnpu.eltwise add <ocm, 0, [1, 64], bf16>, <ocm, 18688, [1, 64], bf16> -> <ocm, 18816, [1, 64], bf16> id 18 deps [17]
    // CHECK-NEXT: axnpu.dma_load <ddr, 15616, 128> -> <ocm, 18944, 128> id 19
    axnpu.dma_load <ddr, 15616, 128> -> <ocm, 18944, 128> id 19
    // CHECK-NEXT: axnpu.rms_norm <ocm, 18816, [1, 64], bf16> weight <ocm, 18944, [64], bf16> eps 1.000000e-06 -> <ocm, 19072, [1, 64], bf16> id 20 deps [18, 19]
    axnpu.rms_norm <ocm, 18816, [1, 64], bf16> weight <ocm, 18944, [64], bf16> eps 1.000000e-06 -> <ocm, 19072, [1, 64], bf16> id 20 deps [18, 19]
    // CHECK-NEXT: axnpu.dma_load <ddr, 16384, 32768> -> <ocm, 20480, 32768> id 21
    axnpu.dma_load <ddr, 16384, 32768> -> <ocm, 20480, 32768> id 21
    // CHECK-NEXT: axnpu.matmul <ocm, 19072, [1, 64], bf16>, <ocm, 20480, [256, 64], bf16> -> <ocm, 53248, [1, 256], bf16> id 22 deps [20, 21]
    axnpu.matmul <ocm, 19072, [1, 64], bf16>, <ocm, 20480, [256, 64], bf16> -> <ocm, 53248, [1, 256], bf16> id 22 deps [20, 21]
    // CHECK-NEXT: axnpu.eltwise swiglu <ocm, 53248, [1, 128], bf16>, <ocm, 53504, [1, 128], bf16> -> <ocm, 53760, [1, 128], bf16> id 23 deps [22]
    axnpu.eltwise swiglu <ocm, 53248, [1, 128], bf16>, <ocm, 53504, [1, 128], bf16> -> <ocm, 53760, [1, 128], bf16> id 23 deps [22]
    // CHECK-NEXT: axnpu.dma_load <ddr, 49152, 4352> -> <ocm, 54272, 4352> id 24
    axnpu.dma_load <ddr, 49152, 4352> -> <ocm, 54272, 4352> id 24
    // K split in two tiles: the second accumulates into the f32 output.
    // CHECK-NEXT: axnpu.matmul <ocm, 53760, [1, 64], bf16>, <ocm, 54272, [64, 64], s4, stride 64> scale <ocm, 58368, [64, 1], bf16, stride 4> group_size 64 -> <ocm, 58624, [1, 64], f32> id 25 deps [23, 24]
    axnpu.matmul <ocm, 53760, [1, 64], bf16>, <ocm, 54272, [64, 64], s4, stride 64> scale <ocm, 58368, [64, 1], bf16, stride 4> group_size 64 -> <ocm, 58624, [1, 64], f32> id 25 deps [23, 24]
    // CHECK-NEXT: axnpu.matmul <ocm, 53888, [1, 64], bf16>, <ocm, 54304, [64, 64], s4, stride 64> scale <ocm, 58370, [64, 1], bf16, stride 4> group_size 64 accumulate -> <ocm, 58624, [1, 64], f32> id 26 deps [25]
    axnpu.matmul <ocm, 53888, [1, 64], bf16>, <ocm, 54304, [64, 64], s4, stride 64> scale <ocm, 58370, [64, 1], bf16, stride 4> group_size 64 accumulate -> <ocm, 58624, [1, 64], f32> id 26 deps [25]
    // CHECK-NEXT: axnpu.eltwise add <ocm, 18816, [1, 64], bf16>, <ocm, 58624, [1, 64], f32> -> <ocm, 58880, [1, 64], bf16> id 27 deps [26]
    axnpu.eltwise add <ocm, 18816, [1, 64], bf16>, <ocm, 58624, [1, 64], f32> -> <ocm, 58880, [1, 64], bf16> id 27 deps [26]
    // CHECK-NEXT: axnpu.dma_store <ocm, 58880, 128> -> <ddr, 2304, 128> id 28 deps [27] eu <sdma, 1, 0>
    axnpu.dma_store <ocm, 58880, 128> -> <ddr, 2304, 128> id 28 deps [27] eu <sdma, 1, 0>
    // CHECK-NEXT: axnpu.dma_store <ocm, 14272, 64> -> <ddr, 2432, 64> id 29 deps [9]
    axnpu.dma_store <ocm, 14272, 64> -> <ddr, 2432, 64> id 29 deps [9]
    // CHECK-NEXT: axnpu.dma_store <ocm, 15296, 64> -> <ddr, 2496, 64> id 30 deps [11]
    axnpu.dma_store <ocm, 15296, 64> -> <ddr, 2496, 64> id 30 deps [11]
    // CHECK-NEXT: axnpu.barrier id 31 deps [28, 29, 30]
    axnpu.barrier id 31 deps [28, 29, 30]
  // CHECK-NEXT: }
  }
  // The remaining forms: strided DMA, gather from DDR, layer_norm, in-place ops,
  // interleaved rope, transpose, reduce, unary/cast/copy/scalar eltwise, exact
  // strided (non-)overlap, softcap, s4 with zero points; instructions without
  // schedule fields.
  // CHECK-NEXT: axnpu.group @prefill_p2 index 1 {
  axnpu.group @prefill_p2 index 1 {
    // CHECK-NEXT: axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 2, 64], bf16> {kind = "input"}
    axnpu.buffer @input : #axnpu.view<ddr, 0, [1, 2, 64], bf16> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @indices : #axnpu.view<ddr, 256, [1, 2], u32> {kind = "input"}
    axnpu.buffer @indices : #axnpu.view<ddr, 256, [1, 2], u32> {kind = "input"}
    // CHECK-NEXT: axnpu.buffer @embed_tokens : #axnpu.view<ddr, 1024, [100, 64], bf16> {kind = "weight"}
    axnpu.buffer @embed_tokens : #axnpu.view<ddr, 1024, [100, 64], bf16> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @w_awq : #axnpu.view<ddr, 16384, [64, 64], s4> {kind = "weight"}
    axnpu.buffer @w_awq : #axnpu.view<ddr, 16384, [64, 64], s4> {kind = "weight"}
    // CHECK-NEXT: axnpu.buffer @spill : #axnpu.view<ddr, 32768, [2, 64], bf16> {kind = "scratch"}
    axnpu.buffer @spill : #axnpu.view<ddr, 32768, [2, 64], bf16> {kind = "scratch"}
    // CHECK-NEXT: axnpu.dma_load <ddr, 0, 256> -> <ocm, 0, 256> rows 2 row_bytes 128 src_stride_bytes 128 dst_stride_bytes 128
    axnpu.dma_load <ddr, 0, 256> -> <ocm, 0, 256> rows 2 row_bytes 128 src_stride_bytes 128 dst_stride_bytes 128
    // CHECK-NEXT: axnpu.dma_load <ddr, 256, 8> -> <ocm, 256, 8> id 0
    axnpu.dma_load <ddr, 256, 8> -> <ocm, 256, 8> id 0
    // CHECK-NEXT: axnpu.gather <ddr, 1024, [100, 64], bf16> indices <ocm, 256, [2], u32> -> <ocm, 512, [2, 64], bf16> id 1 deps [0] eu <teng, 2, 0> cycles 64
    axnpu.gather <ddr, 1024, [100, 64], bf16> indices <ocm, 256, [2], u32> -> <ocm, 512, [2, 64], bf16> id 1 deps [0] eu <teng, 2, 0> cycles 64
    // CHECK-NEXT: axnpu.layer_norm <ocm, 512, [2, 64], bf16> weight <ocm, 768, [64], bf16> bias <ocm, 896, [64], bf16> eps 1.000000e-05 -> <ocm, 1024, [2, 64], bf16>
    axnpu.layer_norm <ocm, 512, [2, 64], bf16> weight <ocm, 768, [64], bf16> bias <ocm, 896, [64], bf16> eps 1.000000e-05 -> <ocm, 1024, [2, 64], bf16>
    // CHECK-NEXT: axnpu.layer_norm <ocm, 1024, [2, 64], bf16> eps 1.000000e-05 -> <ocm, 1024, [2, 64], bf16>
    axnpu.layer_norm <ocm, 1024, [2, 64], bf16> eps 1.000000e-05 -> <ocm, 1024, [2, 64], bf16>
    // CHECK-NEXT: axnpu.rms_norm <ocm, 0, [2, 64], bf16> weight <ocm, 768, [64], bf16> weight_offset 1.000000e+00 eps 1.000000e-06 -> <ocm, 0, [2, 64], bf16>
    axnpu.rms_norm <ocm, 0, [2, 64], bf16> weight <ocm, 768, [64], bf16> weight_offset 1.000000e+00 eps 1.000000e-06 -> <ocm, 0, [2, 64], bf16>
    // CHECK-NEXT: axnpu.rope interleaved <ocm, 0, [2, 64], bf16> positions <ocm, 256, [1, 2], u32> inv_freq <ocm, 1536, [8], f32> head_dim 32 scaling 1.250000e+00 -> <ocm, 2048, [2, 64], bf16>
    axnpu.rope interleaved <ocm, 0, [2, 64], bf16> positions <ocm, 256, [1, 2], u32> inv_freq <ocm, 1536, [8], f32> head_dim 32 scaling 1.250000e+00 -> <ocm, 2048, [2, 64], bf16>
    // CHECK-NEXT: axnpu.transpose <ocm, 2048, [2, 64], bf16> perm [1, 0] -> <ocm, 2560, [64, 2], bf16>
    axnpu.transpose <ocm, 2048, [2, 64], bf16> perm [1, 0] -> <ocm, 2560, [64, 2], bf16>
    // CHECK-NEXT: axnpu.reduce max <ocm, 2048, [2, 64], bf16> axis 1 -> <ocm, 2816, [2, 1], f32>
    axnpu.reduce max <ocm, 2048, [2, 64], bf16> axis 1 -> <ocm, 2816, [2, 1], f32>
    // CHECK-NEXT: axnpu.reduce sum <ocm, 2048, [2, 64], bf16> axis 0 -> <ocm, 2832, [1, 64], f32>
    axnpu.reduce sum <ocm, 2048, [2, 64], bf16> axis 0 -> <ocm, 2832, [1, 64], f32>
    // CHECK-NEXT: axnpu.eltwise exp <ocm, 2048, [2, 64], bf16> -> <ocm, 3072, [2, 64], f32>
    axnpu.eltwise exp <ocm, 2048, [2, 64], bf16> -> <ocm, 3072, [2, 64], f32>
    // CHECK-NEXT: axnpu.eltwise cast <ocm, 3072, [2, 64], f32> -> <ocm, 3584, [2, 64], bf16>
    axnpu.eltwise cast <ocm, 3072, [2, 64], f32> -> <ocm, 3584, [2, 64], bf16>
    // CHECK-NEXT: axnpu.eltwise copy <ocm, 3584, [1, 64], bf16> -> <ocm, 4096, [2, 64], bf16>
    axnpu.eltwise copy <ocm, 3584, [1, 64], bf16> -> <ocm, 4096, [2, 64], bf16>
    // CHECK-NEXT: axnpu.eltwise mul <ocm, 4096, [2, 64], bf16> scalar 8.000000e+00 -> <ocm, 4096, [2, 64], bf16>
    axnpu.eltwise mul <ocm, 4096, [2, 64], bf16> scalar 8.000000e+00 -> <ocm, 4096, [2, 64], bf16>
    // CHECK-NEXT: axnpu.eltwise geglu_tanh <ocm, 4096, [2, 32], bf16, stride 128>, <ocm, 4160, [2, 32], bf16, stride 128> -> <ocm, 4608, [2, 32], bf16>
    axnpu.eltwise geglu_tanh <ocm, 4096, [2, 32], bf16, stride 128>, <ocm, 4160, [2, 32], bf16, stride 128> -> <ocm, 4608, [2, 32], bf16>
    // Interleaved rows: the bounding ranges overlap, the bytes do not.
    // CHECK-NEXT: axnpu.eltwise neg <ocm, 4096, [2, 32], bf16, stride 128> -> <ocm, 4160, [2, 32], bf16, stride 128>
    axnpu.eltwise neg <ocm, 4096, [2, 32], bf16, stride 128> -> <ocm, 4160, [2, 32], bf16, stride 128>
    // CHECK-NEXT: axnpu.softmax <ocm, 3072, [2, 64], f32> scale 1.250000e-01 softcap 5.000000e+01 -> <ocm, 3072, [2, 64], f32>
    axnpu.softmax <ocm, 3072, [2, 64], f32> scale 0.125 softcap 50.0 -> <ocm, 3072, [2, 64], f32>
    // CHECK-NEXT: axnpu.dma_load <ddr, 16384, 2048> -> <ocm, 8192, 2048> id 2
    axnpu.dma_load <ddr, 16384, 2048> -> <ocm, 8192, 2048> id 2
    // CHECK-NEXT: axnpu.matmul <ocm, 3584, [2, 64], bf16>, <ocm, 8192, [64, 64], s4> scale <ocm, 10240, [64, 2], bf16> zero <ocm, 10496, [64, 2], bf16> group_size 32 -> <ocm, 12288, [2, 64], f32> id 3 deps [2]
    axnpu.matmul <ocm, 3584, [2, 64], bf16>, <ocm, 8192, [64, 64], s4> scale <ocm, 10240, [64, 2], bf16> zero <ocm, 10496, [64, 2], bf16> group_size 32 -> <ocm, 12288, [2, 64], f32> id 3 deps [2]
    // CHECK-NEXT: axnpu.dma_copy <ocm, 0, 192> -> <ocm, 14336, 256> rows 2 row_bytes 64 src_stride_bytes 128 dst_stride_bytes 192
    axnpu.dma_copy <ocm, 0, 192> -> <ocm, 14336, 256> rows 2 row_bytes 64 src_stride_bytes 128 dst_stride_bytes 192
    // CHECK-NEXT: axnpu.dma_store <ocm, 4608, 128> -> <ddr, 32768, 256> rows 2 row_bytes 64 src_stride_bytes 64 dst_stride_bytes 192 id 4 eu <sdma, 2, 0>
    axnpu.dma_store <ocm, 4608, 128> -> <ddr, 32768, 256> rows 2 row_bytes 64 src_stride_bytes 64 dst_stride_bytes 192 id 4 eu <sdma, 2, 0>
    // CHECK-NEXT: axnpu.barrier
    axnpu.barrier
  // CHECK-NEXT: }
  }
// CHECK-NEXT: }
}

// AX630C: one core. An instruction with only id and cycles; an empty group.
// CHECK-NEXT: axnpu.program @tiny chip "AX630C" ocm_bytes 65536 ddr_bytes 4096 cores 1 conv_per_core 1 teng_per_core 1 sdma_per_core 1 {
axnpu.program @tiny chip "AX630C" ocm_bytes 65536 ddr_bytes 4096 cores 1 conv_per_core 1 teng_per_core 1 sdma_per_core 1 {
  // CHECK-NEXT: axnpu.group @sync index 0 {
  axnpu.group @sync index 0 {
    // CHECK-NEXT: axnpu.barrier id 0 cycles 0
    axnpu.barrier id 0 cycles 0
  // CHECK-NEXT: }
  }
  // CHECK-NEXT: axnpu.group @unused index 1 {
  // CHECK-NEXT: }
  axnpu.group @unused index 1 {}
// CHECK-NEXT: }
}

// The virtual on-chip space `vocm` (unbounded, before axnpu-insert-ddr-swap allocates it into
// ocm), and the generic element-wise kinds: comparisons, select (cond, then, else), erf, trunc.
// CHECK-LABEL: axnpu.program @virtual
// CHECK:      axnpu.dma_load <ddr, 0, 64> -> <vocm, 1099511627776, 64>
// CHECK-NEXT: axnpu.eltwise cmp_ge <vocm, 0, [1, 8], i32> scalar 4.000000e+00 -> <vocm, 64, [1, 8], s8>
// CHECK-NEXT: axnpu.eltwise select <vocm, 64, [1, 8], s8>, <vocm, 128, [1], bf16> else <vocm, 192, [1, 8], bf16> -> <vocm, 256, [1, 8], bf16>
// CHECK-NEXT: axnpu.eltwise sub <vocm, 0, [1, 8], i32>, <vocm, 0, [1, 8], i32> -> <vocm, 320, [1, 8], i32>
// CHECK-NEXT: axnpu.eltwise erf <vocm, 256, [1, 8], bf16> -> <vocm, 384, [1, 8], f32>
// CHECK-NEXT: axnpu.eltwise trunc <vocm, 384, [1, 8], f32> -> <vocm, 448, [1, 8], f32>
// CHECK-NEXT: axnpu.dma_copy <vocm, 256, 16> -> <ocm, 0, 16>
// CHECK-NEXT: axnpu.dma_store <vocm, 256, 16> -> <ddr, 64, 16>
// CHECK-NEXT: }
// CHECK-NEXT: }
axnpu.program @virtual chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [16], f32> {kind = "input"}
    axnpu.buffer @out : #axnpu.view<ddr, 64, [8], bf16> {kind = "output"}
    axnpu.dma_load <ddr, 0, 64> -> <vocm, 1099511627776, 64>
    axnpu.eltwise cmp_ge <vocm, 0, [1, 8], i32> scalar 4.0 -> <vocm, 64, [1, 8], s8>
    axnpu.eltwise select <vocm, 64, [1, 8], s8>, <vocm, 128, [1], bf16> else <vocm, 192, [1, 8], bf16> -> <vocm, 256, [1, 8], bf16>
    axnpu.eltwise sub <vocm, 0, [1, 8], i32>, <vocm, 0, [1, 8], i32> -> <vocm, 320, [1, 8], i32>
    axnpu.eltwise erf <vocm, 256, [1, 8], bf16> -> <vocm, 384, [1, 8], f32>
    axnpu.eltwise trunc <vocm, 384, [1, 8], f32> -> <vocm, 448, [1, 8], f32>
    axnpu.dma_copy <vocm, 256, 16> -> <ocm, 0, 16>
    axnpu.dma_store <vocm, 256, 16> -> <ddr, 64, 16>
  }
}

// Top-k of each row (post-topk): values descending and their column indices. A rope whose
// cos/sin stay f32 (`tables "f32"`) instead of rounding to the output's dtype.
// CHECK-LABEL: axnpu.program @topk
// CHECK: axnpu.topk <ocm, 0, [1, 128], bf16> k 4 -> <ocm, 256, [1, 4], bf16>, <ocm, 320, [1, 4], i32>
// CHECK-NEXT: axnpu.rope half <ocm, 1024, [1, 64], bf16> positions <ocm, 2048, [1], u32> inv_freq <ocm, 2112, [16], f32> head_dim 32 tables "f32" -> <ocm, 3072, [1, 64], bf16>
// CHECK-NEXT: }
// CHECK-NEXT: }
axnpu.program @topk chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @post index 0 {
    axnpu.topk <ocm, 0, [1, 128], bf16> k 4 -> <ocm, 256, [1, 4], bf16>, <ocm, 320, [1, 4], i32>
    axnpu.rope half <ocm, 1024, [1, 64], bf16> positions <ocm, 2048, [1], u32> inv_freq <ocm, 2112, [16], f32> head_dim 32 tables "f32" -> <ocm, 3072, [1, 64], bf16>
  }
}
// CHECK-NEXT: }
