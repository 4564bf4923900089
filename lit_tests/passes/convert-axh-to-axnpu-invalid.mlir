// RUN: axc-opt %s -p convert-axh-to-axnpu --split-input-file --verify-diagnostics

// An op with no instruction selection is reported at the op, never lowered silently.
builtin.module attributes {axc.state = "axh-quantized"} {
  func.func @f(%input: tensor<1x8xi32>) -> tensor<1xi32> {
    // expected-error @+1 {{integer axh.reduce has no instruction}}
    %r = axh.reduce sum %input {axes = array<i64: 1>} : tensor<1x8xi32> -> tensor<1xi32>
    func.return %r : tensor<1xi32>
  }
}

// -----

// The pass needs quantized axh.
// expected-error @+1 {{pass 'convert-axh-to-axnpu' needs axc.state 'axh-quantized'}}
builtin.module {
  func.func @f(%input: tensor<1x1x16xbf16>) -> tensor<1x1x16xbf16> {
    func.return %input : tensor<1x1x16xbf16>
  }
}
