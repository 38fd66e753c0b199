//===- ShapeTest.cpp - forward checks of the shape and data-movement ops --===//
//
// Expected values are written by hand.
//
//===----------------------------------------------------------------------===//

#include "InterpTestUtils.h"

#include <algorithm>

using namespace pztest;

namespace {

using ShapeTest = InterpFixture;

std::vector<double> iota(int n, double start = 0) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i)
    v.push_back(start + i);
  return v;
}

TEST_F(ShapeTest, ReshapeTransposeBroadcast) {
  auto r = eval(R"(
    func.func @f(%x: tensor<2x3xf64>, %b: tensor<3x1xf64>)
        -> (tensor<3x2xf64>, tensor<3x2xf64>, tensor<2x3x2xf64>) {
      %0 = pz.reshape %x [-1, 2] : tensor<2x3xf64> -> tensor<3x2xf64>
      %1 = pz.transpose %x [1, 0] : tensor<2x3xf64> -> tensor<3x2xf64>
      %2 = pz.broadcast %b [2, 3, 2] : tensor<3x1xf64> -> tensor<2x3x2xf64>
      return %0, %1, %2 : tensor<3x2xf64>, tensor<3x2xf64>, tensor<2x3x2xf64>
    })",
                {T({2, 3}, {1, 2, 3, 4, 5, 6}), T({3, 1}, {7, 8, 9})});
  ASSERT_EQ(r.size(), 3u);
  expectTensor(r[0], {3, 2}, {1, 2, 3, 4, 5, 6});
  expectTensor(r[1], {3, 2}, {1, 4, 2, 5, 3, 6});
  expectTensor(r[2], {2, 3, 2}, {7, 7, 8, 8, 9, 9, 7, 7, 8, 8, 9, 9});
}

TEST_F(ShapeTest, TransposeOfRank3) {
  // y[i][j][k] = x[j][k][i] for permutation [2, 0, 1].
  auto r = eval(R"(
    func.func @f(%x: tensor<2x3x4xf64>) -> tensor<4x2x3xf64> {
      %0 = pz.transpose %x [2, 0, 1] : tensor<2x3x4xf64> -> tensor<4x2x3xf64>
      return %0 : tensor<4x2x3xf64>
    })",
                {T({2, 3, 4}, iota(24))});
  ASSERT_EQ(r.size(), 1u);
  std::vector<double> want;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j)
      for (int k = 0; k < 3; ++k)
        want.push_back(j * 12 + k * 4 + i);
  expectTensor(r[0], {4, 2, 3}, want);
}

TEST_F(ShapeTest, SliceWithStepsAndItsGradient) {
  auto r = eval(R"(
    func.func @f(%x: tensor<4x5xf64>, %g: tensor<2x2xf64>) -> (tensor<2x2xf64>, tensor<4x5xf64>) {
      %0 = pz.slice %x starts [1, 0] ends [4, 5] steps [2, 3] : tensor<4x5xf64> -> tensor<2x2xf64>
      %1 = pz.slice_grad %g [4, 5] starts [1, 0] ends [4, 5] steps [2, 3] : tensor<2x2xf64> -> tensor<4x5xf64>
      return %0, %1 : tensor<2x2xf64>, tensor<4x5xf64>
    })",
                {T({4, 5}, iota(20)), T({2, 2}, {1, 2, 3, 4})});
  ASSERT_EQ(r.size(), 2u);
  // Rows 1 and 3, columns 0 and 3.
  expectTensor(r[0], {2, 2}, {5, 8, 15, 18});
  expectTensor(r[1], {4, 5},
               {0, 0, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 3, 0, 0, 4, 0});
}

