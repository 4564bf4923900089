// RUN: axc-opt %s -p 'quantize{weight-type=s4 group-size=48}' --split-input-file --verify-diagnostics

func.func @group_does_not_divide(%x: tensor<1x1x64xf32>) -> tensor<1x1x32xf32> {
  %w = axh.weight "l.weight" : tensor<32x64xf32>
  // expected-error @+1 {{group-size 48 does not divide the 64 input features of l.weight}}
  %y = axh.linear %x, %w : (tensor<1x1x64xf32>, tensor<32x64xf32>) -> tensor<1x1x32xf32>
  func.return %y : tensor<1x1x32xf32>
}

// -----

// expected-error @+1 {{pass 'quantize' needs axc.state 'axh', but the module is in state 'axnpu'}}
builtin.module attributes {axc.state = "axnpu"} {
  func.func @wrong_state(%x: tensor<1x1x64xf32>) -> tensor<1x1x64xf32> {
    func.return %x : tensor<1x1x64xf32>
  }
}
