// RUN: axc-opt %s --split-input-file --verify-diagnostics

// One case per verifier rule of the axnpu dialect (docs/axnpu.md, "Verifier rules").
// Rules about several instructions or buffers are reported at their axnpu.group.

// region size 0
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{region size must be > 0 bytes, got 0}}
    axnpu.dma_load <ddr, 0, 0> -> <ocm, 0, 0>
  }
}

// -----

// region negative offset
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{region offset must be >= 0, got -16}}
    axnpu.dma_load <ddr, -16, 64> -> <ocm, 0, 64>
  }
}

// -----

// unknown memory space
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{memory space must be ocm or ddr}}
    axnpu.dma_load <sram, 0, 64> -> <ocm, 0, 64>
  }
}

// -----

// view with a zero dimension
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{view dimensions must be > 0, got [4, 0]}}
    axnpu.eltwise exp <ocm, 0, [4, 0], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// unknown dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{dtype must be one of f32, bf16, f16, s8, s4, i32, u32}}
    axnpu.eltwise exp <ocm, 0, [4, 64], f64> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// s4 rows are whole bytes
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{a row of 63 s4 elements is 252 bits, not a whole number of bytes}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 63], s4> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// row stride below the row size
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{row stride 64 bytes is smaller than a row (64 x bf16 = 128 bytes)}}
    axnpu.eltwise exp <ocm, 0, [4, 64], bf16, stride 64> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// eu kind
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{eu kind must be conv, teng or sdma}}
    axnpu.dma_load <ddr, 0, 64> -> <ocm, 0, 64> eu <npu, 0, 0>
  }
}

// -----

// eu negative index
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{eu core and unit indices must be >= 0, got 0, -1}}
    axnpu.dma_load <ddr, 0, 64> -> <ocm, 0, 64> eu <sdma, 0, -1>
  }
}

// -----

// program limits are positive
// expected-error @+1 {{ocm_bytes must be > 0, got 0}}
axnpu.program @p chip "AX650" ocm_bytes 0 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
}

// -----

// program holds only groups
// expected-error @+1 {{only axnpu.group ops may appear in a program, found 'axnpu.barrier'}}
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.barrier
}

// -----

// group indices are unique
// expected-error @+1 {{groups @a and @b both have index 0}}
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @a index 0 {
  }
  axnpu.group @b index 0 {
  }
}

// -----

// group symbols are unique
// expected-error @+1 {{Redefinition of symbol "a"}}
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @a index 0 {
  }
  axnpu.group @a index 1 {
  }
}

// -----

// group index is not negative
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{group index must be >= 0, got -1}}
  axnpu.group @a index -1 {
  }
}

// -----

// instructions live in groups
// expected-error @+1 {{'axnpu.barrier' expects parent op 'axnpu.group'}}
axnpu.barrier

// -----

// group holds buffers and instructions only
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{only axnpu.buffer and axnpu instructions may appear in a group, found 'axnpu.group'}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.group @inner index 1 {
    }
  }
}

// -----

// buffers come first
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{buffer @late is declared after the first instruction; declare buffers first}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.barrier
    axnpu.buffer @late : #axnpu.view<ddr, 4096, [16], bf16> {kind = "input"}
  }
}

// -----

// buffer kind
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{buffer kind must be one of input, output, weight, scratch, got 'kv'}}
    axnpu.buffer @k : #axnpu.view<ddr, 4096, [16], bf16> {kind = "kv"}
  }
}

// -----

// buffers are in ddr
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{buffer @k must be in ddr, got ocm}}
    axnpu.buffer @k : #axnpu.view<ocm, 4096, [16], bf16> {kind = "input"}
  }
}

// -----

// buffers are contiguous
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{buffer @k must be contiguous, got row stride 64 for rows of 32 bytes}}
    axnpu.buffer @k : #axnpu.view<ddr, 4096, [4, 16], bf16, stride 64> {kind = "input"}
  }
}

// -----

// buffers fit in ddr
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{buffer @k spans ddr[65500, 65628), past ddr_bytes 65536}}
    axnpu.buffer @k : #axnpu.view<ddr, 65500, [64], bf16> {kind = "input"}
  }
}

// -----

// buffers do not overlap
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{buffers @in (ddr [0, 2048)) and @k (ddr [1024, 1056)) overlap}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.buffer @k : #axnpu.view<ddr, 1024, [16], bf16> {kind = "output"}
  }
}

