//===- NNTest.cpp - forward checks of softmax, norms, reductions, matmul,
//                  attention and cross-entropy (and their gradient ops)
//                  ---===//
//
// Expected values are written by hand or were computed with PyTorch 1.13 in
// float64 (noted where so); none comes from the interpreter.
//
//===----------------------------------------------------------------------===//

#include "InterpTestUtils.h"

#include <cmath>

using namespace pztest;

namespace {

using NNTest = InterpFixture;

TEST_F(NNTest, SoftmaxAndLogSoftmaxOf123) {
  auto r = eval(R"(
    func.func @f(%x: tensor<3xf64>) -> (tensor<3xf64>, tensor<3xf64>) {
      %0 = pz.softmax %x {axis = 0 : i64} : tensor<3xf64>
      %1 = pz.log_softmax %x {axis = 0 : i64} : tensor<3xf64>
      return %0, %1 : tensor<3xf64>, tensor<3xf64>
    })",
                {T({3}, {1, 2, 3})});
  ASSERT_EQ(r.size(), 2u);
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expectTensor(r[0], {3},
               {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z});
  expectTensor(r[1], {3},
               {-2.4076059644443806, -1.4076059644443804, -0.4076059644443804});
}

TEST_F(NNTest, SoftmaxIsMaxSubtractedAndWorksOnAMiddleAxis) {
  // Large inputs would overflow exp() without the max subtraction.
  auto big = eval(R"(
    func.func @f(%x: tensor<3xf64>) -> tensor<3xf64> {
      %0 = pz.softmax %x {axis = 0 : i64} : tensor<3xf64>
      return %0 : tensor<3xf64>
    })",
                  {T({3}, {1001, 1002, 1003})});
  ASSERT_EQ(big.size(), 1u);
  expectTensor(big[0], {3},
               {0.09003057317038045, 0.2447284710547976, 0.6652409557748218});
  // x = arange(12).reshape(2, 3, 2) * 0.5 - 2, softmax over dim 1 (torch).
  std::vector<double> x;
  for (int i = 0; i < 12; ++i)
    x.push_back(i * 0.5 - 2);
  auto r = eval(R"(
    func.func @f(%x: tensor<2x3x2xf64>) -> (tensor<2x3x2xf64>, tensor<2x3x2xf64>) {
      %0 = pz.softmax %x {axis = 1 : i64} : tensor<2x3x2xf64>
      %1 = pz.log_softmax %x {axis = 1 : i64} : tensor<2x3x2xf64>
      return %0, %1 : tensor<2x3x2xf64>, tensor<2x3x2xf64>
    })",
                {T({2, 3, 2}, x)});
  ASSERT_EQ(r.size(), 2u);
  double a = 0.09003057317038046, b = 0.24472847105479764,
         c = 0.6652409557748218;
  expectTensor(r[0], {2, 3, 2}, {a, a, b, b, c, c, a, a, b, b, c, c});
  double la = -2.4076059644443806, lb = -1.4076059644443804,
         lc = -0.4076059644443804;
  expectTensor(r[1], {2, 3, 2},
               {la, la, lb, lb, lc, lc, la, la, lb, lb, lc, lc});
}

