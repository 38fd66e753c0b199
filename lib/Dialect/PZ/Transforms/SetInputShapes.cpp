//===- SetInputShapes.cpp - fix the dims of named data inputs -------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZ/Transforms/ShapeRefinement.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::pz {
#define GEN_PASS_DEF_SETINPUTSHAPESPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

using namespace mlir;
using namespace mlir::pz;

namespace {
struct SetInputShapesPass
    : public mlir::pz::impl::SetInputShapesPassBase<SetInputShapesPass> {
  using Base::Base;

  /// Parses `NAME=DxD,...`; reports the first malformed entry.
  LogicalResult parseShapes(llvm::StringMap<SmallVector<int64_t>> &out) {
    SmallVector<StringRef> entries;
    StringRef(shapes).split(entries, ',', -1, /*KeepEmpty=*/false);
    for (StringRef entry : entries) {
      auto [name, dims] = entry.trim().split('=');
      SmallVector<int64_t> shape;
      SmallVector<StringRef> parts;
      dims.split(parts, 'x');
      bool ok = !name.empty() && !dims.empty();
      for (StringRef p : parts) {
        int64_t d;
        if (p.getAsInteger(10, d) || d < 1)
          ok = false;
        shape.push_back(d);
      }
      if (!ok)
        return emitError(UnknownLoc::get(&getContext()))
               << "input shape '" << entry
               << "' is not NAME=DxDx... with positive dims";
      out[name] = shape;
    }
    return success();
  }

  void runOnOperation() override {
    llvm::StringMap<SmallVector<int64_t>> wanted;
    if (failed(parseShapes(wanted)))
      return signalPassFailure();
    llvm::StringSet<> used;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      SmallVector<Type> argTypes(fn.getArgumentTypes());
      for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
        auto name = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kInputAttrName);
        if (!name || !wanted.count(name.getValue()))
          continue;
        used.insert(name.getValue());
        ArrayRef<int64_t> shape = wanted[name.getValue()];
        auto old = llvm::dyn_cast<RankedTensorType>(argTypes[i]);
        bool fits = old && old.getRank() == static_cast<int64_t>(shape.size());
        for (unsigned d = 0; fits && d < shape.size(); ++d)
          fits = old.isDynamicDim(d) || old.getDimSize(d) == shape[d];
        if (!fits) {
          fn.emitError() << "input '" << name.getValue() << "' has type "
                         << argTypes[i] << ", which the shape "
                         << "'" << name.getValue() << "="
                         << llvm::join(llvm::map_range(shape, [](int64_t d) {
                              return std::to_string(d);
                            }), "x")
                         << "' does not fit";
          return signalPassFailure();
        }
        argTypes[i] = old.clone(shape);
        fn.getArgument(i).setType(argTypes[i]);
        keepTypeForForeignUsers(fn.getArgument(i), old);
      }
      fn.setFunctionType(
          FunctionType::get(&getContext(), argTypes, fn.getResultTypes()));
    }
    for (auto &entry : wanted) {
      if (!used.contains(entry.getKey())) {
        getOperation().emitError()
            << "no data input is named '" << entry.getKey()
            << "' (inputs are function arguments marked pz.input)";
        return signalPassFailure();
      }
    }
    // Carry the new shapes on at once: ops whose operand and result types
    // are tied would not verify otherwise.
    if (failed(refineShapes(getOperation())))
      signalPassFailure();
  }
};
} // namespace
