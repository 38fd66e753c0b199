//===- FoldTest.cpp - the bound on what constant folding may allocate -----===//
//
// Builds a small model in the importer's structs: Constant -> ConstantOfShape
// (100 zeros) -> Cos (folded by the reference interpreter), and imports it
// under bounds (ImportOptions::maxFoldedElements) that the folds cross.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Import/ONNX/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

namespace {

Node node(std::string name, std::string op, std::vector<std::string> ins,
          std::string out) {
  Node n;
  n.name = std::move(name);
  n.opType = std::move(op);
  n.inputs = std::move(ins);
  n.outputs = {std::move(out)};
  return n;
}

/// shape = Constant([100]); zeros = ConstantOfShape(shape); c = Cos(zeros).
Model cosOfZeros() {
  Model m;
  m.irVersion = 8;
  m.opsets = {{"", 17}};
  m.hasGraph = true;
  Node shape = node("shape", "Constant", {}, "shape");
  NodeAttribute value;
  value.name = "value_ints";
  value.kind = NodeAttribute::Kind::Ints;
  value.ints = {100};
  shape.attributes.push_back(value);
  m.graph.name = "g";
  m.graph.nodes = {shape, node("zeros", "ConstantOfShape", {"shape"}, "zeros"),
                   node("cos", "Cos", {"zeros"}, "c")};
  ValueInfo out;
  out.name = "c";
  out.kind = ValueInfo::Kind::Tensor;
  out.elemType = DataType::Float;
  m.graph.outputs = {out};
  return m;
}

/// Imports `m` with the bound; returns the module (null on failure) and the
/// errors as "NODE: MESSAGE" lines.
OwningOpRef<ModuleOp> importWithBound(MLIRContext &ctx, const Model &m, int64_t bound,
                             std::string &errors) {
  ImportOptions options;
  options.maxFoldedElements = bound;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    if (auto name = llvm::dyn_cast<NameLoc>(d.getLocation()))
      errors += name.getName().str() + ": ";
    errors += d.str() + "\n";
    return success();
  });
  return importModel(ctx, m, "fold.onnx", options);
}

TEST(ImportFold, InterpreterFoldPastTheBoundIsAnErrorAtTheNode) {
  MLIRContext ctx;
  std::string errors;
  EXPECT_FALSE(importWithBound(ctx, cosOfZeros(), 150, errors));
  EXPECT_EQ(errors, "cos: folding this Cos node would hold 100 more constant "
                    "elements on the host, past the import's bound of 150 "
                    "(101 held already)\n");
}

TEST(ImportFold, FolderPastTheBoundIsAnErrorAtTheNode) {
  MLIRContext ctx;
  std::string errors;
  EXPECT_FALSE(importWithBound(ctx, cosOfZeros(), 100, errors));
  EXPECT_EQ(errors, "zeros: folding this ConstantOfShape node brings the "
                    "constant elements held on the host to 101, past the "
                    "import's bound of 100\n");
}

TEST(ImportFold, WithinTheBoundCosFoldsToOnes) {
  MLIRContext ctx;
  std::string errors;
  OwningOpRef<ModuleOp> module = importWithBound(ctx, cosOfZeros(), 201, errors);
  ASSERT_TRUE(module) << errors;
  auto fn = module->lookupSymbol<func::FuncOp>("forward");
  ASSERT_TRUE(fn);
  Block &body = fn.getBody().front();
  ASSERT_EQ(body.getOperations().size(), 2u); // the constant and the return
  auto c = llvm::dyn_cast<ConstantOp>(&body.front());
  ASSERT_TRUE(c);
  auto values = llvm::cast<DenseElementsAttr>(c.getValue());
  EXPECT_EQ(values.getNumElements(), 100);
  for (float v : values.getValues<float>())
    EXPECT_EQ(v, 1.0f);
}

/// zeros (100, as in cosOfZeros) split into a sequence of 100 scalars by
/// SplitToSequence and joined again by ConcatFromSequence.
Model splitAndJoin() {
  Model m = cosOfZeros();
  m.graph.nodes.pop_back();
  Node split = node("split", "SplitToSequence", {"zeros"}, "parts");
  NodeAttribute keep;
  keep.name = "keepdims";
  keep.kind = NodeAttribute::Kind::Int;
  keep.i = 0;
  split.attributes.push_back(keep);
  Node concat = node("concat", "ConcatFromSequence", {"parts"}, "c");
  NodeAttribute axis;
  axis.name = "axis";
  axis.kind = NodeAttribute::Kind::Int;
  axis.i = 0;
  concat.attributes.push_back(axis);
  NodeAttribute stack = axis;
  stack.name = "new_axis";
  stack.i = 1;
  concat.attributes.push_back(stack);
  m.graph.nodes.push_back(split);
  m.graph.nodes.push_back(concat);
  return m;
}