static const char *kNorms = R"(
  func.func @f(%x: tensor<2x4xf64>, %w: tensor<4xf64>, %b: tensor<4xf64>)
      -> (tensor<2x4xf64>, tensor<2x4xf64>, tensor<2x4xf64>, tensor<2x4xf64>) {
    %0 = pz.layer_norm %x {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x4xf64> -> tensor<2x4xf64>
    %1 = pz.layer_norm %x scale(%w : tensor<4xf64>) bias(%b : tensor<4xf64>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x4xf64> -> tensor<2x4xf64>
    %2 = pz.rms_norm %x {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x4xf64> -> tensor<2x4xf64>
    %3 = pz.rms_norm %x scale(%w : tensor<4xf64>) {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x4xf64> -> tensor<2x4xf64>
    return %0, %1, %2, %3 : tensor<2x4xf64>, tensor<2x4xf64>, tensor<2x4xf64>, tensor<2x4xf64>
  })";

TEST_F(NNTest, LayerNormAndRMSNormOfKnownVectors) {
  auto r =
      eval(kNorms, {T({2, 4}, {1, 2, 3, 4, 2, -1, 0.5, 0}),
                    T({4}, {0.5, 1, -1, 2}), T({4}, {0.1, 0.2, 0.3, 0.4})});
  ASSERT_EQ(r.size(), 4u);
  // Row [1, 2, 3, 4]: mean 2.5, biased variance 1.25 (by hand).
  double s = 1 / std::sqrt(1.25 + 1e-5);
  expectTensor(r[0], {2, 4},
               {-1.5 * s, -0.5 * s, 0.5 * s, 1.5 * s, 1.5011042951950309,
                -1.2701651728573338, 0.11546956116884854, -0.3464086835065456});
  // PyTorch F.layer_norm / Llama-style RMSNorm.
  expectTensor(r[1], {2, 4},
               {-0.5708177099844636, -0.2472118066563091, -0.1472118066563089,
                3.0832708399378537, 0.8505521475975154, -1.0701651728573338,
                0.18453043883115144, -0.29281736701309113});
  expectTensor(r[2], {2, 4},
               {0.3651483473268884, 0.7302966946537768, 1.0954450419806652,
                1.4605933893075536, 1.7457424568433204, -0.8728712284216602,
                0.4364356142108301, 0.0});
  expectTensor(r[3], {2, 4},
               {0.1825741736634442, 0.7302966946537768, -1.0954450419806652,
                2.921186778615107, 0.8728712284216602, -0.8728712284216602,
                -0.4364356142108301, 0.0});
}

TEST_F(NNTest, NormGradsMatchTorchAutograd) {
  auto r =
      eval(R"(
    func.func @f(%g: tensor<2x4xf64>, %x: tensor<2x4xf64>, %w: tensor<4xf64>)
        -> (tensor<2x4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<2x4xf64>, tensor<4xf64>) {
      %dx, %dw, %db = pz.layer_norm_grad %g, %x scale(%w : tensor<4xf64>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x4xf64> -> tensor<2x4xf64>, tensor<4xf64>, tensor<4xf64>
      %rx, %rw = pz.rms_norm_grad %g, %x scale(%w : tensor<4xf64>) {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x4xf64> -> tensor<2x4xf64>, tensor<4xf64>
      return %dx, %dw, %db, %rx, %rw : tensor<2x4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<2x4xf64>, tensor<4xf64>
    })",
           {T({2, 4}, {0.3, -0.2, 0.7, 1.1, -0.5, 0.4, 0.2, -0.9}),
            T({2, 4}, {1, 2, 3, 4, 2, -1, 0.5, 0}), T({4}, {0.5, 1, -1, 2})});
  ASSERT_EQ(r.size(), 5u);
  expectTensor(r[0], {2, 4},
               {0.5679529303099274, -0.2504406331087281, -1.2029977385242763,
                0.885485441323077, 0.2943695643979357, 0.7137565555635299,
                0.250030025409266, -1.2581561453707317});
  expectTensor(r[1], {4},
               {-1.1530427735881936, -0.41862370781167174, 0.33614217689318593,
                1.7875667771217107});
  expectTensor(r[2], {4}, {-0.2, 0.2, 0.9, 0.2});
  expectTensor(r[3], {2, 4},
               {-0.023734632108663202, -0.23004343788077058,
                -0.4911244957519112, 0.4892988272883686, 0.11430431227645982,
                0.1828874316777267, -0.09144371583886335, -1.5711682111589884});
  expectTensor(r[4], {4},
               {-0.7633267242235937, -0.4952078302994195, 0.8540986522286316,
                1.606652728238309});
}

TEST_F(NNTest, Reductions) {
  auto r = eval(R"(
    func.func @f(%x: tensor<2x3xf64>)
        -> (tensor<2xf64>, tensor<1x3xf64>, tensor<f64>, tensor<2x1xf64>, tensor<3xf64>) {
      %0 = pz.reduce_sum %x [1] : tensor<2x3xf64> -> tensor<2xf64>
      %1 = pz.reduce_sum %x [0] {keepdims} : tensor<2x3xf64> -> tensor<1x3xf64>
      %2 = pz.reduce_mean %x [0, 1] : tensor<2x3xf64> -> tensor<f64>
      %3 = pz.reduce_max %x [1] {keepdims} : tensor<2x3xf64> -> tensor<2x1xf64>
      %4 = pz.reduce_max %x [0] : tensor<2x3xf64> -> tensor<3xf64>
      return %0, %1, %2, %3, %4 : tensor<2xf64>, tensor<1x3xf64>, tensor<f64>, tensor<2x1xf64>, tensor<3xf64>
    })",
                {T({2, 3}, {1, 5, 3, 4, 2, 6})});
  ASSERT_EQ(r.size(), 5u);
  expectTensor(r[0], {2}, {9, 12});
  expectTensor(r[1], {1, 3}, {5, 7, 9});
  expectTensor(r[2], {}, {3.5});
  expectTensor(r[3], {2, 1}, {5, 6});
  expectTensor(r[4], {3}, {4, 5, 6});
}

TEST_F(NNTest, ReduceMaxGradSplitsTiesEvenly) {
  // torch.amax spreads the gradient evenly over tied maxima.
  auto r = eval(
      R"(
    func.func @f(%g: tensor<2xf64>, %x: tensor<2x3xf64>, %gk: tensor<1x3xf64>)
        -> (tensor<2x3xf64>, tensor<2x3xf64>) {
      %0 = pz.reduce_max_grad %g, %x [1] : tensor<2xf64>, tensor<2x3xf64>
      %1 = pz.reduce_max_grad %gk, %x [0] {keepdims} : tensor<1x3xf64>, tensor<2x3xf64>
      return %0, %1 : tensor<2x3xf64>, tensor<2x3xf64>
    })",
      {T({2}, {4, 10}), T({2, 3}, {1, 3, 3, 7, 2, 7}), T({1, 3}, {1, 2, 3})});
  ASSERT_EQ(r.size(), 2u);
  expectTensor(r[0], {2, 3}, {0, 2, 2, 5, 0, 5});
  expectTensor(r[1], {2, 3}, {0, 2, 0, 1, 0, 3});
}

TEST_F(NNTest, MatmulTransposesAndBatchBroadcast) {
  // A = [[1, 2], [3, 4]], B = [[5, 6], [7, 8]]: AB = [[19, 22], [43, 50]],
  // A^T B = [[26, 30], [38, 44]], A B^T = [[17, 23], [39, 53]],
  // A^T B^T = [[23, 31], [34, 46]].
  auto r = eval(R"(
    func.func @f(%a: tensor<2x2xf64>, %b: tensor<2x2xf64>)
        -> (tensor<2x2xf64>, tensor<2x2xf64>, tensor<2x2xf64>, tensor<2x2xf64>) {
      %0 = pz.matmul %a, %b : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
      %1 = pz.matmul %a, %b {transpose_lhs} : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
      %2 = pz.matmul %a, %b {transpose_rhs} : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
      %3 = pz.matmul %a, %b {transpose_lhs, transpose_rhs} : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
      return %0, %1, %2, %3 : tensor<2x2xf64>, tensor<2x2xf64>, tensor<2x2xf64>, tensor<2x2xf64>
    })",
                {T({2, 2}, {1, 2, 3, 4}), T({2, 2}, {5, 6, 7, 8})});
  ASSERT_EQ(r.size(), 4u);
  expectTensor(r[0], {2, 2}, {19, 22, 43, 50});
  expectTensor(r[1], {2, 2}, {26, 30, 38, 44});
  expectTensor(r[2], {2, 2}, {17, 23, 39, 53});
  expectTensor(r[3], {2, 2}, {23, 31, 34, 46});
  // [2, 1, 1, 2] x [3, 2, 1] -> [2, 3, 1, 1]: batch dims broadcast.
  auto b =
      eval(R"(
    func.func @f(%a: tensor<2x1x1x2xf64>, %b: tensor<3x2x1xf64>) -> tensor<2x3x1x1xf64> {
      %0 = pz.matmul %a, %b : tensor<2x1x1x2xf64>, tensor<3x2x1xf64> -> tensor<2x3x1x1xf64>
      return %0 : tensor<2x3x1x1xf64>
    })",
           {T({2, 1, 1, 2}, {1, 2, 10, 20}), T({3, 2, 1}, {1, 1, 2, 3, 0, 5})});
  ASSERT_EQ(b.size(), 1u);
  expectTensor(b[0], {2, 3, 1, 1}, {3, 8, 10, 30, 80, 100});
}