// -----

// buffer symbols are unique
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{Redefinition of symbol "in"}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.buffer @in : #axnpu.view<ddr, 4096, [16], bf16> {kind = "output"}
  }
}

// -----

// ddr accesses stay in declared buffers
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{instruction 0 ('axnpu.dma_load', id 0, line }}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.dma_load <ddr, 1024, 2048> -> <ocm, 0, 2048> id 0
  }
}

// -----

// weights are read-only
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{writes ddr[4096, 4224) in weight buffer @w; weights are read-only}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.buffer @w : #axnpu.view<ddr, 4096, [64], bf16> {kind = "weight"}
    axnpu.dma_store <ocm, 0, 128> -> <ddr, 4096, 128>
  }
}

// -----

// ids are unique in a group
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{reuses id 1 of instruction 0}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.barrier id 1
    axnpu.barrier id 1
  }
}

// -----

// deps name earlier ids
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{depends on id 7, which no earlier instruction of group @g has}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.barrier id 1 deps [7]
    axnpu.barrier id 7
  }
}

// -----

// an instruction does not wait on itself
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  // expected-error @+1 {{depends on id 2, which no earlier instruction of group @g has}}
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.barrier id 2 deps [2]
  }
}

// -----

// deps are listed once
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.barrier id 0
    // expected-error @+1 {{deps lists id 0 twice}}
    axnpu.barrier id 1 deps [0, 0]
  }
}

// -----

// cycles are not negative
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{cycles must be >= 0, got -5}}
    axnpu.barrier cycles -5
  }
}

// -----

// ids are not negative
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{id must be >= 0, got -1}}
    axnpu.barrier id -1
  }
}

// -----

// eu kind matches the instruction
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{eu <conv, 0, 0> is a conv unit, but 'axnpu.dma_load' runs on sdma}}
    axnpu.dma_load <ddr, 0, 64> -> <ocm, 0, 64> eu <conv, 0, 0>
  }
}

// -----

// eu core in range
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{eu <teng, 3, 0>: core 3 is out of range, the program has 3 cores}}
    axnpu.eltwise exp <ocm, 0, [4, 64], bf16> -> <ocm, 4096, [4, 64], bf16> eu <teng, 3, 0>
  }
}

// -----

// eu unit in range
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{eu <conv, 0, 2>: unit 2 is out of range, each core has 2 conv units}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> -> <ocm, 4096, [4, 16], bf16> eu <conv, 0, 2>
  }
}

// -----

// barriers run on no eu
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{takes no eu (it runs on no unit), got eu <teng, 0, 0>}}
    axnpu.barrier eu <teng, 0, 0>
  }
}

// -----

// operands fit in ocm
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' spans ocm[65408, 65920), past ocm_bytes 65536}}
    axnpu.eltwise exp <ocm, 0, [4, 64], bf16> -> <ocm, 65408, [4, 64], bf16>
  }
}

// -----

// outputs do not overlap inputs
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{output 'out' (ocm[256, 768)) overlaps input 'x' (ocm[0, 512))}}
    axnpu.transpose <ocm, 0, [4, 64], bf16> perm [0, 1] -> <ocm, 256, [4, 64], bf16>
  }
}

// -----

// in place means the very same bytes
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{output 'out' (ocm[128, 640)) overlaps input 'a' (ocm[0, 512)) (in place is allowed only on exactly the same bytes)}}
    axnpu.eltwise exp <ocm, 0, [4, 64], bf16> -> <ocm, 128, [4, 64], bf16>
  }
}

// -----

// strided overlap is exact
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{output 'out' (ocm[96, 544) as 4 rows of 64 bytes every 128) overlaps input 'a' (ocm[0, 448) as 4 rows of 64 bytes every 128)}}
    axnpu.eltwise add <ocm, 0, [4, 32], bf16, stride 128>, <ocm, 64, [4, 32], bf16, stride 128> -> <ocm, 96, [4, 32], bf16, stride 128>
  }
}

// -----

// compute operands are in ocm
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'x' must be in ocm, got ddr}}
    axnpu.matmul <ddr, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// dma_load moves ddr to ocm
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{moves ddr -> ocm, got ocm -> ocm}}
    axnpu.dma_load <ocm, 0, 64> -> <ocm, 128, 64>
  }
}

// -----

