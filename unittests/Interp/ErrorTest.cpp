//===- ErrorTest.cpp - coverage of the op set and error reporting ---------===//

#include "InterpTestUtils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

using namespace mlir;
using namespace mlir::pz::interp;
using namespace pztest;

namespace {

using ErrorTest = InterpFixture;

TEST_F(ErrorTest, EveryPZOpHasAKernel) {
  int count = 0;
  for (RegisteredOperationName name : ctx.getRegisteredOperations()) {
    // Terminators (pz.yield) are run by the op that holds them.
    if (name.getDialectNamespace() != "pz" || name.hasTrait<OpTrait::IsTerminator>())
      continue;
    ++count;
    EXPECT_TRUE(hasKernel(name.getStringRef()))
        << name.getStringRef().str() << " has no interpreter kernel";
  }
  EXPECT_GE(count, 50);
  SmallVector<StringRef> ops = supportedOps();
  EXPECT_TRUE(llvm::is_sorted(ops));
  EXPECT_TRUE(llvm::is_contained(ops, "pz.attention_grad"));
}

TEST_F(ErrorTest, UnsupportedOpIsAnErrorAtItsLocation) {
  std::string err = evalError(R"(
    func.func @f(%a: tensor<2xf64>) -> tensor<2xf64> {
      %0 = arith.addf %a, %a : tensor<2xf64> loc("my_add")
      return %0 : tensor<2xf64>
    })",
                              {T({2}, {1, 2})});
  EXPECT_NE(err.find("no kernel for 'arith.addf'"), std::string::npos) << err;
}

TEST_F(ErrorTest, ArgumentsAreCheckedAgainstTheSignature) {
  const char *src = R"(
    func.func @f(%a: tensor<2x?xf64> {pz.param = "w"}, %i: tensor<2xi64>, %m: tensor<2xi1>) -> tensor<2x?xf64> {
      return %a : tensor<2x?xf64>
    })";
  std::string err = evalError(src, {T({2, 3}, std::vector<double>(6))});
  EXPECT_NE(err.find("takes 3 arguments, got 1"), std::string::npos) << err;
  err = evalError(
      src, {T({3, 3}, std::vector<double>(9)), T({2}, {0, 1}), T({2}, {0, 1})});
  EXPECT_NE(err.find("argument #0 ('w') expects shape 'tensor<2x?xf64>' but "
                     "got 3x3"),
            std::string::npos)
      << err;
  err = evalError(src, {T({2, 1}, {0, 0}), T({2}, {0, 1.5}), T({2}, {0, 1})});
  EXPECT_NE(err.find("argument #1 (arg1) has type 'i64' but element 1 is 1.5"),
            std::string::npos)
      << err;
  err = evalError(src, {T({2, 1}, {0, 0}), T({2}, {0, 1}), T({2}, {0, 2})});
  EXPECT_NE(err.find("has type 'i1' but element 1 is 2"), std::string::npos)
      << err;
  // Unsigned and narrow arguments must lie in their type's range.
  const char *u8 = R"(
    func.func @f(%a: tensor<2xui8>, %b: tensor<2xi32>) -> tensor<2xui8> {
      return %a : tensor<2xui8>
    })";
  err = evalError(u8, {T({2}, {255, 256}), T({2}, {0, 0})});
  EXPECT_NE(err.find("has type 'ui8' but element 1 is 256"), std::string::npos)
      << err;
  err = evalError(u8, {T({2}, {-1, 0}), T({2}, {0, 0})});
  EXPECT_NE(err.find("has type 'ui8' but element 0 is -1"), std::string::npos)
      << err;
  err = evalError(u8, {T({2}, {0, 0}), T({2}, {2147483648.0, 0})});
  EXPECT_NE(err.find("has type 'i32' but element 0 is 2147483648"),
            std::string::npos)
      << err;
  err = evalError(src, {T({2, 1}, {0, 0, 0}), T({2}, {0, 1}), T({2}, {0, 1})});
  EXPECT_NE(err.find("has 3 values for shape 2x1"), std::string::npos) << err;
  HostTensor typed = T({2, 1}, {0, 0});
  typed.elementType = Float32Type::get(&ctx);
  err = evalError(src, {typed, T({2}, {0, 1}), T({2}, {0, 1})});
  EXPECT_NE(err.find("expects element type 'f64' but got 'f32'"),
            std::string::npos)
      << err;
}

TEST_F(ErrorTest, DynamicShapesThatDoNotFitAreReported) {
  std::string err = evalError(R"(
    func.func @f(%x: tensor<?xf64>) -> tensor<2x3xf64> {
      %0 = pz.reshape %x [2, 3] : tensor<?xf64> -> tensor<2x3xf64>
      return %0 : tensor<2x3xf64>
    })",
                              {T({5}, std::vector<double>(5))});
  EXPECT_NE(err.find("cannot reshape 5 (5 elements) into [2, 3]"),
            std::string::npos)
      << err;
  err = evalError(
      R"(
    func.func @f(%a: tensor<?x3xf64>, %b: tensor<?x3xf64>) -> tensor<?x3xf64> {
      %0 = pz.add %a, %b : tensor<?x3xf64>, tensor<?x3xf64> -> tensor<?x3xf64>
      return %0 : tensor<?x3xf64>
    })",
      {T({2, 3}, std::vector<double>(6)), T({4, 3}, std::vector<double>(12))});
  EXPECT_NE(err.find("operand shapes 2x3 and 4x3 do not broadcast"),
            std::string::npos)
      << err;
}

TEST_F(ErrorTest, FunctionsWithoutABodyAreRejected) {
  std::string err = evalError(R"(
    func.func private @f(%x: tensor<2xf64>) -> tensor<2xf64>
  )",
                              {T({2}, {1, 2})});
  EXPECT_NE(err.find("@f has no body"), std::string::npos) << err;
}

} // namespace
