// RUN: axc-opt %s -p fold-constant-casts --split-input-file | filecheck %s

// The -65536 of a sliding-window mask, cast to the bf16 hidden type, becomes a bf16 constant.
// CHECK-LABEL: func.func @mask_value
// CHECK-NEXT: %[[C:.*]] = axh.constant dense<-6.553600e+04> : tensor<bf16>
// CHECK-NEXT: func.return %[[C]] : tensor<bf16>
func.func @mask_value() -> tensor<bf16> {
  %c = axh.constant dense<-65536.0> : tensor<f32>
  %b = axh.cast %c : tensor<f32> -> tensor<bf16>
  func.return %b : tensor<bf16>
}

// -----

// The folded value is the rounded one: 1e-6 is not a bf16 number.
// CHECK-LABEL: func.func @rounds_like_the_chip
// CHECK-NEXT: %[[C:.*]] = axh.constant dense<9.983780e-07> : tensor<bf16>
func.func @rounds_like_the_chip() -> tensor<bf16> {
  %c = axh.constant dense<1.0e-06> : tensor<f32>
  %b = axh.cast %c : tensor<f32> -> tensor<bf16>
  func.return %b : tensor<bf16>
}

// -----

// A cast of a computed value is real work and stays.
// CHECK-LABEL: func.func @cast_of_value_stays
// CHECK: axh.cast %{{.*}} : tensor<4xf32> -> tensor<4xbf16>
func.func @cast_of_value_stays(%x: tensor<4xf32>) -> tensor<4xbf16> {
  %b = axh.cast %x : tensor<4xf32> -> tensor<4xbf16>
  func.return %b : tensor<4xbf16>
}

// -----

// A cast to an integer type is left to the lowering (not a hidden-type rounding).
// CHECK-LABEL: func.func @integer_target_stays
// CHECK: axh.cast %{{.*}} : tensor<f32> -> tensor<i32>
func.func @integer_target_stays() -> tensor<i32> {
  %c = axh.constant dense<3.0> : tensor<f32>
  %b = axh.cast %c : tensor<f32> -> tensor<i32>
  func.return %b : tensor<i32>
}
