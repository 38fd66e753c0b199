//===- SplitGradNorm.cpp - one gradient norm over a rank's chunks ---------===//
//
// Interleaved pipelines (docs/design/0016): a rank holds several chunks of
// the model (virtual stages), each its own stage module with its own
// @optimizer_step. The gradient norm that clips them must be the norm of
// every parameter, but each chunk's optimizer sums the squares of its own
// gradients only (all-reduced over pp, so over the chunk's column of
// global stages). So in a stage module of an interleaved plan this pass
// moves the squared norm out of @optimizer_step:
//   @grad_norm_sq:   the ops the sum of squares needs (the collectives over
//                    pp, dp_shard and tp among them), returning it with
//                    #pz.role<grad_norm_sq>;
//   @optimizer_step: takes the sum over the rank's chunks as an argument
//                    with the same role (the driver adds the chunks' and
//                    passes it) and takes its square root as before.
// A module without pz.stage, or of a plan without virtual stages, is left
// alone.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::pz {
#define GEN_PASS_DEF_SPLITGRADNORMPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-split-grad-norm"

using namespace mlir;
using namespace mlir::pz;

namespace {

constexpr const char *kPass = "pz-split-grad-norm";

struct SplitGradNormPass : public mlir::pz::impl::SplitGradNormPassBase<SplitGradNormPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!module->hasAttr(PZDialect::kStageAttrName) || !plan ||
        plan.getPlan().virtualStages <= 1)
      return;
    auto opt = module.lookupSymbol<func::FuncOp>("optimizer_step");
    if (!opt || opt.isExternal())
      return;
    if (module.lookupSymbol("grad_norm_sq")) {
      module.emitError() << kPass << ": the module already has @grad_norm_sq";
      return signalPassFailure();
    }
    if (!opt.getBody().hasOneBlock()) {
      opt.emitError() << kPass << ": @optimizer_step has more than one block";
      return signalPassFailure();
    }
    Block &body = opt.getBody().front();
    auto ret = cast<func::ReturnOp>(body.getTerminator());
    SqrtOp sqrt;
    for (unsigned i = 0; i < ret.getNumOperands(); ++i)
      if (resultRole(opt, i) == Role::grad_norm)
        sqrt = ret.getOperand(i).getDefiningOp<SqrtOp>();
    if (!sqrt) {
      opt.emitError() << kPass
                      << ": @optimizer_step's gradient norm is not the square root of a sum";
      return signalPassFailure();
    }
    Value sumSq = sqrt.getInput();

    // The ops the sum of squares needs, in order, and the arguments they read.
    BackwardSliceOptions options;
    options.inclusive = true;
    options.omitBlockArguments = true;
    SetVector<Operation *> slice;
    if (failed(getBackwardSlice(sumSq, &slice, options)) ||
        llvm::any_of(slice, [&](Operation *op) { return op->getBlock() != &body; })) {
      opt.emitError() << kPass << ": the sum of squares is not computed in @optimizer_step's body";
      return signalPassFailure();
    }
    SmallVector<Operation *> ops(slice.begin(), slice.end());
    llvm::sort(ops, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
    llvm::SetVector<unsigned> args;
    for (Operation *op : ops)
      for (Value v : op->getOperands())
        if (auto a = dyn_cast<BlockArgument>(v))
          args.insert(a.getArgNumber());
    SmallVector<unsigned> argList(args.begin(), args.end());
    llvm::sort(argList);

    OpBuilder b(opt);
    MLIRContext *ctx = &getContext();
    auto scalar = RankedTensorType::get({}, b.getF32Type());
    auto roleAttrs = [&](StringRef key) {
      return withRole(b.getDictionaryAttr(b.getNamedAttr(key, b.getStringAttr("grad_norm_sq"))),
                      Role::grad_norm_sq);
    };
    SmallVector<Type> types;
    SmallVector<DictionaryAttr> argAttrs;
    for (unsigned a : argList) {
      types.push_back(opt.getArgumentTypes()[a]);
      DictionaryAttr d = opt.getArgAttrDict(a);
      argAttrs.push_back(d ? d : b.getDictionaryAttr({}));
    }
    if (sumSq.getType() != scalar) {
      opt.emitError() << kPass << ": the sum of squares is " << sumSq.getType() << ", not "
                      << scalar;
      return signalPassFailure();
    }
    auto norm = func::FuncOp::create(b, opt.getLoc(), "grad_norm_sq",
                                     FunctionType::get(ctx, types, {scalar}));
    norm.setAllArgAttrs(argAttrs);
    norm.setResultAttrs(0, roleAttrs(PZDialect::kOutputAttrName));
    Block *entry = norm.addEntryBlock();
    IRMapping map;
    for (auto [i, a] : llvm::enumerate(argList))
      map.map(body.getArgument(a), entry->getArgument(i));
    b.setInsertionPointToStart(entry);
    for (Operation *op : ops)
      b.clone(*op, map);
    func::ReturnOp::create(b, opt.getLoc(), ValueRange{map.lookup(sumSq)});

    // The optimizer reads the rank's sum; the ops only it needed go.
    unsigned n = opt.getNumArguments();
    if (failed(opt.insertArgument(n, scalar, roleAttrs(PZDialect::kInputAttrName), opt.getLoc())))
      return signalPassFailure();
    sumSq.replaceAllUsesWith(opt.getArgument(n));
    // In reverse, so that an op's operands lose their last use first; an op
    // the update reads too (shared with the sum) stays.
    for (Operation *op : llvm::reverse(ops))
      if (isOpTriviallyDead(op))
        op->erase();
  }
};

} // namespace
