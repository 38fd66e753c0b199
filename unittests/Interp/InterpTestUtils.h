//===- InterpTestUtils.h - helpers shared by the interpreter tests --------===//

#ifndef PZ_UNITTESTS_INTERP_INTERPTESTUTILS_H
#define PZ_UNITTESTS_INTERP_INTERPTESTUTILS_H

#include "pz/Interp/Interpreter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "gtest/gtest.h"

#include <string>
#include <vector>

namespace pztest {

using mlir::pz::interp::HostTensor;

/// A context with every pz dialect loaded and a diagnostic handler that
/// collects error messages (so tests can check them, and print them when
/// an evaluation fails unexpectedly).
class InterpFixture : public ::testing::Test {
public:
  InterpFixture();
  ~InterpFixture() override;

  /// Parses a module; records a test failure (with the diagnostics) and
  /// returns null when it does not parse or verify.
  mlir::OwningOpRef<mlir::ModuleOp> parse(llvm::StringRef src);

  /// Evaluates function `name` of `module`; records a test failure with the
  /// diagnostics when it fails and returns an empty vector.
  std::vector<HostTensor> run(mlir::ModuleOp module, llvm::StringRef name,
                              llvm::ArrayRef<HostTensor> args,
                              const mlir::pz::interp::InterpOptions &opts = {});

  /// Parses `src` (a module, or a bare `func.func @f`) and runs its first
  /// function.
  std::vector<HostTensor>
  eval(llvm::StringRef src, llvm::ArrayRef<HostTensor> args,
       const mlir::pz::interp::InterpOptions &opts = {});

  /// Like eval, but expects failure; returns the collected diagnostics.
  std::string evalError(llvm::StringRef src, llvm::ArrayRef<HostTensor> args);

  mlir::MLIRContext ctx;
  std::string diagnostics;

private:
  mlir::DiagnosticEngine::HandlerID handler;
};

/// A tensor without element type (interpret() takes the declared one).
HostTensor T(std::vector<int64_t> shape, std::vector<double> data);

/// Expects `t` to have `shape` and values within `tol` (absolute) of
/// `expected` (NaN matches NaN).
void expectTensor(const HostTensor &t, const std::vector<int64_t> &shape,
                  const std::vector<double> &expected, double tol = 1e-12);

} // namespace pztest

#endif // PZ_UNITTESTS_INTERP_INTERPTESTUTILS_H
