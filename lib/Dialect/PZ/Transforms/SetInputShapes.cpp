//===- SetInputShapes.cpp - fix the dims of named data inputs -------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZ/Transforms/ShapeRefinement.h"
#include "pz/Plan/InputShapes.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::pz {
#define GEN_PASS_DEF_SETINPUTSHAPESPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-set-input-shapes"

using namespace mlir;
using namespace mlir::pz;

namespace {
struct SetInputShapesPass
    : public mlir::pz::impl::SetInputShapesPassBase<SetInputShapesPass> {
  using Base::Base;

  void runOnOperation() override {
    auto parsed = parseInputShapes({shapes});
    if (!parsed) {
      emitError(UnknownLoc::get(&getContext()))
          << llvm::toString(parsed.takeError());
      return signalPassFailure();
    }
    const InputShapes &wanted = *parsed;
    llvm::StringSet<> used;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      SmallVector<Type> argTypes(fn.getArgumentTypes());
      for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
        auto name = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kInputAttrName);
        auto it = name ? wanted.find(name.getValue().str()) : wanted.end();
        if (it == wanted.end())
          continue;
        used.insert(name.getValue());
        ArrayRef<int64_t> shape = it->second;
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
      if (!used.contains(entry.first)) {
        getOperation().emitError()
            << "no data input is named '" << entry.first
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
