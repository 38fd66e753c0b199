//===- onnx_importer.cpp - libFuzzer target: the ONNX importer ------------===//
//
// Input: the bytes of an .onnx file. readModelBytes (the protobuf reader)
// and importModel (the graph to pz IR) must give a module that verifies, or
// report at least one error; never crash. External data may only come from
// the model's directory, which here does not exist, so no file is read.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "pz/Import/ONNX/OnnxImporter.h"
#include "pz/Import/ONNX/OnnxReader.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::pz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  onnx::Model model;
  std::string error;
  if (!onnx::readModelBytes(std::string(reinterpret_cast<const char *>(data), size),
                            "fuzz.onnx", "/nonexistent/pz-fuzz-model-dir", model, error)) {
    if (error.empty())
      pzfuzz::invariant("readModelBytes failed without a message");
    return 0;
  }
  MLIRContext ctx(MLIRContext::Threading::DISABLED);
  int errors = 0;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
    errors += diag.getSeverity() == DiagnosticSeverity::Error;
    return success();
  });
  OwningOpRef<ModuleOp> module = onnx::importModel(ctx, model, "fuzz.onnx", {});
  if (!module) {
    if (errors == 0)
      pzfuzz::invariant("importModel failed without an error");
    return 0;
  }
  if (failed(verify(*module)) && errors == 0)
    pzfuzz::invariant("the imported module fails to verify without an error");
  return 0;
}