// q: [1, 2, 4, 2], k: [1, 1, 4, 2], v: [1, 1, 4, 3] (GQA: both query heads
// read kv head 0). References from PyTorch 1.13 float64:
// softmax(q k^T * scale + mask) v with k, v repeat_interleave'd over heads.
static std::vector<double> kQ = {0.1, -0.3, 0.5,  0.2, -0.4, 0.6,  0.9,  -0.1,
                                 0.3, 0.7,  -0.2, 0.4, 0.8,  0.05, -0.6, 0.25};
static std::vector<double> kK = {0.2, 0.4, -0.5, 0.1, 0.3, -0.7, 0.6, 0.2};
static std::vector<double> kV = {1.0,  2.0, 3.0, -1.0, 0.5, 0.25,
                                 -2.0, 4.0, 1.5, 0.0,  2.5, -0.5};

TEST_F(NNTest, AttentionCausalOn1x1x2x2) {
  // By hand: row 0 sees key 0 only; row 1 weighs keys 0 and 1 with
  // softmax([0, 1/sqrt(2)]).
  auto r = eval(R"(
    func.func @f(%q: tensor<1x1x2x2xf64>, %k: tensor<1x1x2x2xf64>, %v: tensor<1x1x2x2xf64>) -> tensor<1x1x2x2xf64> {
      %0 = pz.attention %q, %k, %v {causal} : tensor<1x1x2x2xf64>, tensor<1x1x2x2xf64>, tensor<1x1x2x2xf64> -> tensor<1x1x2x2xf64>
      return %0 : tensor<1x1x2x2xf64>
    })",
                {T({1, 1, 2, 2}, {1, 0, 0, 1}), T({1, 1, 2, 2}, {1, 0, 0, 1}),
                 T({1, 1, 2, 2}, {1, 2, 3, 4})});
  ASSERT_EQ(r.size(), 1u);
  double p1 = 1 / (1 + std::exp(-1 / std::sqrt(2.0))), p0 = 1 - p1;
  expectTensor(r[0], {1, 1, 2, 2}, {1, 2, p0 * 1 + p1 * 3, p0 * 2 + p1 * 4});
}

