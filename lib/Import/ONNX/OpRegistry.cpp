//===- OpRegistry.cpp - The ONNX ops the importer supports ----------------===//

#include "OpRegistry.h"

#include "pz/Import/ONNX/OnnxImporter.h"

#include "llvm/ADT/STLExtras.h"

using namespace mlir::pz::onnx;

const OpHandler *OpRegistry::lookup(llvm::StringRef domain,
                                    llvm::StringRef opType) const {
  if (!domain.empty() && domain != "ai.onnx")
    return nullptr;
  auto it = handlers.find(opType);
  return it == handlers.end() ? nullptr : &it->second;
}

std::vector<std::string> OpRegistry::names() const {
  std::vector<std::string> out;
  for (const auto &entry : handlers)
    if (entry.getValue().claimed)
      out.push_back(entry.getKey().str());
  llvm::sort(out);
  return out;
}

const OpRegistry &mlir::pz::onnx::getOpRegistry() {
  static const OpRegistry registry = [] {
    OpRegistry r;
    registerElementwiseOps(r);
    registerConstantOps(r);
    registerShapeOps(r);
    registerSliceOps(r);
    registerGatherOps(r);
    registerNNOps(r);
    registerLossOps(r);
    registerSequenceOps(r);
    return r;
  }();
  return registry;
}

std::vector<std::string> mlir::pz::onnx::supportedOps() {
  return getOpRegistry().names();
}