TEST(ImportFold, SequenceItemsCountAgainstTheBound) {
  MLIRContext ctx;
  std::string errors;
  // shape (1) + zeros (100) + the 100 items of the sequence; the concat
  // joins them into zeros again, which is held once (interned).
  EXPECT_FALSE(importWithBound(ctx, splitAndJoin(), 150, errors));
  EXPECT_EQ(errors, "split: folding this SplitToSequence node brings the "
                    "constant elements held on the host to 201, past the "
                    "import's bound of 150\n");
  errors.clear();
  EXPECT_TRUE(importWithBound(ctx, splitAndJoin(), 201, errors)) << errors;
}

/// A Loop with the trip count `trips` and a body that passes its condition
/// through: unrolled at import time.
Model loopOf(int64_t trips) {
  Model m;
  m.irVersion = 8;
  m.opsets = {{"", 17}};
  m.hasGraph = true;
  Node count = node("count", "Constant", {}, "count");
  NodeAttribute value;
  value.name = "value_int";
  value.kind = NodeAttribute::Kind::Int;
  value.i = trips;
  count.attributes.push_back(value);
  Node start = node("start", "Constant", {}, "start");
  value.i = 0;
  start.attributes.push_back(value);
  auto body = std::make_shared<Graph>();
  body->name = "body";
  ValueInfo i, c, acc, cOut, accOut;
  i.name = "i";
  c.name = "c";
  acc.name = "acc";
  cOut.name = "c_out";
  accOut.name = "acc_out";
  body->inputs = {i, c, acc};
  body->outputs = {cOut, accOut};
  body->nodes = {node("cond", "Identity", {"c"}, "c_out"),
                 node("step", "Add", {"acc", "i"}, "acc_out")};
  Node loop = node("loop", "Loop", {"count", "", "start"}, "sum");
  NodeAttribute bodyAttr;
  bodyAttr.name = "body";
  bodyAttr.kind = NodeAttribute::Kind::Graph;
  bodyAttr.graphs.push_back(body);
  loop.attributes.push_back(bodyAttr);
  m.graph.name = "g";
  m.graph.nodes = {count, start, loop};
  ValueInfo out;
  out.name = "sum";
  out.kind = ValueInfo::Kind::Tensor;
  out.elemType = DataType::Int64;
  m.graph.outputs = {out};
  return m;
}

TEST(ImportFold, LoopUnrollsToItsValue) {
  MLIRContext ctx;
  std::string errors;
  OwningOpRef<ModuleOp> module = importWithBound(ctx, loopOf(100), 1000, errors);
  ASSERT_TRUE(module) << errors;
  auto fn = module->lookupSymbol<func::FuncOp>("forward");
  auto c = llvm::dyn_cast<ConstantOp>(&fn.getBody().front().front());
  ASSERT_TRUE(c);
  EXPECT_EQ(*llvm::cast<DenseElementsAttr>(c.getValue()).getValues<int64_t>().begin(),
            99 * 100 / 2);
}

TEST(ImportFold, LoopPastTheIterationBoundIsAnError) {
  MLIRContext ctx;
  std::string errors;
  EXPECT_FALSE(importWithBound(ctx, loopOf(int64_t(1) << 40), int64_t(1) << 30, errors));
  EXPECT_EQ(errors, "loop: Loop runs more than 65536 iterations at import time, "
                    "the most the importer unrolls\n");
}

} // namespace

/// Two ConstantOfShape nodes fold to equal zeros, and their sum is zeros
/// again: the import holds one copy, so 101 elements (the shape and one
/// copy of the zeros) fit a bound of 150 that three copies would pass.
TEST(ImportFold, EqualFoldedConstantsAreHeldOnce) {
  Model m = cosOfZeros();
  m.graph.nodes.pop_back();
  m.graph.nodes.push_back(node("zeros2", "ConstantOfShape", {"shape"}, "zeros2"));
  m.graph.nodes.push_back(node("sum", "Add", {"zeros", "zeros2"}, "c"));
  MLIRContext ctx;
  std::string errors;
  OwningOpRef<ModuleOp> module = importWithBound(ctx, m, 150, errors);
  ASSERT_TRUE(module) << errors;
  // Distinct contents still count: Cos of the zeros (ones) passes 150.
  m.graph.nodes.back() = node("sum", "Add", {"zeros", "zeros2"}, "s");
  m.graph.nodes.push_back(node("cos", "Cos", {"s"}, "c"));
  errors.clear();
  EXPECT_FALSE(importWithBound(ctx, m, 150, errors));
  EXPECT_NE(errors.find("cos: folding this Cos node would hold 100 more"), std::string::npos)
      << errors;
}