TEST_F(NNTest, AttentionGQAWithCausalFloatAndBoolMasks) {
  auto r = eval(R"(
    func.func @f(%q: tensor<1x2x4x2xf64>, %k: tensor<1x1x4x2xf64>, %v: tensor<1x1x4x3xf64>,
                 %fm: tensor<1x4xf64>, %bm: tensor<4x4xi1>)
        -> (tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>) {
      %0 = pz.attention %q, %k, %v {causal} : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      %1 = pz.attention %q, %k, %v mask(%fm : tensor<1x4xf64>) {scale = 0.7 : f64} : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      %2 = pz.attention %q, %k, %v mask(%bm : tensor<4x4xi1>) : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      return %0, %1, %2 : tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>
    })",
                {T({1, 2, 4, 2}, kQ), T({1, 1, 4, 2}, kK), T({1, 1, 4, 3}, kV),
                 T({1, 4}, {0.0, -1.0, 0.5, -0.25}),
                 T({4, 4}, {1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0})});
  ASSERT_EQ(r.size(), 3u);
  expectTensor(r[0], {1, 2, 4, 3},
               {1.0,
                2.0,
                3.0,
                0.1439500495742167,
                1.3579625371806625,
                1.822931318164548,
                -0.4817413977170322,
                1.854359217118412,
                1.5590458891252545,
                -0.4759039760671161,
                2.4804013122141573,
                1.0298636184192715,
                1.0,
                2.0,
                3.0,
                -0.00707094996309221,
                1.244696787527681,
                1.6152774438007482,
                -0.6340331459757926,
                2.386320875832398,
                1.7487562019773761,
                -0.47795615949747466,
                2.0183107948923666,
                1.0555247298922525});
  expectTensor(r[1], {1, 2, 4, 3},
               {-0.8270911973579854, 2.939872754118624,  1.3518929192853262,
                -0.6102539849207921, 2.8166556156358675, 1.3373501067370739,
                -0.4646150101023146, 2.5742146434805933, 1.4101547583684026,
                -0.7304861347204585, 2.948037628412872,  1.2991490370110987,
                -0.4095133795793367, 2.6404942766886195, 1.3747937892847037,
                -0.5400192509907877, 2.6673029959263364, 1.3900495988734254,
                -0.6685696451506451, 2.8918383576456983, 1.3091782742197162,
                -0.6092813745030379, 2.6523948219903133, 1.3952819571500423});
  expectTensor(r[2], {1, 2, 4, 3},
               {-0.4614452310189266,   2.920821240676197,  1.3067169444349656,
                0.08774824056771996,   1.8038433934463267, 0.9159990686457025,
                -0.9157922327161147,   2.0077722151458604, 0.3086038727714578,
                -0.6977756838541476,   2.471264186768464,  1.7431029918429166,
                -0.0718127478074308,   2.650813517928351,  1.3169839751174293,
                -0.004898961770385901, 1.6302890728624073, 0.9655263274423851,
                -0.9224097595611505,   2.566549640019854,  0.36556815232014983,
                -0.6049692738752175,   1.8903056528157676, 1.4688932711470408});
}

