//===- PZToPZRT.cpp - pz step functions to pzrt host functions ------------===//
//
// Each function of the module is rebuilt as a host function on buffers; its
// ops are lowered in order by the rules in Lowering.h (kernels, constants,
// views, copies). The pz function is then replaced by the host function of
// the same name.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Conversion/Passes.h"
#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace mlir::pz {
#define GEN_PASS_DEF_CONVERTPZTOPZRTPASS
#include "pz/Conversion/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "convert-pz-to-pzrt"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

MemRefType lowering::bufferType(Type tensorType) {
  auto t = llvm::cast<RankedTensorType>(tensorType);
  return MemRefType::get(t.getShape(), t.getElementType());
}

/// The role attribute (pz.param or pz.state) that ties a result to the
/// argument carrying the same one, if any.
static std::optional<unsigned> tiedArgument(func::FuncOp fn, unsigned result) {
  for (StringRef kind : {PZDialect::kParamAttrName, PZDialect::kStateAttrName,
                         PZDialect::kAccumAttrName, PZDialect::kGradAttrName}) {
    auto name = fn.getResultAttrOfType<StringAttr>(result, kind);
    if (!name)
      continue;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (fn.getArgAttrOfType<StringAttr>(i, kind) == name)
        return i;
  }
  return std::nullopt;
}

LogicalResult FunctionLowering::run() {
  if (!src.getBody().hasOneBlock())
    return src.emitError() << "convert-pz-to-pzrt: '" << src.getSymName()
                           << "' must have a single block";
  Block &body = src.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());

  // The host signature: the arguments, then an out-parameter per result that
  // is not tied to an argument.
  SmallVector<Type> argTypes;
  SmallVector<DictionaryAttr> argAttrs;
  for (BlockArgument a : body.getArguments()) {
    auto t = llvm::dyn_cast<RankedTensorType>(a.getType());
    if (!t || !t.hasStaticShape())
      return src.emitError() << "convert-pz-to-pzrt: argument " << a.getArgNumber() << " of '"
                             << src.getSymName() << "' has type " << a.getType()
                             << "; fix the data inputs' dims with --input-shape";
    argTypes.push_back(bufferType(t));
    DictionaryAttr d = src.getArgAttrDict(a.getArgNumber());
    argAttrs.push_back(d ? d : b.getDictionaryAttr({}));
  }
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return src.emitError() << "convert-pz-to-pzrt: result " << i << " of '"
                             << src.getSymName() << "' has type " << v.getType();
    if (std::optional<unsigned> arg = tiedArgument(src, i)) {
      auto argType = llvm::cast<RankedTensorType>(src.getArgumentTypes()[*arg]);
      // A result marked pz.shard_prefix (a ZeRO gradient chunk) is written
      // into the leading elements of its argument's buffer.
      bool prefix = src.getResultAttr(i, PZDialect::kShardPrefixAttrName) && t.getRank() == 1 &&
                    t.getElementType() == argType.getElementType() &&
                    t.getNumElements() <= argType.getNumElements();
      if (argType != t && !prefix)
        return src.emitError() << "convert-pz-to-pzrt: result " << i
                               << " is tied to argument " << *arg << " but has another type";
      resultBuffer.push_back(-1 - static_cast<int64_t>(*arg));
      NamedAttrList attrs(argAttrs[*arg]);
      attrs.set(pzrt::PZRTDialect::kTiedAttrName, b.getI64IntegerAttr(i));
      argAttrs[*arg] = attrs.getDictionary(b.getContext());
      continue;
    }
    resultBuffer.push_back(argTypes.size());
    argTypes.push_back(bufferType(t));
    DictionaryAttr d = src.getResultAttrDict(i);
    NamedAttrList attrs(d ? d : b.getDictionaryAttr({}));
    attrs.set(pzrt::PZRTDialect::kResultAttrName, b.getI64IntegerAttr(i));
    argAttrs.push_back(attrs.getDictionary(b.getContext()));
  }

  b.setInsertionPoint(src);
  host = func::FuncOp::create(b, src.getLoc(), src.getSymName(),
                              b.getFunctionType(argTypes, {}));
  host.setAllArgAttrs(argAttrs);
  host.setVisibility(src.getVisibility());
  for (NamedAttribute a : src->getDiscardableAttrs())
    host->setAttr(a.getName(), a.getValue());
  Block *entry = host.addEntryBlock();
  b.setInsertionPointToStart(entry);
  for (BlockArgument a : body.getArguments())
    buffers[a] = entry->getArgument(a.getArgNumber());

  if (failed(planOutputs(ret)))
    return failure();
  for (auto it = body.begin(), end = std::prev(body.end()); it != end;) {
    SmallVector<Operation *> group = adamwGroup(&*it);
    LogicalResult lowered = success();
    if (group.size() > 1)
      lowered = lowerGroup(group);
    else if ((group = gemmEpilogueGroup(&*it)).size() > 1)
      lowered = lowerGemmEpilogue(group);
    else
      lowered = lowerOp(&*it);
    if (failed(lowered))
      return failure();
    std::advance(it, group.size());
  }
  if (failed(lowerReturn(ret)))
    return failure();
  func::ReturnOp::create(b, ret.getLoc());
  return success();
}

