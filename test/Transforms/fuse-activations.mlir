// RUN: parallelize-opt %s -pz-fuse-patterns -split-input-file | FileCheck %s

// GELU (erf and tanh forms) and SiLU spelled out in elementwise ops fuse
// into pz.gelu / pz.silu; constants must match by value.

// torch 1.13's export of F.gelu(x): Div(sqrt 2), Erf, Add(1), Mul(x, .),
// Mul(., 0.5).
// CHECK-LABEL: func.func @gelu_erf(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x64xf32>)
// CHECK-NEXT: [[G:%.*]] = pz.gelu [[X]] erf : tensor<4x64xf32>
// CHECK-NEXT: return [[G]]
func.func @gelu_erf(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %sqrt2 = pz.constant dense<1.41421354> : tensor<f32>
  %one = pz.constant dense<1.0> : tensor<f32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %d = pz.div %x, %sqrt2 : tensor<4x64xf32>, tensor<f32> -> tensor<4x64xf32>
  %e = pz.erf %d : tensor<4x64xf32>
  %a = pz.add %e, %one : tensor<4x64xf32>, tensor<f32> -> tensor<4x64xf32>
  %m = pz.mul %x, %a : tensor<4x64xf32>, tensor<4x64xf32> -> tensor<4x64xf32>
  %y = pz.mul %m, %half : tensor<4x64xf32>, tensor<f32> -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// Another association: (0.5 * x) * (1 + erf(x * 1/sqrt(2))), in f16.
// CHECK-LABEL: func.func @gelu_erf_reassociated(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8xf16>)
// CHECK-NEXT: [[G:%.*]] = pz.gelu [[X]] erf : tensor<8xf16>
// CHECK-NEXT: return [[G]]
func.func @gelu_erf_reassociated(%x: tensor<8xf16>) -> tensor<8xf16> {
  %rsqrt2 = pz.constant dense<0.7071> : tensor<1xf16>
  %one = pz.constant dense<1.0> : tensor<f16>
  %half = pz.constant dense<0.5> : tensor<f16>
  %d = pz.mul %rsqrt2, %x : tensor<1xf16>, tensor<8xf16> -> tensor<8xf16>
  %e = pz.erf %d : tensor<8xf16>
  %a = pz.add %one, %e : tensor<f16>, tensor<8xf16> -> tensor<8xf16>
  %hx = pz.mul %half, %x : tensor<f16>, tensor<8xf16> -> tensor<8xf16>
  %y = pz.mul %hx, %a : tensor<8xf16>, tensor<8xf16> -> tensor<8xf16>
  return %y : tensor<8xf16>
}

// -----

// GPT-2's gelu(approximate='tanh') as torch 1.13 exports it.
// CHECK-LABEL: func.func @gelu_tanh(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x256xf32>)
// CHECK-NEXT: [[G:%.*]] = pz.gelu [[X]] tanh : tensor<2x16x256xf32>
// CHECK-NEXT: return [[G]]
func.func @gelu_tanh(%x: tensor<2x16x256xf32>) -> tensor<2x16x256xf32> {
  %k = pz.constant dense<4.471500e-02> : tensor<f32>
  %c = pz.constant dense<0.797884583> : tensor<f32>
  %one = pz.constant dense<1.0> : tensor<f32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %x2 = pz.mul %x, %x : tensor<2x16x256xf32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %x3 = pz.mul %x, %x2 : tensor<2x16x256xf32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %kx3 = pz.mul %k, %x3 : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %in = pz.add %x, %kx3 : tensor<2x16x256xf32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %s = pz.mul %c, %in : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %t = pz.tanh %s : tensor<2x16x256xf32>
  %a = pz.add %one, %t : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %m = pz.mul %x, %a : tensor<2x16x256xf32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  %y = pz.mul %half, %m : tensor<f32>, tensor<2x16x256xf32> -> tensor<2x16x256xf32>
  return %y : tensor<2x16x256xf32>
}

// -----

// The cube as pow(x, 3).
// CHECK-LABEL: func.func @gelu_tanh_pow(
// CHECK-SAME: [[X:%[^:]+]]: tensor<16xf32>)
// CHECK-NEXT: [[G:%.*]] = pz.gelu [[X]] tanh : tensor<16xf32>
// CHECK-NEXT: return [[G]]
func.func @gelu_tanh_pow(%x: tensor<16xf32>) -> tensor<16xf32> {
  %three = pz.constant dense<3.0> : tensor<f32>
  %k = pz.constant dense<0.044715> : tensor<f32>
  %c = pz.constant dense<0.7978845608> : tensor<f32>
  %one = pz.constant dense<1.0> : tensor<f32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %x3 = pz.pow %x, %three : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %kx3 = pz.mul %x3, %k : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %in = pz.add %kx3, %x : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %s = pz.mul %in, %c : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %t = pz.tanh %s : tensor<16xf32>
  %a = pz.add %t, %one : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %m = pz.mul %a, %x : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %y = pz.mul %m, %half : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  return %y : tensor<16xf32>
}

// -----

// Negative: the constants are off (1.4 is not sqrt(2) at f32 precision;
// 0.04 is not 0.044715).
// CHECK-LABEL: func.func @gelu_wrong_constants(
// CHECK-NOT: pz.gelu
// CHECK: return
func.func @gelu_wrong_constants(%x: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>) {
  %bad = pz.constant dense<1.4> : tensor<f32>
  %one = pz.constant dense<1.0> : tensor<f32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %d = pz.div %x, %bad : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %e = pz.erf %d : tensor<16xf32>
  %a = pz.add %e, %one : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %m = pz.mul %x, %a : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %y = pz.mul %m, %half : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %k = pz.constant dense<0.04> : tensor<f32>
  %c = pz.constant dense<0.797884583> : tensor<f32>
  %x2 = pz.mul %x, %x : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %x3 = pz.mul %x, %x2 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %kx3 = pz.mul %k, %x3 : tensor<f32>, tensor<16xf32> -> tensor<16xf32>
  %in = pz.add %x, %kx3 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %s = pz.mul %c, %in : tensor<f32>, tensor<16xf32> -> tensor<16xf32>
  %t = pz.tanh %s : tensor<16xf32>
  %a2 = pz.add %one, %t : tensor<f32>, tensor<16xf32> -> tensor<16xf32>
  %m2 = pz.mul %x, %a2 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %y2 = pz.mul %half, %m2 : tensor<f32>, tensor<16xf32> -> tensor<16xf32>
  return %y, %y2 : tensor<16xf32>, tensor<16xf32>
}

// -----

// Negative: erf of another value than the one multiplied, and an
// intermediate read elsewhere.
// CHECK-LABEL: func.func @gelu_misses(
// CHECK-NOT: pz.gelu
// CHECK: return
func.func @gelu_misses(%x: tensor<16xf32>, %z: tensor<16xf32>) -> (tensor<16xf32>, tensor<16xf32>, tensor<16xf32>) {
  %sqrt2 = pz.constant dense<1.41421354> : tensor<f32>
  %one = pz.constant dense<1.0> : tensor<f32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %d = pz.div %z, %sqrt2 : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %e = pz.erf %d : tensor<16xf32>
  %a = pz.add %e, %one : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %m = pz.mul %x, %a : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %y = pz.mul %m, %half : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %d2 = pz.div %x, %sqrt2 : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %e2 = pz.erf %d2 : tensor<16xf32>
  %a2 = pz.add %e2, %one : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  %m2 = pz.mul %x, %a2 : tensor<16xf32>, tensor<16xf32> -> tensor<16xf32>
  %y2 = pz.mul %m2, %half : tensor<16xf32>, tensor<f32> -> tensor<16xf32>
  return %y, %y2, %e2 : tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
}

// -----

// SiLU in both operand orders.
// CHECK-LABEL: func.func @silu(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x176xf32>, [[Z:%[^:]+]]: tensor<2x176xf32>)
// CHECK-NEXT: [[S1:%.*]] = pz.silu [[X]] : tensor<2x176xf32>
// CHECK-NEXT: [[S2:%.*]] = pz.silu [[Z]] : tensor<2x176xf32>
// CHECK-NEXT: return [[S1]], [[S2]]
func.func @silu(%x: tensor<2x176xf32>, %z: tensor<2x176xf32>) -> (tensor<2x176xf32>, tensor<2x176xf32>) {
  %s = pz.sigmoid %x : tensor<2x176xf32>
  %y = pz.mul %x, %s : tensor<2x176xf32>, tensor<2x176xf32> -> tensor<2x176xf32>
  %s2 = pz.sigmoid %z : tensor<2x176xf32>
  %y2 = pz.mul %s2, %z : tensor<2x176xf32>, tensor<2x176xf32> -> tensor<2x176xf32>
  return %y, %y2 : tensor<2x176xf32>, tensor<2x176xf32>
}

// -----

// Negative: the sigmoid of another value, and a sigmoid read elsewhere.
// CHECK-LABEL: func.func @silu_misses(
// CHECK-NOT: pz.silu
// CHECK: return
func.func @silu_misses(%x: tensor<8xf32>, %z: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %s = pz.sigmoid %z : tensor<8xf32>
  %y = pz.mul %x, %s : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  %s2 = pz.sigmoid %x : tensor<8xf32>
  %y2 = pz.mul %x, %s2 : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
  return %y, %y2, %s2 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}
