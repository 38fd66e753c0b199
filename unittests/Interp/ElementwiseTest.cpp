//===- ElementwiseTest.cpp - forward checks of elementwise and logic ops --===//
//
// Expected values are written by hand or were computed with PyTorch 1.13 in
// float64 (noted where so); none comes from the interpreter.
//
//===----------------------------------------------------------------------===//

#include "InterpTestUtils.h"

#include <cmath>

using namespace pztest;

namespace {

using ElementwiseTest = InterpFixture;

TEST_F(ElementwiseTest, BinaryOpsBroadcastLikeNumpy) {
  auto r = eval(R"(
    func.func @f(%a: tensor<2x3xf64>, %b: tensor<3xf64>, %c: tensor<2x1xf64>)
        -> (tensor<2x3xf64>, tensor<2x3xf64>, tensor<2x3xf64>, tensor<2x3xf64>) {
      %0 = pz.add %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xf64>
      %1 = pz.sub %b, %a : tensor<3xf64>, tensor<2x3xf64> -> tensor<2x3xf64>
      %2 = pz.mul %a, %c : tensor<2x3xf64>, tensor<2x1xf64> -> tensor<2x3xf64>
      %3 = pz.div %a, %c : tensor<2x3xf64>, tensor<2x1xf64> -> tensor<2x3xf64>
      return %0, %1, %2, %3 : tensor<2x3xf64>, tensor<2x3xf64>, tensor<2x3xf64>, tensor<2x3xf64>
    })",
                {T({2, 3}, {1, 2, 3, 4, 5, 6}), T({3}, {10, 20, 30}),
                 T({2, 1}, {2, -4})});
  ASSERT_EQ(r.size(), 4u);
  expectTensor(r[0], {2, 3}, {11, 22, 33, 14, 25, 36});
  expectTensor(r[1], {2, 3}, {9, 18, 27, 6, 15, 24});
  expectTensor(r[2], {2, 3}, {2, 4, 6, -16, -20, -24});
  expectTensor(r[3], {2, 3}, {0.5, 1, 1.5, -1, -1.25, -1.5});
}

TEST_F(ElementwiseTest, OuterBroadcastOfBothOperands) {
  auto r = eval(R"(
    func.func @f(%a: tensor<2x1x3xf64>, %b: tensor<2x1xf64>) -> tensor<2x2x3xf64> {
      %0 = pz.mul %a, %b : tensor<2x1x3xf64>, tensor<2x1xf64> -> tensor<2x2x3xf64>
      return %0 : tensor<2x2x3xf64>
    })",
                {T({2, 1, 3}, {1, 2, 3, 4, 5, 6}), T({2, 1}, {10, 100})});
  ASSERT_EQ(r.size(), 1u);
  expectTensor(r[0], {2, 2, 3},
               {10, 20, 30, 100, 200, 300, 40, 50, 60, 400, 500, 600});
}

TEST_F(ElementwiseTest, IntegerDivisionTruncatesTowardZero) {
  auto r = eval(R"(
    func.func @f(%a: tensor<4xi64>, %b: tensor<4xi64>) -> tensor<4xi64> {
      %0 = pz.div %a, %b : tensor<4xi64>, tensor<4xi64> -> tensor<4xi64>
      return %0 : tensor<4xi64>
    })",
                {T({4}, {-7, 7, 7, -8}), T({4}, {2, -2, 2, -2})});
  ASSERT_EQ(r.size(), 1u);
  expectTensor(r[0], {4}, {-3, -3, 3, 4});
  std::string err = evalError(R"(
    func.func @f(%a: tensor<2xi32>, %b: tensor<2xi32>) -> tensor<2xi32> {
      %0 = pz.div %a, %b : tensor<2xi32>, tensor<2xi32> -> tensor<2xi32>
      return %0 : tensor<2xi32>
    })",
                              {T({2}, {1, 2}), T({2}, {1, 0})});
  EXPECT_NE(err.find("integer division by zero"), std::string::npos) << err;
}