// A bias adds to the scaled scores as a float mask does (that form is
// checked against PyTorch above): with a bias b and a bool mask m, the
// output and the gradients equal those with the float mask
// b + (m ? 0 : -inf), to the last bit but for the order of two additions.
TEST_F(NNTest, AttentionBiasIsAnAdditiveTermBeforeTheMask) {
  std::vector<double> g;
  for (int i = 0; i < 24; ++i)
    g.push_back(i * 0.1 - 1.0);
  auto r = eval(R"(
    func.func @f(%g: tensor<1x2x4x3xf64>, %q: tensor<1x2x4x2xf64>, %k: tensor<1x1x4x2xf64>,
                 %v: tensor<1x1x4x3xf64>, %b: tensor<1x2x1x4xf64>, %bm: tensor<4x4xi1>,
                 %fm: tensor<1x2x4x4xf64>)
        -> (tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x2x4x2xf64>,
            tensor<1x1x4x2xf64>, tensor<1x1x4x2xf64>) {
      %0 = pz.attention %q, %k, %v mask(%bm : tensor<4x4xi1>) bias(%b : tensor<1x2x1x4xf64>) {causal, scale = 0.7 : f64} : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      %1 = pz.attention %q, %k, %v mask(%fm : tensor<1x2x4x4xf64>) {causal, scale = 0.7 : f64} : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      %dq, %dk, %dv = pz.attention_grad %g, %q, %k, %v mask(%bm : tensor<4x4xi1>) bias(%b : tensor<1x2x1x4xf64>) {causal, scale = 0.7 : f64} : tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>
      %eq, %ek, %ev = pz.attention_grad %g, %q, %k, %v mask(%fm : tensor<1x2x4x4xf64>) {causal, scale = 0.7 : f64} : tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>
      return %0, %1, %dq, %eq, %dk, %ek : tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x2xf64>
    })",
                [&] {
                  std::vector<double> bias = {0, -0.25, -0.5, -0.75, 0, -0.5, -1, -1.5};
                  std::vector<double> keep = {1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0};
                  std::vector<double> fm;
                  for (int h = 0; h < 2; ++h)
                    for (int i = 0; i < 4; ++i)
                      for (int j = 0; j < 4; ++j)
                        fm.push_back(bias[h * 4 + j] + (keep[i * 4 + j] ? 0.0 : -INFINITY));
                  return std::vector<HostTensor>{
                      T({1, 2, 4, 3}, g), T({1, 2, 4, 2}, kQ), T({1, 1, 4, 2}, kK),
                      T({1, 1, 4, 3}, kV), T({1, 2, 1, 4}, bias), T({4, 4}, keep),
                      T({1, 2, 4, 4}, fm)};
                }());
  ASSERT_EQ(r.size(), 6u);
  for (int i = 0; i < 6; i += 2) {
    ASSERT_EQ(r[i].shape, r[i + 1].shape);
    for (size_t j = 0; j < r[i].data.size(); ++j)
      EXPECT_NEAR(r[i].data[j], r[i + 1].data[j], 1e-15) << "result " << i << "[" << j << "]";
  }
  // The bias changes the result (the test would pass vacuously otherwise).
  auto plain = eval(R"(
    func.func @f(%q: tensor<1x2x4x2xf64>, %k: tensor<1x1x4x2xf64>, %v: tensor<1x1x4x3xf64>,
                 %bm: tensor<4x4xi1>) -> tensor<1x2x4x3xf64> {
      %0 = pz.attention %q, %k, %v mask(%bm : tensor<4x4xi1>) {causal, scale = 0.7 : f64} : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      return %0 : tensor<1x2x4x3xf64>
    })",
                    {T({1, 2, 4, 2}, kQ), T({1, 1, 4, 2}, kK), T({1, 1, 4, 3}, kV),
                     T({4, 4}, {1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0})});
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_GT(std::fabs(plain[0].data[4] - r[0].data[4]), 1e-3);
}