// dma_store moves ocm to ddr
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{moves ocm -> ddr, got ddr -> ddr}}
    axnpu.dma_store <ddr, 0, 64> -> <ddr, 128, 64>
  }
}

// -----

// dma_copy moves ocm to ocm
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{moves ocm -> ocm, got ocm -> ddr}}
    axnpu.dma_copy <ocm, 0, 64> -> <ddr, 128, 64>
  }
}

// -----

// dma byte counts match
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{src has 128 bytes but dst has 64}}
    axnpu.dma_load <ddr, 0, 128> -> <ocm, 0, 64>
  }
}

// -----

// strided dma spans its regions
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{dst region has 256 bytes but 2 rows of 64 bytes every 64 span 128}}
    axnpu.dma_load <ddr, 0, 192> -> <ocm, 0, 256> rows 2 row_bytes 64 src_stride_bytes 128 dst_stride_bytes 64
  }
}

// -----

// strided dma writes rows apart
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{dst_stride_bytes 32 is smaller than row_bytes 64; written rows would overlap}}
    axnpu.dma_load <ddr, 0, 192> -> <ocm, 0, 96> rows 2 row_bytes 64 src_stride_bytes 128 dst_stride_bytes 32
  }
}

// -----

// strided dma has rows
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{rows and row_bytes must be > 0, got 0 and 64}}
    axnpu.dma_load <ddr, 0, 64> -> <ocm, 0, 64> rows 0 row_bytes 64 src_stride_bytes 64 dst_stride_bytes 64
  }
}

// -----

// strided dma source stride is not negative
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{src_stride_bytes must be >= 0, got -64}}
    axnpu.dma_load <ddr, 0, 64> -> <ocm, 0, 128> rows 2 row_bytes 64 src_stride_bytes -64 dst_stride_bytes 64
  }
}

// -----

// strided dma gives every field
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{a strided copy needs all of rows, row_bytes, src_stride_bytes and dst_stride_bytes}}
    "axnpu.dma_load"() <{src = #axnpu.region<ddr, 0, 64>, dst = #axnpu.region<ocm, 0, 64>, rows = 2 : i64}> : () -> ()
  }
}

// -----

// dma_copy source and destination do not overlap
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{output 'dst' (ocm[64, 192)) overlaps input 'src' (ocm[0, 128))}}
    axnpu.dma_copy <ocm, 0, 128> -> <ocm, 64, 128>
  }
}

// -----

// matmul K agrees
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{x is [M, K] = [4, 64] but w [N, K] is [16, 32]: K 32 != 64}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 32], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// matmul K agrees with w_kn
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{x is [M, K] = [4, 64] but w [K, N] is [16, 64]: K 16 != 64}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> w_kn -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// matmul out is [M, N]
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{out must be [M, N] = [4, 16], got [4, 32]}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> -> <ocm, 4096, [4, 32], bf16>
  }
}

// -----

// matmul operands are 2-D
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'x' must be 2-D, got shape [1, 4, 64]}}
    axnpu.matmul <ocm, 0, [1, 4, 64], bf16>, <ocm, 8192, [16, 64], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// matmul x dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'x' has dtype s8; expected one of bf16, f16, f32}}
    axnpu.matmul <ocm, 0, [4, 64], s8>, <ocm, 8192, [16, 64], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// matmul w dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'w' has dtype i32; expected one of bf16, f16, f32, s4, s8}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], i32> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// matmul out dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' has dtype s8; expected one of bf16, f16, f32}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> -> <ocm, 4096, [4, 16], s8>
  }
}

// -----

// quantized weights need scales
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{s8 weights need a 'scale'}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], s8> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// scale shape follows group_size
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{scale must be [N, K / group_size] = [16, 2], got [16, 1]}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], s4> scale <ocm, 12288, [16, 1], bf16> group_size 32 -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// group_size divides K
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{group_size 48 must be > 0 and divide K = 64}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], s4> scale <ocm, 12288, [16, 1], bf16> group_size 48 -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// zero has the shape of scale
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{zero must have the shape of scale [16, 1], got [16, 2]}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], s8> scale <ocm, 12288, [16, 1], bf16> zero <ocm, 12352, [16, 2], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// scales only for quantized weights
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'scale' applies only to s8/s4 weights, w is bf16}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> scale <ocm, 12288, [16, 1], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// quantized weights are [N, K]
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{s8 weights must be laid out [N, K]; drop w_kn}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [64, 16], s8> scale <ocm, 12288, [16, 1], bf16> w_kn -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// bias has N elements
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'bias' must hold 16 elements along its last dimension, got shape [1, 32]}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> bias <ocm, 12288, [1, 32], bf16> -> <ocm, 4096, [4, 16], bf16>
  }
}