// The interpreter is one process: rank 0 of every group, whose chunk is the
// first ceil(N / chunks) elements.
TEST_F(ShapeTest, ShardChunkIsRankZerosChunk) {
  auto r = eval(R"(
    func.func @f(%x: tensor<5xf64>) -> (tensor<2xf64>, tensor<5xf64>) {
      %0 = pz.shard_chunk %x on @world grid_axes = [2] chunks = 4 : tensor<5xf64> -> tensor<2xf64>
      %1 = pz.shard_chunk %x on @world grid_axes = [2] chunks = 1 : tensor<5xf64> -> tensor<5xf64>
      return %0, %1 : tensor<2xf64>, tensor<5xf64>
    })",
                {T({5}, {7, 8, 9, 10, 11})});
  ASSERT_EQ(r.size(), 2u);
  expectTensor(r[0], {2}, {7, 8});
  expectTensor(r[1], {5}, {7, 8, 9, 10, 11});
}

TEST_F(ShapeTest, SliceWithNegativeStepsAndItsGradient) {
  auto r = eval(R"(
    func.func @f(%x: tensor<4x5xf64>, %g: tensor<2x3xf64>) -> (tensor<2x3xf64>, tensor<4x5xf64>, tensor<4x5xf64>) {
      %0 = pz.slice %x starts [3, 4] ends [0, -1] steps [-2, -2] : tensor<4x5xf64> -> tensor<2x3xf64>
      %1 = pz.slice_grad %g [4, 5] starts [3, 4] ends [0, -1] steps [-2, -2] : tensor<2x3xf64> -> tensor<4x5xf64>
      %2 = pz.slice %x starts [3, 4] ends [-1, -1] steps [-1, -1] : tensor<4x5xf64> -> tensor<4x5xf64>
      return %0, %1, %2 : tensor<2x3xf64>, tensor<4x5xf64>, tensor<4x5xf64>
    })",
                {T({4, 5}, iota(20)), T({2, 3}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(r.size(), 3u);
  // Rows 3 and 1, columns 4, 2 and 0, in that order.
  expectTensor(r[0], {2, 3}, {19, 17, 15, 9, 7, 5});
  expectTensor(r[1], {4, 5},
               {0, 0, 0, 0, 0, 6, 0, 5, 0, 4, 0, 0, 0, 0, 0, 3, 0, 2, 0, 1});
  std::vector<double> reversed = iota(20);
  std::reverse(reversed.begin(), reversed.end());
  expectTensor(r[2], {4, 5}, reversed);
  std::string err = evalError(R"(
    func.func @f(%x: tensor<?xf64>) -> tensor<4xf64> {
      %0 = pz.slice %x starts [3] ends [-1] steps [-1] : tensor<?xf64> -> tensor<4xf64>
      return %0 : tensor<4xf64>
    })",
                              {T({3}, {1, 2, 3})});
  EXPECT_NE(err.find("slice start 3, end -1, step -1 on dim 0 does not fit "
                     "size 3"),
            std::string::npos)
      << err;
}

TEST_F(ShapeTest, ConcatOnAMiddleAxis) {
  auto r = eval(R"(
    func.func @f(%a: tensor<2x1x2xf64>, %b: tensor<2x2x2xf64>) -> tensor<2x3x2xf64> {
      %0 = pz.concat %a, %b {axis = 1 : i64} : (tensor<2x1x2xf64>, tensor<2x2x2xf64>) -> tensor<2x3x2xf64>
      return %0 : tensor<2x3x2xf64>
    })",
                {T({2, 1, 2}, {1, 2, 3, 4}), T({2, 2, 2}, iota(8, 10))});
  ASSERT_EQ(r.size(), 1u);
  expectTensor(r[0], {2, 3, 2}, {1, 2, 10, 11, 12, 13, 3, 4, 14, 15, 16, 17});
}