TEST_F(NNTest, AttentionGradMatchesTorchAutograd) {
  // Causal plus the float mask, cotangent arange(24) * 0.1 - 1 (torch).
  std::vector<double> g;
  for (int i = 0; i < 24; ++i)
    g.push_back(i * 0.1 - 1.0);
  auto r = eval(R"(
    func.func @f(%g: tensor<1x2x4x3xf64>, %q: tensor<1x2x4x2xf64>, %k: tensor<1x1x4x2xf64>,
                 %v: tensor<1x1x4x3xf64>, %fm: tensor<1x4xf64>)
        -> (tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>) {
      %dq, %dk, %dv = pz.attention_grad %g, %q, %k, %v mask(%fm : tensor<1x4xf64>) {causal} : tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>
      return %dq, %dk, %dv : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>
    })",
                {T({1, 2, 4, 3}, g), T({1, 2, 4, 2}, kQ), T({1, 1, 4, 2}, kK),
                 T({1, 1, 4, 3}, kV), T({1, 4}, {0.0, -1.0, 0.5, -0.25})});
  ASSERT_EQ(r.size(), 3u);
  expectTensor(r[0], {1, 2, 4, 2},
               {0.0, 0.0, -0.3079051572166358, -0.1319593530928439,
                -0.08505222014245051, -0.11325782184983371,
                -0.010543976342613604, -0.04252773560411808, 0.0, 0.0,
                0.3746670453809536, 0.16057159087755155, 0.14970754459374067,
                0.2574855138727184, 0.2091347078063264, 0.11700519495685516});
  expectTensor(r[1], {1, 1, 4, 2},
               {-0.30543250038549474, 0.18716464198820687, 0.34454167771003175,
                -0.16875118671406836, -0.15584459327384295, 0.04227514050359448,
                0.11673541594930625, -0.06068859577773321});
  expectTensor(r[2], {1, 1, 4, 3},
               {-0.5787350063160694, -0.09820065166700931, 0.3823337029820504,
                0.13189160233122843, 0.22506140843781292, 0.31823121454439723,
                0.6663889201921371, 0.8495529238682504, 1.0327169275443637,
                0.18045448379270454, 0.22358631936094697, 0.26671815492918943});
}