TEST_F(ElementwiseTest, PowNegExpLogSqrtRsqrt) {
  auto r = eval(R"(
    func.func @f(%a: tensor<3xf64>, %b: tensor<3xf64>)
        -> (tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>) {
      %0 = pz.pow %a, %b : tensor<3xf64>, tensor<3xf64> -> tensor<3xf64>
      %1 = pz.neg %a : tensor<3xf64>
      %2 = pz.exp %b : tensor<3xf64>
      %3 = pz.log %a : tensor<3xf64>
      %4 = pz.sqrt %a : tensor<3xf64>
      %5 = pz.rsqrt %a : tensor<3xf64>
      return %0, %1, %2, %3, %4, %5 : tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>
    })",
                {T({3}, {4, 9, 0.25}), T({3}, {0.5, 2, 0})});
  ASSERT_EQ(r.size(), 6u);
  expectTensor(r[0], {3}, {2, 81, 1});
  expectTensor(r[1], {3}, {-4, -9, -0.25});
  expectTensor(r[2], {3}, {1.6487212707001282, 7.38905609893065, 1});
  expectTensor(r[3], {3},
               {1.3862943611198906, 2.1972245773362196, -1.3862943611198906});
  expectTensor(r[4], {3}, {2, 3, 0.5});
  expectTensor(r[5], {3}, {0.5, 1.0 / 3.0, 2});
}

TEST_F(ElementwiseTest, ActivationsMatchTorch) {
  // PyTorch 1.13, float64, on x = [-1.5, -0.25, 0.5, 1, 2].
  auto r = eval(R"(
    func.func @f(%x: tensor<5xf64>)
        -> (tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>) {
      %0 = pz.gelu %x erf : tensor<5xf64>
      %1 = pz.gelu %x tanh : tensor<5xf64>
      %2 = pz.erf %x : tensor<5xf64>
      %3 = pz.tanh %x : tensor<5xf64>
      %4 = pz.sigmoid %x : tensor<5xf64>
      %5 = pz.silu %x : tensor<5xf64>
      %6 = pz.relu %x : tensor<5xf64>
      return %0, %1, %2, %3, %4, %5, %6 : tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>, tensor<5xf64>
    })",
                {T({5}, {-1.5, -0.25, 0.5, 1.0, 2.0})});
  ASSERT_EQ(r.size(), 7u);
  expectTensor(r[0], {5},
               {-0.10021080190328704, -0.10032341857926907, 0.34573123063700656,
                0.841344746068543, 1.9544997361036416});
  expectTensor(r[1], {5},
               {-0.10042842301976707, -0.100324649298315, 0.34571400982514394,
                0.8411919906082768, 1.954597694087775});
  expectTensor(r[2], {5},
               {-0.9661051464753108, -0.27632639016823696, 0.5204998778130465,
                0.8427007929497149, 0.9953222650189527});
  expectTensor(r[3], {5},
               {-0.9051482536448664, -0.24491866240370913, 0.46211715726000974,
                0.7615941559557649, 0.9640275800758169});
  expectTensor(r[4], {5},
               {0.18242552380635635, 0.43782349911420193, 0.6224593312018546,
                0.7310585786300049, 0.8807970779778823});
  expectTensor(r[5], {5},
               {-0.2736382857095345, -0.10945587477855048, 0.3112296656009273,
                0.7310585786300049, 1.7615941559557646});
  expectTensor(r[6], {5}, {0, 0, 0.5, 1, 2});
}

TEST_F(ElementwiseTest, CompareNotAndWhere) {
  auto r = eval(
      R"(
    func.func @f(%a: tensor<2x3xf64>, %b: tensor<3xf64>, %c: tensor<2x1xi1>)
        -> (tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xf64>) {
      %eq = pz.compare eq, %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xi1>
      %lt = pz.compare lt, %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xi1>
      %le = pz.compare le, %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xi1>
      %gt = pz.compare gt, %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xi1>
      %ge = pz.compare ge, %a, %b : tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xi1>
      %n = pz.not %lt : tensor<2x3xi1>
      %w = pz.where %c, %a, %b : tensor<2x1xi1>, tensor<2x3xf64>, tensor<3xf64> -> tensor<2x3xf64>
      return %eq, %lt, %le, %gt, %ge, %n, %w : tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xf64>
    })",
      {T({2, 3}, {1, 5, NAN, 3, 2, 1}), T({3}, {1, 2, 3}), T({2, 1}, {1, 0})});
  ASSERT_EQ(r.size(), 7u);
  // A NaN compares false, every time.
  expectTensor(r[0], {2, 3}, {1, 0, 0, 0, 1, 0});
  expectTensor(r[1], {2, 3}, {0, 0, 0, 0, 0, 1});
  expectTensor(r[2], {2, 3}, {1, 0, 0, 0, 1, 1});
  expectTensor(r[3], {2, 3}, {0, 1, 0, 1, 0, 0});
  expectTensor(r[4], {2, 3}, {1, 1, 0, 1, 1, 0});
  expectTensor(r[5], {2, 3}, {1, 1, 1, 1, 1, 0});
  expectTensor(r[6], {2, 3}, {1, 5, NAN, 1, 2, 3});
}

