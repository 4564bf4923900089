// RUN: axc-opt %s -p 'axnpu-insert-ddr-swap{ocm-bytes=768}' --split-input-file --verify-diagnostics

// One instruction alone needs more OCM than there is: spilling cannot help, tiling must.
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @g index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [4, 64], bf16> {kind = "input"}
      axnpu.dma_load <ddr, 0, 512> -> <vocm, 0, 512>
      // expected-error @+1 {{needs 1024 bytes of on-chip memory at once, more than the 768 bytes}}
      axnpu.eltwise exp <vocm, 0, [4, 64], bf16> -> <vocm, 512, [4, 64], bf16>
    }
  }
}

// -----

// expected-error @+1 {{pass 'axnpu-insert-ddr-swap' needs axc.state 'axnpu', but the module is in state 'axh'}}
builtin.module {
}