// Ring attention: the keys in two blocks, fed out of order (positions
// 2-3 first), merged online (pz.attention_block), equal pz.attention over
// all of them; the blocks' gradients (pz.attention_block_grad, given the
// ring's output and log-sum-exp) sum to pz.attention_grad's query gradient
// and are its key and value gradients' blocks.
TEST_F(NNTest, AttentionBlocksMatchTheWholeAttention) {
  std::vector<double> g;
  for (int i = 0; i < 24; ++i)
    g.push_back(i * 0.1 - 1.0);
  auto r = eval(R"(
    func.func @f(%g: tensor<1x2x4x3xf64>, %q: tensor<1x2x4x2xf64>, %k: tensor<1x1x4x2xf64>,
                 %v: tensor<1x1x4x3xf64>)
        -> (tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x2x4x2xf64>,
            tensor<1x1x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>, tensor<1x1x4x3xf64>) {
      %o = pz.attention %q, %k, %v {causal} : tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64> -> tensor<1x2x4x3xf64>
      %dq, %dk, %dv = pz.attention_grad %g, %q, %k, %v {causal} : tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>
      %ka = pz.slice %k starts [0, 0, 2, 0] ends [1, 1, 4, 2] steps [1, 1, 1, 1] : tensor<1x1x4x2xf64> -> tensor<1x1x2x2xf64>
      %va = pz.slice %v starts [0, 0, 2, 0] ends [1, 1, 4, 3] steps [1, 1, 1, 1] : tensor<1x1x4x3xf64> -> tensor<1x1x2x3xf64>
      %kb = pz.slice %k starts [0, 0, 0, 0] ends [1, 1, 2, 2] steps [1, 1, 1, 1] : tensor<1x1x4x2xf64> -> tensor<1x1x2x2xf64>
      %vb = pz.slice %v starts [0, 0, 0, 0] ends [1, 1, 2, 3] steps [1, 1, 1, 1] : tensor<1x1x4x3xf64> -> tensor<1x1x2x3xf64>
      %qp = pz.constant dense<[0, 1, 2, 3]> : tensor<4xi64>
      %pa = pz.constant dense<[2, 3]> : tensor<2xi64>
      %pb = pz.constant dense<[0, 1]> : tensor<2xi64>
      %acc = pz.constant dense<0.0> : tensor<1x2x4x3xf64>
      %lse = pz.constant dense<0xFFF0000000000000> : tensor<1x2x4xf64>
      %a1, %l1 = pz.attention_block %q, %ka, %va into %acc, %lse positions(%qp, %pa : tensor<4xi64>, tensor<2xi64>) : tensor<1x2x4x2xf64>, tensor<1x1x2x2xf64>, tensor<1x1x2x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4xf64>
      %a2, %l2 = pz.attention_block %q, %kb, %vb into %a1, %l1 positions(%qp, %pb : tensor<4xi64>, tensor<2xi64>) : tensor<1x2x4x2xf64>, tensor<1x1x2x2xf64>, tensor<1x1x2x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4xf64>
      %qa, %dka, %dva = pz.attention_block_grad %g, %q, %ka, %va, %a2, %l2 positions(%qp, %pa : tensor<4xi64>, tensor<2xi64>) : tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x1x2x2xf64>, tensor<1x1x2x3xf64>, tensor<1x2x4xf64>
      %qb, %dkb, %dvb = pz.attention_block_grad %g, %q, %kb, %vb, %a2, %l2 positions(%qp, %pb : tensor<4xi64>, tensor<2xi64>) : tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x1x2x2xf64>, tensor<1x1x2x3xf64>, tensor<1x2x4xf64>
      %dqr = pz.add %qa, %qb : tensor<1x2x4x2xf64>, tensor<1x2x4x2xf64> -> tensor<1x2x4x2xf64>
      %dkr = pz.concat %dkb, %dka {axis = 2 : i64} : (tensor<1x1x2x2xf64>, tensor<1x1x2x2xf64>) -> tensor<1x1x4x2xf64>
      %dvr = pz.concat %dvb, %dva {axis = 2 : i64} : (tensor<1x1x2x3xf64>, tensor<1x1x2x3xf64>) -> tensor<1x1x4x3xf64>
      return %o, %a2, %dq, %dqr, %dk, %dkr, %dv, %dvr : tensor<1x2x4x3xf64>, tensor<1x2x4x3xf64>, tensor<1x2x4x2xf64>, tensor<1x2x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x2xf64>, tensor<1x1x4x3xf64>, tensor<1x1x4x3xf64>
    })",
                {T({1, 2, 4, 3}, g), T({1, 2, 4, 2}, kQ), T({1, 1, 4, 2}, kK),
                 T({1, 1, 4, 3}, kV)});
  ASSERT_EQ(r.size(), 8u);
  for (size_t i = 0; i < 8; i += 2)
    expectTensor(r[i + 1], r[i].shape, r[i].data, 1e-12);
}