// -----

// matmul output does not overlap its weights
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{output 'out' (ocm[8192, 8320)) overlaps input 'w' (ocm[8192, 10240))}}
    axnpu.matmul <ocm, 0, [4, 64], bf16>, <ocm, 8192, [16, 64], bf16> -> <ocm, 8192, [4, 16], bf16>
  }
}

// -----

// binary ops take b or a scalar
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'add' takes a second input or a scalar, exactly one of them}}
    axnpu.eltwise add <ocm, 0, [4, 64], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// gated ops take two inputs
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'swiglu' takes two inputs (gate, up) and no scalar}}
    axnpu.eltwise swiglu <ocm, 0, [4, 64], bf16> scalar 1.0 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// unary ops take one input
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'exp' takes one input}}
    axnpu.eltwise exp <ocm, 0, [4, 64], bf16>, <ocm, 1024, [4, 64], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// inputs broadcast to out
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'b' shape [4, 32] does not broadcast to [4, 64]}}
    axnpu.eltwise mul <ocm, 0, [4, 64], bf16>, <ocm, 1024, [4, 32], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// math is on floats
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'a' has dtype i32; expected one of bf16, f16, f32}}
    axnpu.eltwise exp <ocm, 0, [4, 64], i32> -> <ocm, 4096, [4, 64], i32>
  }
}

// -----

// copy keeps the dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{copy keeps the dtype, got bf16 -> f32; use cast}}
    axnpu.eltwise copy <ocm, 0, [4, 64], bf16> -> <ocm, 4096, [4, 64], f32>
  }
}

// -----

// cast does not produce s4
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' has dtype s4; expected one of bf16, f16, f32, i32, s8, u32}}
    axnpu.eltwise cast <ocm, 0, [4, 64], bf16> -> <ocm, 4096, [4, 64], s4>
  }
}

// -----

// eltwise kind is known
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{Expected `add`}}
    axnpu.eltwise fma <ocm, 0, [4, 64], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// rms_norm weight has one element per column
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'weight' must hold 64 elements along its last dimension, got shape [32]}}
    axnpu.rms_norm <ocm, 0, [4, 64], bf16> weight <ocm, 1024, [32], bf16> eps 1.0e-06 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// weight_offset needs a weight
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{weight_offset needs a weight}}
    axnpu.rms_norm <ocm, 0, [4, 64], bf16> weight_offset 1.0 eps 1.0e-06 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// eps is not negative
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{eps must be >= 0, got -1.0}}
    axnpu.rms_norm <ocm, 0, [4, 64], bf16> eps -1.0 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// layer_norm keeps the shape
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' must have shape [4, 64], got [2, 128]}}
    axnpu.layer_norm <ocm, 0, [4, 64], bf16> eps 1.0e-05 -> <ocm, 4096, [2, 128], bf16>
  }
}

// -----

// rope head_dim divides the row
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{head_dim 48 must be > 0 and divide the row of x (64)}}
    axnpu.rope half <ocm, 0, [4, 64], bf16> positions <ocm, 2048, [4], u32> inv_freq <ocm, 2112, [16], f32> head_dim 48 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// rope positions per token
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'positions' must hold 4 elements along its last dimension, got shape [2]}}
    axnpu.rope half <ocm, 0, [4, 64], bf16> positions <ocm, 2048, [2], u32> inv_freq <ocm, 2112, [16], f32> head_dim 32 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// rope positions are integers
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'positions' has dtype f32; expected one of i32, u32}}
    axnpu.rope half <ocm, 0, [4, 64], bf16> positions <ocm, 2048, [4], f32> inv_freq <ocm, 2112, [16], f32> head_dim 32 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// rope rotates at most head_dim
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{inv_freq has 32 frequencies, so it rotates 64 elements, more than head_dim 32}}
    axnpu.rope half <ocm, 0, [4, 64], bf16> positions <ocm, 2048, [4], u32> inv_freq <ocm, 2112, [32], f32> head_dim 32 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// rope frequencies are f32
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'inv_freq' has dtype bf16; expected one of f32}}
    axnpu.rope half <ocm, 0, [4, 64], bf16> positions <ocm, 2048, [4], u32> inv_freq <ocm, 2112, [16], bf16> head_dim 32 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// softmax mask broadcasts
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'mask' shape [4, 32] does not broadcast to [4, 64]}}
    axnpu.softmax <ocm, 0, [4, 64], bf16> mask <ocm, 2048, [4, 32], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// softcap is positive
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{softcap must be > 0, got 0.0}}
    axnpu.softmax <ocm, 0, [4, 64], bf16> softcap 0.0 -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// reduce axis in range
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{axis 2 is out of range for x of rank 2}}
    axnpu.reduce sum <ocm, 0, [4, 64], bf16> axis 2 -> <ocm, 4096, [4, 1], f32>
  }
}

