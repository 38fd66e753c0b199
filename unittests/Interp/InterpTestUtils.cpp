//===- InterpTestUtils.cpp - helpers shared by the interpreter tests ------===//

#include "InterpTestUtils.h"

#include "pz/InitAllDialects.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz::interp;
using namespace pztest;

static DialectRegistry makeRegistry() {
  DialectRegistry registry;
  mlir::pz::registerAllDialects(registry);
  return registry;
}

InterpFixture::InterpFixture() : ctx(makeRegistry()) {
  ctx.loadAllAvailableDialects();
  ctx.printOpOnDiagnostic(false);
  handler = ctx.getDiagEngine().registerHandler([this](Diagnostic &diag) {
    diagnostics += diag.str() + "\n";
    for (Diagnostic &note : diag.getNotes())
      diagnostics += "  note: " + note.str() + "\n";
    return success();
  });
}

InterpFixture::~InterpFixture() { ctx.getDiagEngine().eraseHandler(handler); }

OwningOpRef<ModuleOp> InterpFixture::parse(llvm::StringRef src) {
  std::string text = src.str();
  if (!llvm::StringRef(text).ltrim().starts_with("module"))
    text = "module {\n" + text + "\n}\n";
  diagnostics.clear();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &ctx);
  if (!module)
    ADD_FAILURE() << "parse failed:\n" << diagnostics << "\n" << text;
  return module;
}

std::vector<HostTensor> InterpFixture::run(ModuleOp module,
                                           llvm::StringRef name,
                                           llvm::ArrayRef<HostTensor> args,
                                           const InterpOptions &opts) {
  auto fn = module.lookupSymbol<func::FuncOp>(name);
  if (!fn) {
    ADD_FAILURE() << "no function @" << name.str();
    return {};
  }
  diagnostics.clear();
  FailureOr<SmallVector<HostTensor>> results = interpret(fn, args, opts);
  if (failed(results)) {
    ADD_FAILURE() << "interpretation of @" << name.str() << " failed:\n"
                  << diagnostics;
    return {};
  }
  return std::vector<HostTensor>(results->begin(), results->end());
}

std::vector<HostTensor> InterpFixture::eval(llvm::StringRef src,
                                            llvm::ArrayRef<HostTensor> args,
                                            const InterpOptions &opts) {
  OwningOpRef<ModuleOp> module = parse(src);
  if (!module)
    return {};
  auto fns = module->getOps<func::FuncOp>();
  if (fns.empty()) {
    ADD_FAILURE() << "no function in the source";
    return {};
  }
  return run(*module, (*fns.begin()).getSymName(), args, opts);
}

std::string InterpFixture::evalError(llvm::StringRef src,
                                     llvm::ArrayRef<HostTensor> args) {
  OwningOpRef<ModuleOp> module = parse(src);
  if (!module)
    return "<parse failure>";
  func::FuncOp fn = *module->getOps<func::FuncOp>().begin();
  diagnostics.clear();
  if (succeeded(interpret(fn, args)))
    ADD_FAILURE() << "interpretation succeeded but an error was expected";
  return diagnostics;
}

HostTensor pztest::T(std::vector<int64_t> shape, std::vector<double> data) {
  return HostTensor(std::move(shape), std::move(data));
}

void pztest::expectTensor(const HostTensor &t,
                          const std::vector<int64_t> &shape,
                          const std::vector<double> &expected, double tol) {
  ASSERT_EQ(t.shape, shape);
  ASSERT_EQ(t.data.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    if (std::isnan(expected[i])) {
      EXPECT_TRUE(std::isnan(t.data[i])) << "element " << i;
      continue;
    }
    EXPECT_NEAR(t.data[i], expected[i], tol) << "element " << i;
  }
}