static const char *kCrossEntropy = R"(
  func.func @f(%l: tensor<3x2xf64>, %y: tensor<3xi64>)
      -> (tensor<f64>, tensor<f64>, tensor<3xf64>) {
    %0 = pz.cross_entropy %l, %y mean : tensor<3x2xf64>, tensor<3xi64> -> tensor<f64>
    %1 = pz.cross_entropy %l, %y sum : tensor<3x2xf64>, tensor<3xi64> -> tensor<f64>
    %2 = pz.cross_entropy %l, %y none : tensor<3x2xf64>, tensor<3xi64> -> tensor<3xf64>
    return %0, %1, %2 : tensor<f64>, tensor<f64>, tensor<3xf64>
  })";

TEST_F(NNTest, CrossEntropyIgnoresTokens) {
  // Token 0: log 2; token 1 ignored; token 2: log(1 + e^-2).
  auto r = eval(kCrossEntropy,
                {T({3, 2}, {0, 0, 1, 2, 3, 1}), T({3}, {0, -100, 0})});
  ASSERT_EQ(r.size(), 3u);
  double t0 = std::log(2.0), t2 = std::log1p(std::exp(-2.0));
  expectTensor(r[0], {}, {(t0 + t2) / 2});
  expectTensor(r[1], {}, {t0 + t2});
  expectTensor(r[2], {3}, {t0, 0, t2});
  // torch: 0.41003759580145893 for the mean.
  EXPECT_NEAR(r[0].data[0], 0.41003759580145893, 1e-15);
}

TEST_F(NNTest, CrossEntropyMeanOverNoTokenIsNaN) {
  auto r = eval(kCrossEntropy,
                {T({3, 2}, {0, 0, 1, 2, 3, 1}), T({3}, {-100, -100, -100})});
  ASSERT_EQ(r.size(), 3u);
  EXPECT_TRUE(std::isnan(r[0].data[0]));
  expectTensor(r[1], {}, {0});
  expectTensor(r[2], {3}, {0, 0, 0});
}

TEST_F(NNTest, CrossEntropyGradMatchesTorchAutograd) {
  auto r = eval(R"(
    func.func @f(%gs: tensor<f64>, %gt: tensor<3xf64>, %l: tensor<3x2xf64>, %y: tensor<3xi64>)
        -> (tensor<3x2xf64>, tensor<3x2xf64>) {
      %0 = pz.cross_entropy_grad %gs, %l, %y mean : tensor<f64>, tensor<3x2xf64>, tensor<3xi64>
      %1 = pz.cross_entropy_grad %gt, %l, %y none : tensor<3xf64>, tensor<3x2xf64>, tensor<3xi64>
      return %0, %1 : tensor<3x2xf64>, tensor<3x2xf64>
    })",
                {T({}, {2.0}), T({3}, {1, 5, -2}),
                 T({3, 2}, {0, 0, 1, 2, 3, 1}), T({3}, {0, -100, 0})});
  ASSERT_EQ(r.size(), 2u);
  expectTensor(r[0], {3, 2},
               {-0.5, 0.5, 0, 0, -0.11920292202211769, 0.11920292202211753});
  expectTensor(r[1], {3, 2},
               {-0.5, 0.5, 0, 0, 0.23840584404423537, -0.23840584404423507});
}

TEST_F(NNTest, CrossEntropyRejectsOutOfRangeLabels) {
  std::string err = evalError(
      kCrossEntropy, {T({3, 2}, {0, 0, 1, 2, 3, 1}), T({3}, {0, 2, 0})});
  EXPECT_NE(err.find("label 2 (token 1) is out of range [0, 2)"),
            std::string::npos)
      << err;
}

} // namespace