// -----

// reduce keeps the axis with size 1
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' must have shape [4, 1], got [4]}}
    axnpu.reduce max <ocm, 0, [4, 64], bf16> axis 1 -> <ocm, 4096, [4], f32>
  }
}

// -----

// transpose perm is a permutation
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{perm [0, 0] is not a permutation of the 2 dims of x}}
    axnpu.transpose <ocm, 0, [4, 64], bf16> perm [0, 0] -> <ocm, 4096, [64, 4], bf16>
  }
}

// -----

// transpose permutes the shape
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' must have shape [64, 4], got [4, 64]}}
    axnpu.transpose <ocm, 0, [4, 64], bf16> perm [1, 0] -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// transpose keeps the dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{transpose keeps the dtype (not s4), got bf16 -> f32}}
    axnpu.transpose <ocm, 0, [4, 64], bf16> perm [1, 0] -> <ocm, 4096, [64, 4], f32>
  }
}

// -----

// gather keeps the dtype
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{gather keeps the dtype (not s4), got bf16 -> f32}}
    axnpu.gather <ddr, 0, [8, 64], bf16> indices <ocm, 0, [4], u32> -> <ocm, 4096, [4, 64], f32>
  }
}

// -----

// gather indices are integers
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'indices' has dtype bf16; expected one of i32, u32}}
    axnpu.gather <ddr, 0, [8, 64], bf16> indices <ocm, 0, [4], bf16> -> <ocm, 4096, [4, 64], bf16>
  }
}

// -----

// gather out is [T, C]
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    // expected-error @+1 {{'out' must have shape [4, 64], got [4, 32]}}
    axnpu.gather <ddr, 0, [8, 64], bf16> indices <ocm, 0, [4], u32> -> <ocm, 4096, [4, 32], bf16>
  }
}

// -----

// only the gather table may be in ddr
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [1024], bf16> {kind = "input"}
    axnpu.buffer @o : #axnpu.view<ddr, 4096, [4, 64], bf16> {kind = "output"}
    // expected-error @+1 {{'out' must be in ocm, got ddr}}
    axnpu.gather <ddr, 0, [8, 64], bf16> indices <ocm, 0, [4], u32> -> <ddr, 4096, [4, 64], bf16>
  }
}

// -----

// select takes cond, then and else
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    // expected-error @+1 {{'select' takes three inputs (cond, then, else)}}
    axnpu.eltwise select <vocm, 64, [1, 8], s8>, <vocm, 128, [1], bf16> -> <vocm, 256, [1, 8], bf16>
  }
}

// -----

// integer operands only for the kinds that define them
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    // expected-error @+1 {{'a' has dtype s8; expected one of bf16, f16, f32}}
    axnpu.eltwise swiglu <vocm, 0, [1, 8], s8>, <vocm, 0, [1, 8], s8> -> <vocm, 64, [1, 8], f32>
  }
}

// -----

// vocm is on-chip: a load may not go to ddr, nor a store come from ddr
axnpu.program @p chip "AX650" ocm_bytes 65536 ddr_bytes 65536 cores 3 conv_per_core 2 teng_per_core 1 sdma_per_core 1 {
  axnpu.group @g index 0 {
    axnpu.buffer @in : #axnpu.view<ddr, 0, [16], f32> {kind = "input"}
    // expected-error @+1 {{moves ocm -> ddr, got ddr -> ddr}}
    axnpu.dma_store <ddr, 0, 16> -> <ddr, 0, 16>
  }
}
