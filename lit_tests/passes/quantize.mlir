// RUN: axc-opt %s -p 'quantize{weight-type=s8 hidden-type=bf16}' --split-input-file | filecheck %s --check-prefix=S8
// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=32 hidden-type=bf16 method=rtn}' --split-input-file | filecheck %s --check-prefix=S4
// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=32}' --split-input-file | filecheck %s --check-prefix=AUTO4
// RUN: axc-opt %s -p 'quantize{weight-type=bf16 hidden-type=fp16}' --split-input-file | filecheck %s --check-prefix=F16
// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=32 method=gptq}' --split-input-file | filecheck %s --check-prefix=GPTQ
// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=32 method=clip}' --split-input-file | filecheck %s --check-prefix=CLIP
// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=32 method=awq}' --split-input-file | filecheck %s --check-prefix=AWQ
// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=32 method=asym}' --split-input-file | filecheck %s --check-prefix=ASYM
// RUN: axc-opt %s -p 'quantize{weight-type=s8 s8-group-size=32 hidden-type=bf16}' --split-input-file | filecheck %s --check-prefix=S8G

// A linear with a bias: s8 is per output channel ([N, 1] scales), s4 groups 32 input
// features ([N, K/32] scales); the bias joins the hidden type; float weights are renamed to
// their rounded copy.
// S8-LABEL: func.func @linear_bias(
// S8-SAME: %[[X:.*]]: tensor<1x5x64xbf16>) -> tensor<1x5x32xbf16>
// S8-DAG: %[[W:.*]] = axh.weight "l.weight#s8" : tensor<32x64xi8>
// S8-DAG: %[[S:.*]] = axh.weight "l.weight#s8.scale" : tensor<32x1xbf16>
// S8-DAG: %[[B:.*]] = axh.weight "l.bias#bf16" : tensor<32xbf16>
// S8: %[[Y:.*]] = axh.linear %[[X]], %[[W]], %[[B]] scale %[[S]] : (tensor<1x5x64xbf16>, tensor<32x64xi8>, tensor<32xbf16>, tensor<32x1xbf16>) -> tensor<1x5x32xbf16>
// S8: func.return %[[Y]] : tensor<1x5x32xbf16>
// S8G-LABEL: func.func @linear_bias(
// S8G-DAG: %[[W:.*]] = axh.weight "l.weight#s8g32" : tensor<32x64xi8>
// S8G-DAG: %[[S:.*]] = axh.weight "l.weight#s8g32.scale" : tensor<32x2xbf16>
// S8G: axh.linear %{{.*}}, %[[W]], %{{.*}} scale %[[S]] : (tensor<1x5x64xbf16>, tensor<32x64xi8>, tensor<32xbf16>, tensor<32x2xbf16>) -> tensor<1x5x32xbf16>
// S4-LABEL: func.func @linear_bias(
// S4-DAG: %[[W:.*]] = axh.weight "l.weight#s4g32" : tensor<32x64xi4>
// S4-DAG: %[[S:.*]] = axh.weight "l.weight#s4g32.scale" : tensor<32x2xbf16>
// S4: axh.linear %{{.*}}, %[[W]], %{{.*}} scale %[[S]] : (tensor<1x5x64xbf16>, tensor<32x64xi4>, tensor<32xbf16>, tensor<32x2xbf16>) -> tensor<1x5x32xbf16>
// ASYM-LABEL: func.func @linear_bias(
// ASYM-DAG: %[[W:.*]] = axh.weight "l.weight#s4g32" : tensor<32x64xi4>
// ASYM-DAG: %[[S:.*]] = axh.weight "l.weight#s4g32.scale" : tensor<32x2xbf16>
// ASYM-DAG: %[[Z:.*]] = axh.weight "l.weight#s4g32.zero" : tensor<32x2xbf16>
// ASYM-DAG: %[[B:.*]] = axh.weight "l.bias#bf16" : tensor<32xbf16>
// ASYM: axh.linear %{{.*}}, %[[W]], %[[B]] scale %[[S]] zero %[[Z]] : (tensor<1x5x64xbf16>, tensor<32x64xi4>, tensor<32xbf16>, tensor<32x2xbf16>, tensor<32x2xbf16>) -> tensor<1x5x32xbf16>
// F16-LABEL: func.func @linear_bias(
// F16-SAME: %[[X:.*]]: tensor<1x5x64xf16>) -> tensor<1x5x32xf16>
// F16-DAG: %[[W:.*]] = axh.weight "l.weight#bf16" : tensor<32x64xbf16>
// F16-DAG: %[[B:.*]] = axh.weight "l.bias#fp16" : tensor<32xf16>
// F16: axh.linear %[[X]], %[[W]], %[[B]] : (tensor<1x5x64xf16>, tensor<32x64xbf16>, tensor<32xf16>) -> tensor<1x5x32xf16>
func.func @linear_bias(%x: tensor<1x5x64xf32>) -> tensor<1x5x32xf32> {
  %w = axh.weight "l.weight" : tensor<32x64xf32>
  %b = axh.weight "l.bias" : tensor<32xf32>
  %y = axh.linear %x, %w, %b : (tensor<1x5x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<1x5x32xf32>
  func.return %y : tensor<1x5x32xf32>
}

// -----

// Rope tables are computed from positions only: they stay f32 while q becomes bf16; the
// norm weight follows the hidden state.
// S8-LABEL: func.func @rope_tables_stay_f32(
// S8-SAME: %[[Q:.*]]: tensor<1x2x3x8xbf16>, %[[P:.*]]: tensor<1x3x1xui32>)
// S8: %[[C:.*]] = axh.unary cos %{{.*}} : tensor<1x3x8xf32>
// S8: %[[S:.*]] = axh.unary sin %{{.*}} : tensor<1x3x8xf32>
// S8: %[[NW:.*]] = axh.weight "n.weight#bf16" : tensor<8xbf16>
// S8: %[[N:.*]] = axh.rms_norm %[[Q]], %[[NW]]
// S8: axh.rope %[[N]], %[[C]], %[[S]] {rotary_dim = 8 : i64} : (tensor<1x2x3x8xbf16>, tensor<1x3x8xf32>, tensor<1x3x8xf32>) -> tensor<1x2x3x8xbf16>
func.func @rope_tables_stay_f32(%q: tensor<1x2x3x8xf32>, %idx: tensor<1x3x1xui32>) -> tensor<1x2x3x8xf32> {
  %inv = axh.weight "rotary.inv_freq" : tensor<8xf32>
  %pos = axh.cast %idx : tensor<1x3x1xui32> -> tensor<1x3x1xf32>
  %ang = axh.mul %pos, %inv : (tensor<1x3x1xf32>, tensor<8xf32>) -> tensor<1x3x8xf32>
  %c = axh.unary cos %ang : tensor<1x3x8xf32>
  %s = axh.unary sin %ang : tensor<1x3x8xf32>
  %nw = axh.weight "n.weight" : tensor<8xf32>
  %n = axh.rms_norm %q, %nw {epsilon = 1.0e-06 : f32} : (tensor<1x2x3x8xf32>, tensor<8xf32>) -> tensor<1x2x3x8xf32>
  %r = axh.rope %n, %c, %s {rotary_dim = 8 : i64} : (tensor<1x2x3x8xf32>, tensor<1x3x8xf32>, tensor<1x3x8xf32>) -> tensor<1x2x3x8xf32>
  func.return %r : tensor<1x2x3x8xf32>
}

// -----

// An already-quantized (GPTQ/AWQ) linear keeps its integers, scales and zeros.
// S8-LABEL: func.func @gptq_kept(
// S8: axh.linear %{{.*}}, %{{.*}} scale %{{.*}} zero %{{.*}} : (tensor<1x1x64xbf16>, tensor<32x64xi4>, tensor<32x2xbf16>, tensor<32x2xi4>) -> tensor<1x1x32xbf16>
// S8-NOT: #s8
func.func @gptq_kept(%x: tensor<1x1x64xf32>) -> tensor<1x1x32xf32> {
  %w = axh.weight "l.qweight" : tensor<32x64xi4>
  %s = axh.weight "l.scales" : tensor<32x2xbf16>
  %z = axh.weight "l.qzeros" : tensor<32x2xi4>
  %y = axh.linear %x, %w scale %s zero %z : (tensor<1x1x64xf32>, tensor<32x64xi4>, tensor<32x2xbf16>, tensor<32x2xi4>) -> tensor<1x1x32xf32>
  func.return %y : tensor<1x1x32xf32>
}

// -----

// The module records what was chosen and moves to axh-quantized.
// S4: builtin.module attributes {axc.state = "axh-quantized", axc.weight_type = "s4", axc.hidden_type = "bf16", axc.group_size = 32 : i64, axc.quant_method = "rtn"}
// S4-LABEL: func.func @records_choice
func.func @records_choice(%x: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
  func.return %x : tensor<1x1x64xf32>
}

// -----

// The method option is recorded; without a weight store only the IR changes, identically
// for every method (the integers are computed when the store asks for them).
// S8-LABEL: func.func @method_recorded
// GPTQ-LABEL: func.func @method_recorded
// GPTQ: axh.weight "l.weight#s4g32" : tensor<32x64xi4>
// GPTQ: axh.weight "l.weight#s4g32.scale" : tensor<32x2xbf16>
// CLIP: builtin.module attributes {{{.*}}axc.quant_method = "clip"}
// `auto` is asym for s4 (zero points), rtn for s8 (none), and records what it resolved to.
// AUTO4: builtin.module attributes {{{.*}}axc.quant_method = "asym"}
// AUTO4: axh.weight "l.weight#s4g32.zero" : tensor<32x2xbf16>
// S8: builtin.module attributes {{{.*}}axc.quant_method = "rtn"}
// S8-NOT: .zero
func.func @method_recorded(%x: tensor<1x1x64xf32>) -> tensor<1x1x32xf32> {
  %w = axh.weight "l.weight" : tensor<32x64xf32>
  %y = axh.linear %x, %w : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
  func.return %y : tensor<1x1x32xf32>
}

// -----

// AWQ folds its input scales where that is exact: into the norm weight read only by the
// q/k linears (`#awq`, then the hidden-type copy), and into the rows and bias of the up
// linear read only by swiglu, whose result only the down linear reads. The gate linear
// keeps its weight name (its integers are computed from the scaled weight); a linear fed
// by anything else (here `%o`, the function argument) is quantized as it is. Shapes and
// types are those of every other method.
// AWQ-LABEL: func.func @awq_folds
// AWQ: %[[NW:.*]] = axh.weight "n.weight#awq#bf16" : tensor<64xbf16>
// AWQ: %[[N:.*]] = axh.rms_norm %{{.*}}, %[[NW]]
// AWQ: axh.weight "q.weight#s4g32" : tensor<32x64xi4>
// AWQ: axh.linear %[[N]], %{{.*}} scale
// AWQ: axh.weight "k.weight#s4g32.scale" : tensor<32x2xbf16>
// AWQ: axh.linear %[[N]], %{{.*}} scale
// AWQ: axh.weight "up.weight#s4g32" : tensor<64x64xi4>
// AWQ: %[[UB:.*]] = axh.weight "up.bias#awq#bf16" : tensor<64xbf16>
// AWQ: axh.linear %[[N]], %{{.*}}, %[[UB]] scale
// AWQ: %[[S:.*]] = axh.swiglu
// AWQ: axh.linear %[[S]], %{{.*}} scale %{{.*}} : (tensor<1x3x64xbf16>, tensor<64x64xi4>, tensor<64x2xbf16>) -> tensor<1x3x64xbf16>
// AWQ: axh.weight "o.weight#s4g32" : tensor<64x32xi4>
// AWQ-NOT: #awq
// GPTQ-LABEL: func.func @awq_folds
// GPTQ-NOT: #awq
func.func @awq_folds(%x: tensor<1x3x64xf32>, %o: tensor<1x3x32xf32>) -> (tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>) {
  %nw = axh.weight "n.weight" : tensor<64xf32>
  %n = axh.rms_norm %x, %nw {epsilon = 1.0e-06 : f32} : (tensor<1x3x64xf32>, tensor<64xf32>) -> tensor<1x3x64xf32>
  %wq = axh.weight "q.weight" : tensor<32x64xf32>
  %q = axh.linear %n, %wq : (tensor<1x3x64xf32>, tensor<32x64xf32>) -> tensor<1x3x32xf32>
  %wk = axh.weight "k.weight" : tensor<32x64xf32>
  %k = axh.linear %n, %wk : (tensor<1x3x64xf32>, tensor<32x64xf32>) -> tensor<1x3x32xf32>
  %wg = axh.weight "gate.weight" : tensor<64x64xf32>
  %g = axh.linear %x, %wg : (tensor<1x3x64xf32>, tensor<64x64xf32>) -> tensor<1x3x64xf32>
  %wu = axh.weight "up.weight" : tensor<64x64xf32>
  %bu = axh.weight "up.bias" : tensor<64xf32>
  %u = axh.linear %n, %wu, %bu : (tensor<1x3x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<1x3x64xf32>
  %s = axh.swiglu %g, %u : tensor<1x3x64xf32>
  %wd = axh.weight "down.weight" : tensor<64x64xf32>
  %d = axh.linear %s, %wd : (tensor<1x3x64xf32>, tensor<64x64xf32>) -> tensor<1x3x64xf32>
  %wo = axh.weight "o.weight" : tensor<64x32xf32>
  %y = axh.linear %o, %wo : (tensor<1x3x32xf32>, tensor<64x32xf32>) -> tensor<1x3x64xf32>
  func.return %q, %k, %d, %y : tensor<1x3x32xf32>, tensor<1x3x32xf32>, tensor<1x3x64xf32>, tensor<1x3x64xf32>
}
