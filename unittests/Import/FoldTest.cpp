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

} // namespace
