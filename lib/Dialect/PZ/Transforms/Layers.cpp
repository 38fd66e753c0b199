//===- Layers.cpp - the forward ops of a named layer ----------------------===//

#include "Layers.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"

#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::pz;

static bool isLayerParam(func::FuncOp fn, unsigned arg, StringRef name) {
  auto param = fn.getArgAttrOfType<StringAttr>(arg, PZDialect::kParamAttrName);
  return param && param.getValue().starts_with((name + ".").str());
}

bool mlir::pz::hasLayerParam(func::FuncOp fn, StringRef name) {
  for (unsigned i = 0; i < fn.getNumArguments(); ++i)
    if (isLayerParam(fn, i, name))
      return true;
  return false;
}

std::optional<std::pair<size_t, size_t>>
mlir::pz::layerSpan(func::FuncOp fn, ArrayRef<Operation *> ops,
                    const std::map<size_t, Value> &cuts, StringRef name) {
  // Values computed from parameters, the rank's coordinates and constants
  // alone (`fixed`), and among them those computed from a parameter of the
  // layer (`mine`) or of another (`others`). An op that reads one of them
  // and is not itself fixed computes an activation from those parameters:
  // it reads them.
  llvm::DenseSet<Value> fixed, mine, others;
  for (BlockArgument a : fn.getArguments()) {
    unsigned i = a.getArgNumber();
    bool param = fn.getArgAttr(i, PZDialect::kParamAttrName) != nullptr;
    if (param || fn.getArgAttr(i, PZDialect::kRoleAttrName))
      fixed.insert(a);
    if (isLayerParam(fn, i, name))
      mine.insert(a);
    else if (param)
      others.insert(a);
  }
  std::optional<size_t> first, last, next;
  for (auto [i, op] : llvm::enumerate(ops)) {
    auto readsAny = [&](const llvm::DenseSet<Value> &set) {
      return llvm::any_of(op->getOperands(), [&](Value v) { return set.contains(v); });
    };
    bool readsMine = readsAny(mine), readsOthers = readsAny(others);
    if (llvm::all_of(op->getOperands(), [&](Value v) { return fixed.contains(v); })) {
      for (Value r : op->getResults()) {
        fixed.insert(r);
        if (readsMine)
          mine.insert(r);
        if (readsOthers)
          others.insert(r);
      }
      continue;
    }
    if (readsMine) {
      first = first.value_or(i);
      last = i;
      next.reset();
    } else if (readsOthers && last && !next) {
      next = i;
    }
  }
  if (!first)
    return std::nullopt;
  auto cutAtOrBefore = [&](size_t i) -> std::optional<size_t> {
    auto after = cuts.upper_bound(i);
    if (after == cuts.begin())
      return std::nullopt;
    return std::prev(after)->first;
  };
  size_t begin = cutAtOrBefore(*first).value_or(0);
  // The layer runs to where the next one starts: the cut at or before the
  // next op that reads another parameter (without a cut between, the first
  // cut after the layer's last op); the last layer runs to the end.
  size_t end = ops.size();
  if (next) {
    std::optional<size_t> c = cutAtOrBefore(*next);
    if (c && *c > *last)
      end = *c;
    else if (auto after = cuts.upper_bound(*last); after != cuts.end())
      end = after->first;
  }
  return std::make_pair(begin, end);
}