TEST_F(ShapeTest, GatherAndItsScatterAddGradient) {
  auto r = eval(R"(
    func.func @f(%x: tensor<2x3xf64>, %i: tensor<2x2xi64>, %g: tensor<2x2x2xf64>)
        -> (tensor<2x2x2xf64>, tensor<2x3xf64>) {
      %0 = pz.gather %x, %i {axis = 1 : i64} : tensor<2x3xf64>, tensor<2x2xi64> -> tensor<2x2x2xf64>
      %1 = pz.gather_grad %g, %i [2, 3] {axis = 1 : i64} : tensor<2x2x2xf64>, tensor<2x2xi64> -> tensor<2x3xf64>
      return %0, %1 : tensor<2x2x2xf64>, tensor<2x3xf64>
    })",
                {T({2, 3}, {1, 2, 3, 4, 5, 6}), T({2, 2}, {0, 2, 2, 2}),
                 T({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8})});
  ASSERT_EQ(r.size(), 2u);
  // y[r][a][b] = x[r][i[a][b]].
  expectTensor(r[0], {2, 2, 2}, {1, 3, 3, 3, 4, 6, 6, 6});
  // Index 2 appears three times per row: their cotangents add up.
  expectTensor(r[1], {2, 3}, {1, 0, 2 + 3 + 4, 5, 0, 6 + 7 + 8});
  std::string err = evalError(R"(
    func.func @f(%x: tensor<2x3xf64>, %i: tensor<1xi64>) -> tensor<1x3xf64> {
      %0 = pz.gather %x, %i {axis = 0 : i64} : tensor<2x3xf64>, tensor<1xi64> -> tensor<1x3xf64>
      return %0 : tensor<1x3xf64>
    })",
                              {T({2, 3}, iota(6)), T({1}, {-1})});
  EXPECT_NE(err.find("index -1 (element 0) is out of range [0, 2)"),
            std::string::npos)
      << err;
}

TEST_F(ShapeTest, EmbeddingAndItsGradient) {
  auto r = eval(
      R"(
    func.func @f(%t: tensor<4x2xf64>, %ids: tensor<3xi32>, %g: tensor<3x2xf64>)
        -> (tensor<3x2xf64>, tensor<4x2xf64>) {
      %0 = pz.embedding %t, %ids : tensor<4x2xf64>, tensor<3xi32> -> tensor<3x2xf64>
      %1 = pz.embedding_grad %g, %ids {vocab = 4 : i64} : tensor<3x2xf64>, tensor<3xi32> -> tensor<4x2xf64>
      return %0, %1 : tensor<3x2xf64>, tensor<4x2xf64>
    })",
      {T({4, 2}, iota(8)), T({3}, {3, 1, 3}), T({3, 2}, {1, 2, 3, 4, 5, 6})});
  ASSERT_EQ(r.size(), 2u);
  expectTensor(r[0], {3, 2}, {6, 7, 2, 3, 6, 7});
  expectTensor(r[1], {4, 2}, {0, 0, 3, 4, 0, 0, 6, 8});
}

TEST_F(ShapeTest, ConstantsOfEveryKind) {
  auto r = eval(R"(
    func.func @f() -> (tensor<2xf32>, tensor<2x2xi64>, tensor<3xi1>, tensor<bf16>) {
      %0 = pz.constant dense<[1.5, -2.0]> : tensor<2xf32>
      %1 = pz.constant dense<7> : tensor<2x2xi64>
      %2 = pz.constant dense<[true, false, true]> : tensor<3xi1>
      %3 = pz.constant dense<0.5> : tensor<bf16>
      return %0, %1, %2, %3 : tensor<2xf32>, tensor<2x2xi64>, tensor<3xi1>, tensor<bf16>
    })",
                {});
  ASSERT_EQ(r.size(), 4u);
  expectTensor(r[0], {2}, {1.5, -2});
  expectTensor(r[1], {2, 2}, {7, 7, 7, 7});
  expectTensor(r[2], {3}, {1, 0, 1});
  expectTensor(r[3], {}, {0.5});
}

TEST_F(ShapeTest, DynamicDimsTakeTheirSizeFromTheArguments) {
  auto r = eval(R"(
    func.func @f(%x: tensor<?x2xf64>) -> tensor<2x?xf64> {
      %0 = pz.transpose %x [1, 0] : tensor<?x2xf64> -> tensor<2x?xf64>
      return %0 : tensor<2x?xf64>
    })",
                {T({3, 2}, iota(6))});
  ASSERT_EQ(r.size(), 1u);
  expectTensor(r[0], {2, 3}, {0, 2, 4, 1, 3, 5});
}

} // namespace