TEST_F(ElementwiseTest, CastRoundsToTheDestinationType) {
  auto r = eval(R"(
    func.func @f(%x: tensor<4xf64>, %i: tensor<3xi64>)
        -> (tensor<4xf32>, tensor<4xf64>, tensor<4xi32>, tensor<4xi1>, tensor<3xf64>, tensor<4xbf16>) {
      %0 = pz.cast %x : tensor<4xf64> to f32
      %1 = pz.cast %0 : tensor<4xf32> to f64
      %2 = pz.cast %x : tensor<4xf64> to i32
      %3 = pz.cast %x : tensor<4xf64> to i1
      %4 = pz.cast %i : tensor<3xi64> to f64
      %5 = pz.cast %x : tensor<4xf64> to bf16
      return %0, %1, %2, %3, %4, %5 : tensor<4xf32>, tensor<4xf64>, tensor<4xi32>, tensor<4xi1>, tensor<3xf64>, tensor<4xbf16>
    })",
                {T({4}, {0.1, -2.7, 0.0, 1e10}), T({3}, {-3, 0, 7})});
  ASSERT_EQ(r.size(), 6u);
  std::vector<double> asF32 = {static_cast<float>(0.1), -2.7f, 0.0, 1e10f};
  expectTensor(r[0], {4}, asF32, 0.0);
  expectTensor(r[1], {4}, asF32, 0.0);
  EXPECT_NE(r[1].data[0], 0.1); // the f32 rounding is visible in f64
  // Truncation toward zero; 1e10 wraps modulo 2^32 in i32 (1410065408).
  expectTensor(r[2], {4}, {0, -2, 0, 1410065408}, 0.0);
  expectTensor(r[3], {4}, {1, 1, 0, 1}, 0.0);
  expectTensor(r[4], {3}, {-3, 0, 7}, 0.0);
  // bf16 keeps 8 bits of mantissa: 0.1 -> 0.10009765625, -2.7 -> -2.703125,
  // 1e10 -> 9999220736.
  expectTensor(r[5], {4}, {0.10009765625, -2.703125, 0, 9999220736.0}, 0.0);
}