/// Where result i goes: its out-parameter, its tied argument, or (for a
/// pz.shard_prefix result) a view of the tied argument's leading elements,
/// made once at the function's entry.
Value FunctionLowering::outputBuffer(unsigned i) {
  int64_t buf = resultBuffer[i];
  Value dst = buf < 0 ? host.getArgument(-1 - buf) : host.getArgument(buf);
  auto want = bufferType(src.getResultTypes()[i]);
  if (dst.getType() == want)
    return dst;
  Value &view = prefixViews[i];
  if (!view) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&host.getBody().front());
    int64_t numel = llvm::cast<MemRefType>(dst.getType()).getNumElements();
    auto flat = memref::ReinterpretCastOp::create(
        b, host.getLoc(), MemRefType::get({numel}, want.getElementType()), dst, 0, {numel}, {1});
    view = memref::ReinterpretCastOp::create(b, host.getLoc(), want, flat, 0, want.getShape(),
                                             {1});
  }
  return view;
}

/// Which results an op writes straight into an out-parameter (or a tied
/// argument): a value returned (first at position i) that is computed by a
/// kernel, not a view, constant or argument. An in-place write into a tied
/// argument must come after every other reader of that argument.
LogicalResult FunctionLowering::planOutputs(func::ReturnOp ret) {
  llvm::DenseMap<Operation *, unsigned> position;
  Block &body = src.getBody().front();
  for (auto [i, op] : llvm::enumerate(body))
    position[&op] = i;
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    Operation *def = v.getDefiningOp();
    if (!def || isViewOp(def) || llvm::isa<ConstantOp>(def) || directOutput.count(v))
      continue;
    int64_t buf = resultBuffer[i];
    if (buf < 0) {
      BlockArgument arg = body.getArgument(-1 - buf);
      bool sameOp = false;
      for (Operation *user : arg.getUsers()) {
        if (user == ret.getOperation())
          continue;
        if (user == def) {
          sameOp = true;
          continue;
        }
        if (position[user] > position[def])
          return def->emitError()
                 << "convert-pz-to-pzrt: result " << i << " overwrites argument " << arg.getArgNumber()
                 << " in place, but the argument is read afterwards";
      }
      if (sameOp && !updatesInPlace(def))
        return def->emitError() << "convert-pz-to-pzrt: result " << i << " overwrites argument "
                                << arg.getArgNumber()
                                << " in place, but the op that computes it also reads it";
    }
    directOutput[v] = outputBuffer(i);
  }
  return success();
}

/// Returned values not written in place are copied into their out-parameter
/// (or tied argument); `memref.copy` of a buffer onto itself does nothing.
LogicalResult FunctionLowering::lowerReturn(func::ReturnOp ret) {
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    Value dst = outputBuffer(i);
    auto it = directOutput.find(v);
    if (it != directOutput.end() && it->second == dst)
      continue;
    memref::CopyOp::create(b, ret.getLoc(), buffers.lookup(v), dst);
  }
  return success();
}

namespace {
struct ConvertPZToPZRTPass
    : public mlir::pz::impl::ConvertPZToPZRTPassBase<ConvertPZToPZRTPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<TargetInfo> targetInfo = TargetInfo::get(target);
    if (!targetInfo) {
      module.emitError() << "convert-pz-to-pzrt: unknown target '" << target
                         << "' (expected cpu or cuda)";
      return signalPassFailure();
    }
    OpBuilder b(module.getContext());
    b.setInsertionPointToEnd(module.getBody());
    auto kernels = ModuleOp::create(b, module.getLoc(),
                                    StringRef(pzrt::PZRTDialect::kKernelModuleName));
    KernelOutliner outliner(kernels, *targetInfo);
    GlobalBuilder globals(module);
    for (auto fn : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (fn.isExternal())
        continue;
      FunctionLowering lowering(fn, outliner, globals, *targetInfo);
      if (failed(lowering.run()))
        return signalPassFailure();
      fn.erase();
    }
    // The grid's axes now live on the transfers (their groups' names).
    for (auto grid : llvm::to_vector(module.getOps<shard::GridOp>()))
      grid.erase();
    module->setAttr(pzrt::PZRTDialect::kTargetAttrName, b.getStringAttr(target));
  }
};
} // namespace
