//===- PZRTDialect.cpp - pzrt dialect, types and attributes ---------------===//

#include "pz/Dialect/PZRT/IR/PZRTOps.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pzrt;

#include "pz/Dialect/PZRT/IR/PZRTDialect.cpp.inc"
#include "pz/Dialect/PZRT/IR/PZRTEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "pz/Dialect/PZRT/IR/PZRTAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "pz/Dialect/PZRT/IR/PZRTTypes.cpp.inc"

void PZRTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "pz/Dialect/PZRT/IR/PZRTOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "pz/Dialect/PZRT/IR/PZRTAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "pz/Dialect/PZRT/IR/PZRTTypes.cpp.inc"
      >();
}

ArrayRef<StringRef> mlir::pzrt::gridAxisNames() {
  static const StringRef names[] = {"pp", "dp_replicate", "dp_shard", "cp", "tp"};
  return names;
}

LogicalResult MemoryPlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     int64_t arenaBytes, int64_t peakBytes, int64_t buffers) {
  if (arenaBytes < 0 || peakBytes < 0 || buffers < 0)
    return emitError() << "memory plan sizes must not be negative";
  if (peakBytes > arenaBytes)
    return emitError() << "the peak of live bytes (" << peakBytes
                       << ") exceeds the arena (" << arenaBytes << " bytes)";
  return success();
}

LogicalResult ReasonAttr::verify(function_ref<InFlightDiagnostic()> emitError, StringRef kind,
                                 StringRef source) {
  if (kind.empty())
    return emitError() << "a transfer's reason kind must not be empty";
  for (char c : kind)
    if (!llvm::isAlnum(c) && c != '.' && c != '_')
      return emitError() << "reason kind '" << kind
                         << "' must be a dotted identifier (letters, digits, '.', '_')";
  return success();
}

LogicalResult PZRTDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().getValue();
  if (name == kMemoryPlanAttrName) {
    if (!llvm::isa<func::FuncOp>(op) || !llvm::isa<MemoryPlanAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name
                               << "' must be a #pzrt.memory_plan on a func.func";
    return success();
  }
  if (name == kWorkspaceAttrName) {
    auto bytes = llvm::dyn_cast<IntegerAttr>(attr.getValue());
    if (!llvm::isa<func::FuncOp>(op) || !bytes || bytes.getInt() <= 0)
      return op->emitOpError() << "'" << name
                               << "' must be a positive integer on a kernel func.func";
    return success();
  }
  if (name == kTargetAttrName) {
    auto s = llvm::dyn_cast<StringAttr>(attr.getValue());
    if (!llvm::isa<ModuleOp>(op) || !s || (s.getValue() != "cpu" && s.getValue() != "cuda"))
      return op->emitOpError() << "'" << name << "' must be \"cpu\" or \"cuda\" on a module";
    return success();
  }
  return op->emitOpError() << "unknown pzrt attribute '" << name << "'";
}

LogicalResult PZRTDialect::verifyRegionArgAttribute(Operation *op, unsigned, unsigned argIndex,
                                                    NamedAttribute attr) {
  if (attr.getName().getValue() != kResultAttrName &&
      attr.getName().getValue() != kTiedAttrName)
    return op->emitOpError() << "unknown pzrt argument attribute '" << attr.getName().getValue()
                             << "'";
  auto i = llvm::dyn_cast<IntegerAttr>(attr.getValue());
  if (!i || i.getInt() < 0)
    return op->emitOpError() << "'" << attr.getName().getValue() << "' of argument " << argIndex
                             << " must be a non-negative result number";
  return success();
}