// Integer results wrap modulo 2^width, as numpy's uint8/uint16/int32 do
// (np.uint8(200) + np.uint8(100) == 44, -np.uint8(200) == 56, ...).
TEST_F(ElementwiseTest, IntegerArithmeticWrapsToTheType) {
  auto r = eval(R"(
    func.func @f(%a: tensor<4xui8>, %b: tensor<4xui8>, %c: tensor<2xui16>, %i: tensor<2xi32>)
        -> (tensor<4xui8>, tensor<4xui8>, tensor<4xui8>, tensor<4xui8>, tensor<4xui8>,
            tensor<ui8>, tensor<ui8>, tensor<2xui16>, tensor<2xi32>, tensor<4xi1>) {
      %0 = pz.add %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
      %1 = pz.sub %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
      %2 = pz.mul %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
      %3 = pz.div %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
      %4 = pz.neg %a : tensor<4xui8>
      %5 = pz.reduce_sum %a [0] : tensor<4xui8> -> tensor<ui8>
      %6 = pz.reduce_max %a [0] : tensor<4xui8> -> tensor<ui8>
      %7 = pz.mul %c, %c : tensor<2xui16>, tensor<2xui16> -> tensor<2xui16>
      %8 = pz.add %i, %i : tensor<2xi32>, tensor<2xi32> -> tensor<2xi32>
      %9 = pz.compare gt, %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xi1>
      return %0, %1, %2, %3, %4, %5, %6, %7, %8, %9 : tensor<4xui8>, tensor<4xui8>, tensor<4xui8>,
          tensor<4xui8>, tensor<4xui8>, tensor<ui8>, tensor<ui8>, tensor<2xui16>, tensor<2xi32>, tensor<4xi1>
    })",
                {T({4}, {200, 10, 255, 0}), T({4}, {100, 20, 2, 7}),
                 T({2}, {65535, 300}), T({2}, {2147483647, -2147483648.0})});
  ASSERT_EQ(r.size(), 10u);
  expectTensor(r[0], {4}, {44, 30, 1, 7}, 0.0);
  expectTensor(r[1], {4}, {100, 246, 253, 249}, 0.0);
  expectTensor(r[2], {4}, {32, 200, 254, 0}, 0.0);
  expectTensor(r[3], {4}, {2, 0, 127, 0}, 0.0);
  expectTensor(r[4], {4}, {56, 246, 1, 0}, 0.0);
  expectTensor(r[5], {}, {209}, 0.0); // 465 mod 256
  expectTensor(r[6], {}, {255}, 0.0);
  expectTensor(r[7], {2}, {1, 24464}, 0.0); // 65535^2, 90000 mod 65536
  expectTensor(r[8], {2}, {-2, 0}, 0.0);    // int32 two's complement
  expectTensor(r[9], {4}, {1, 0, 1, 0}, 0.0);
  std::string err = evalError(R"(
    func.func @f(%a: tensor<2xui8>, %b: tensor<2xui8>) -> tensor<2xui8> {
      %0 = pz.div %a, %b : tensor<2xui8>, tensor<2xui8> -> tensor<2xui8>
      return %0 : tensor<2xui8>
    })",
                              {T({2}, {1, 2}), T({2}, {1, 0})});
  EXPECT_NE(err.find("integer division by zero"), std::string::npos) << err;
}

// ONNX Cast: integers wrap to the target's width (two's complement for the
// signed types), floats truncate toward zero first; unsigned constants read
// as unsigned values.
TEST_F(ElementwiseTest, CastsToAndFromUnsignedTypes) {
  auto r = eval(R"(
    func.func @f(%x: tensor<4xf64>, %i: tensor<3xi64>, %w: tensor<2xui32>)
        -> (tensor<4xui8>, tensor<3xui8>, tensor<3xui16>, tensor<2xi32>, tensor<2xf32>,
            tensor<2xui64>, tensor<2xf64>, tensor<2xi1>) {
      %0 = pz.cast %x : tensor<4xf64> to ui8
      %1 = pz.cast %i : tensor<3xi64> to ui8
      %2 = pz.cast %i : tensor<3xi64> to ui16
      %3 = pz.cast %w : tensor<2xui32> to i32
      %4 = pz.cast %w : tensor<2xui32> to f32
      %i2 = pz.slice %i starts [0] ends [2] steps [1] : tensor<3xi64> -> tensor<2xi64>
      %5 = pz.cast %i2 : tensor<2xi64> to ui64
      %k = pz.constant dense<[200, 255]> : tensor<2xui8>
      %6 = pz.cast %k : tensor<2xui8> to f64
      %7 = pz.cast %k : tensor<2xui8> to i1
      return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<4xui8>, tensor<3xui8>, tensor<3xui16>,
          tensor<2xi32>, tensor<2xf32>, tensor<2xui64>, tensor<2xf64>, tensor<2xi1>
    })",
                {T({4}, {300.75, -1.0, 255.5, -0.5}), T({3}, {-1, 300, 70000}),
                 T({2}, {4294967295.0, 7})});
  ASSERT_EQ(r.size(), 8u);
  expectTensor(r[0], {4}, {44, 255, 255, 0}, 0.0);
  expectTensor(r[1], {3}, {255, 44, 112}, 0.0);     // 70000 mod 256 = 112
  expectTensor(r[2], {3}, {65535, 300, 4464}, 0.0); // 70000 mod 65536
  expectTensor(r[3], {2}, {-1, 7}, 0.0);
  expectTensor(r[4], {2}, {4294967296.0, 7}, 0.0); // rounded to f32
  // 2^64 - 1 is 2^64 as a double, the nearest to ui64's largest value.
  expectTensor(r[5], {2}, {18446744073709551616.0, 300}, 0.0);
  expectTensor(r[6], {2}, {200, 255}, 0.0);
  expectTensor(r[7], {2}, {1, 1}, 0.0);
  // ONNX leaves floats beyond the integer range undefined; the interpreter
  // says so.
  std::string err = evalError(R"(
    func.func @f(%x: tensor<2xf64>) -> tensor<2xui64> {
      %0 = pz.cast %x : tensor<2xf64> to ui64
      return %0 : tensor<2xui64>
    })",
                              {T({2}, {1e19, 2e19})});
  EXPECT_NE(err.find("element 1 (2e+19) does not convert to 'ui64'"),
            std::string::npos)
      << err;
}

