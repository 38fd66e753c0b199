//===- AttrNesting.cpp - bound the nesting of parsed attributes -----------===//

#include "pz/Dialect/PZ/IR/AttrNesting.h"

#include "mlir/IR/Attributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/PointerUnion.h"

#include <vector>

using namespace mlir;

namespace {
/// The depth of attributes and types, computed bottom-up with an explicit
/// stack; each distinct value is measured once.
class NestingMeter {
public:
  explicit NestingMeter(unsigned maxDepth) : maxDepth(maxDepth) {}

  /// The nesting depth of `root` (1 for a leaf), or maxDepth + 1 as soon as
  /// it exceeds maxDepth.
  unsigned measure(const void *root, bool isType) {
    if (auto it = depth.find(root); it != depth.end() && it->second != kInProgress)
      return it->second;
    std::vector<Frame> stack;
    push(stack, root, isType);
    while (!stack.empty()) {
      Frame &f = stack.back();
      if (!f.expanded) {
        f.expanded = true;
        depth[f.key] = kInProgress; // a cycle (mutable types) counts as a leaf
        const void *key = f.key;
        bool type = f.isType;
        auto visit = [&](const void *child, bool childType) {
          if (child && !depth.count(child))
            push(stack, child, childType);
        };
        auto onAttr = [&](Attribute a) { visit(a.getAsOpaquePointer(), false); };
        auto onType = [&](Type t) { visit(t.getAsOpaquePointer(), true); };
        if (type)
          Type::getFromOpaquePointer(key).walkImmediateSubElements(onAttr, onType);
        else
          Attribute::getFromOpaquePointer(key).walkImmediateSubElements(onAttr, onType);
        continue; // the children (pushed above) come first
      }
      unsigned d = 1;
      const void *key = f.key;
      bool type = f.isType;
      auto child = [&](const void *c) {
        auto it = depth.find(c);
        unsigned cd = it == depth.end() || it->second == kInProgress ? 0 : it->second;
        d = std::max(d, std::min(cd, maxDepth) + 1);
      };
      if (type)
        Type::getFromOpaquePointer(key).walkImmediateSubElements(
            [&](Attribute a) { child(a.getAsOpaquePointer()); },
            [&](Type t) { child(t.getAsOpaquePointer()); });
      else
        Attribute::getFromOpaquePointer(key).walkImmediateSubElements(
            [&](Attribute a) { child(a.getAsOpaquePointer()); },
            [&](Type t) { child(t.getAsOpaquePointer()); });
      depth[key] = d;
      stack.pop_back();
    }
    return depth[root];
  }

private:
  static constexpr unsigned kInProgress = ~0u;
  struct Frame {
    const void *key;
    bool isType;
    bool expanded;
  };
  static void push(std::vector<Frame> &stack, const void *key, bool isType) {
    stack.push_back({key, isType, false});
  }

  unsigned maxDepth;
  llvm::DenseMap<const void *, unsigned> depth;
};
} // namespace

LogicalResult mlir::pz::verifyAttributeNesting(Operation *root, unsigned maxDepth) {
  NestingMeter meter(maxDepth);
  auto tooDeep = [&](Attribute a) {
    return a && meter.measure(a.getAsOpaquePointer(), false) > maxDepth;
  };
  auto typeTooDeep = [&](Type t) {
    return t && meter.measure(t.getAsOpaquePointer(), true) > maxDepth;
  };
  // Region nesting is textual, and bounded by the scan before parsing.
  WalkResult result = root->walk([&](Operation *op) {
    bool deep = tooDeep(op->getLoc()) || tooDeep(op->getRawDictionaryAttrs()) ||
                tooDeep(op->getPropertiesAsAttribute());
    for (Type t : op->getResultTypes())
      deep = deep || typeTooDeep(t);
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          deep = deep || typeTooDeep(arg.getType()) || tooDeep(arg.getLoc());
    if (!deep)
      return WalkResult::advance();
    // The op's own location may be the deep value: report at an unknown one.
    Location at = tooDeep(op->getLoc()) ? Location(UnknownLoc::get(op->getContext()))
                                        : op->getLoc();
    emitError(at) << "'" << op->getName() << "' holds an attribute, type or location "
                  << "nested deeper than " << maxDepth << " levels (through aliases)";
    return WalkResult::interrupt();
  });
  return failure(result.wasInterrupted());
}
