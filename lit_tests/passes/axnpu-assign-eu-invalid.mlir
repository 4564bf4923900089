// RUN: axc-opt %s -p 'axnpu-assign-eu{strategy=greedy}' --split-input-file --verify-diagnostics
// RUN: not axc-opt %s -p 'axnpu-assign-eu{strategy=fastest}' --split-input-file 2>&1 | filecheck %s --check-prefix=STRATEGY
// STRATEGY: error: 'builtin.module' op unknown strategy 'fastest'; expected one of heuristic, onepass, greedy

// Instructions need ids and deps first.
builtin.module attributes {axc.state = "axnpu"} {
  axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 1048576 cores 1 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
    axnpu.group @g index 0 {
      axnpu.buffer @input : #axnpu.view<ddr, 0, [4, 64], bf16> {kind = "input"}
      // expected-error @+1 {{instruction has no id; run axnpu-calc-deps before axnpu-assign-eu}}
      axnpu.dma_load <ddr, 0, 512> -> <ocm, 0, 512>
    }
  }
}

// -----

// expected-error @+1 {{pass 'axnpu-assign-eu' needs axc.state 'axnpu' or 'axnpu-scheduled', but the module is in state 'axh'}}
builtin.module {
}