TEST_F(ElementwiseTest, TriluKeepsTheTriangle) {
  auto r = eval(R"(
    func.func @f(%x: tensor<2x3x3xf64>) -> (tensor<2x3x3xf64>, tensor<2x3x3xf64>) {
      %u = pz.trilu %x upper diagonal 1 : tensor<2x3x3xf64>
      %l = pz.trilu %x : tensor<2x3x3xf64>
      return %u, %l : tensor<2x3x3xf64>, tensor<2x3x3xf64>
    })",
                {T({2, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15,
                               16, 17, 18, 19})});
  ASSERT_EQ(r.size(), 2u);
  expectTensor(r[0], {2, 3, 3},
               {0, 2, 3, 0, 0, 6, 0, 0, 0, 0, 12, 13, 0, 0, 16, 0, 0, 0});
  expectTensor(r[1], {2, 3, 3},
               {1, 0, 0, 4, 5, 0, 7, 8, 9, 11, 0, 0, 14, 15, 0, 17, 18, 19});
  auto m = eval(R"(
    func.func @f(%x: tensor<3x4xi1>) -> tensor<3x4xi1> {
      %u = pz.trilu %x diagonal -1 : tensor<3x4xi1>
      return %u : tensor<3x4xi1>
    })",
                {T({3, 4}, std::vector<double>(12, 1.0))});
  ASSERT_EQ(m.size(), 1u);
  expectTensor(m[0], {3, 4}, {0, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0});
}

TEST_F(ElementwiseTest, GeluAndReluGradMatchTorchAutograd) {
  // PyTorch 1.13 float64 autograd of gelu with the cotangent g.
  auto r = eval(R"(
    func.func @f(%g: tensor<5xf64>, %x: tensor<5xf64>)
        -> (tensor<5xf64>, tensor<5xf64>, tensor<5xf64>) {
      %0 = pz.gelu_grad %g, %x erf : tensor<5xf64>
      %1 = pz.gelu_grad %g, %x tanh : tensor<5xf64>
      %2 = pz.relu_grad %g, %x : tensor<5xf64>
      return %0, %1, %2 : tensor<5xf64>, tensor<5xf64>, tensor<5xf64>
    })",
                {T({5}, {1.0, 2.0, -1.0, 0.5, 3.0}),
                 T({5}, {-1.5, -0.25, 0.5, 1.0, 2.0})});
  ASSERT_EQ(r.size(), 3u);
  expectTensor(r[0], {5},
               {-0.1274691922299796, 0.609253290232728, -0.8674951246561629,
                0.5416577352938432, 3.255695403234591});
  expectTensor(r[1], {5},
               {-0.12771079315143308, 0.6092918096978791, -0.8673699035346424,
                0.5414820419228913, 3.258297769870855});
  expectTensor(r[2], {5}, {0, 0, -1, 0.5, 3});
  // relu_grad is 0 at 0 (PyTorch's convention).
  auto z = eval(R"(
    func.func @f(%g: tensor<1xf64>, %x: tensor<1xf64>) -> tensor<1xf64> {
      %0 = pz.relu_grad %g, %x : tensor<1xf64>
      return %0 : tensor<1xf64>
    })",
                {T({1}, {4.0}), T({1}, {0.0})});
  ASSERT_EQ(z.size(), 1u);
  expectTensor(z[0], {1}, {0});
}

} // namespace
