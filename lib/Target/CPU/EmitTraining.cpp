//===- EmitTraining.cpp - dropout and the optimizer updates ---------------===//
//
// Dropout regenerates its mask from (seed, step, element index) with the
// runtime's Philox generator, as the interpreter does; the program's --seed
// is mixed into the op's seed. The element index is the global batch's:
// the running micro-batch's n elements start at ctx->dropout_block x n, so
// that data parallelism and gradient accumulation draw the masks one rank
// draws for the whole batch, and the masks of a step's micro-batches
// differ. A block of a split value (tp, sp, cp) draws the masks of its
// elements' indices in the whole value, run by contiguous run.
//
// The optimizer updates call the runtime's torch.optim kernels, which update
// in place: the results start as copies of the inputs unless the caller
// passed the same buffers (the train program does, for params and states).
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using FE = KernelEmitter;

static void copyIfDistinct(FE &e, Value from, Value to) {
  e.out() << "    if ((void *)" << e.name(to) << " != (void *)" << e.name(from) << ") memcpy("
          << e.name(to) << ", " << e.name(from) << ", " << FE::numel(to) * FE::storageBytes(FE::elementType(to)) << ");\n";
}

LogicalResult cpp::emitTrainingOp(Operation *op, FE &e, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<DropoutOp>([&](DropoutOp d) -> LogicalResult {
        if (!FE::elementType(d.getInput()).isF32())
          return op->emitError() << "CPU backend: dropout computes in f32 only";
        double rate = d.getRate().convertToDouble();
        std::string seed = floatLiteral(rate, true) + ", (uint64_t)INT64_C(" +
                           std::to_string(static_cast<int64_t>(d.getSeed())) +
                           ") ^ ctx->seed, (uint64_t)ctx->step, ";
        int64_t n = FE::numel(d.getInput());
        if (d.getIndices().empty()) {
          e.checkCall(op, "pzrt_dropout_fwd(" + e.name(d.getInput()) + ", " +
                              e.name(d.getResult()) + ", NULL, " + std::to_string(n) + ", " +
                              seed + "(uint64_t)ctx->dropout_block * " + std::to_string(n) + ")");
          return success();
        }
        // A block of a split value: each run of contiguous elements (the
        // whole dims after the last split dim) starts at its index in the
        // whole value, which the split dims' indices give.
        ArrayRef<int64_t> local = llvm::cast<RankedTensorType>(d.getInput().getType()).getShape();
        ArrayRef<int64_t> global = *d.getGlobalShape(), dims = *d.getSplitDims();
        int64_t last = dims.back(), run = 1, whole = 1;
        for (int64_t g : global)
          whole *= g;
        for (size_t i = last + 1; i < local.size(); ++i)
          run *= local[i];
        std::string r = std::to_string(run);
        // Indices outside the whole value would draw other elements' masks.
        for (auto [k, dim] : llvm::enumerate(dims)) {
          Value idx = d.getIndices()[k];
          e.out() << "    for (int64_t k = 0; k < " << local[dim] << "; ++k)\n      if ("
                  << e.name(idx) << "[k] < 0 || " << e.name(idx) << "[k] >= " << global[dim]
                  << ") "
                  << e.failStmt(op, "dropout index %lld (element %lld) is out of range [0, " +
                                        std::to_string(global[dim]) + ")",
                                "(long long)" + e.name(idx) + "[k], (long long)k")
                  << "\n";
        }
        e.out() << "    for (int64_t o = 0; o < " << n / run << "; ++o) {\n"
                << "      int64_t rest = o; uint64_t at = 0, j;\n";
        int64_t stride = run;
        for (int64_t k = last; k >= 0; --k) {
          e.out() << "      j = (uint64_t)(rest % " << local[k] << "); rest /= " << local[k]
                  << ";\n";
          const auto *it = llvm::find(dims, k);
          std::string at = it == dims.end()
                               ? std::string("j")
                               : "(uint64_t)" + e.name(d.getIndices()[it - dims.begin()]) + "[j]";
          e.out() << "      at += " << at << " * " << stride << ";\n";
          stride *= global[k];
        }
        e.out() << "  ";
        e.checkCall(op, "pzrt_dropout_fwd(" + e.name(d.getInput()) + " + o * " + r + ", " +
                            e.name(d.getResult()) + " + o * " + r + ", NULL, " + r + ", " +
                            seed + "(uint64_t)ctx->dropout_block * " + std::to_string(whole) +
                            " + at)");
        e.out() << "    }\n";
        return success();
      })
      .Case<SGDUpdateOp>([&](SGDUpdateOp s) -> LogicalResult {
        if (!FE::elementType(s.getParam()).isF32())
          return op->emitError() << "CPU backend: sgd_update computes in f32 only";
        copyIfDistinct(e, s.getParam(), s.getNewParam());
        copyIfDistinct(e, s.getMomentumBuffer(), s.getNewMomentumBuffer());
        // buf starts at 0, so momentum * buf + d on the first step is d, as
        // torch's first step: one formula for every step (step 2 onwards).
        e.checkCall(op, "pzrt_sgd_step(" + e.name(s.getNewParam()) + ", " + e.name(s.getGrad()) +
                            ", " + e.name(s.getNewMomentumBuffer()) + ", " +
                            std::to_string(FE::numel(s.getParam())) + ", (double)" +
                            e.name(s.getLr()) + "[0], " +
                            floatLiteral(s.getMomentum().convertToDouble(), false) + ", 0.0, " +
                            floatLiteral(s.getWeightDecay().convertToDouble(), false) + ", 0, 2)");
        return success();
      })
      .Case<AdamWUpdateOp>([&](AdamWUpdateOp a) -> LogicalResult {
        if (!FE::elementType(a.getParam()).isF32())
          return op->emitError() << "CPU backend: adamw_update computes in f32 only";
        copyIfDistinct(e, a.getParam(), a.getNewParam());
        copyIfDistinct(e, a.getExpAvg(), a.getNewExpAvg());
        copyIfDistinct(e, a.getExpAvgSq(), a.getNewExpAvgSq());
        e.checkCall(op, "pzrt_adamw_step(" + e.name(a.getNewParam()) + ", " + e.name(a.getGrad()) +
                            ", " + e.name(a.getNewExpAvg()) + ", " + e.name(a.getNewExpAvgSq()) +
                            ", " + std::to_string(FE::numel(a.getParam())) + ", (double)" +
                            e.name(a.getLr()) + "[0], " +
                            floatLiteral(a.getBeta1().convertToDouble(), false) + ", " +
                            floatLiteral(a.getBeta2().convertToDouble(), false) + ", " +
                            floatLiteral(a.getEps().convertToDouble(), false) + ", " +
                            floatLiteral(a.getWeightDecay().convertToDouble(), false) +
                            ", (int64_t)" + e.name(a.getStep()) + "[0])");
        return success();
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}

LogicalResult cpp::emitOp(Operation *op, FE &e) {
  for (auto fn : {emitElementwiseOp, emitShapeOp, emitReduceOp, emitNNOp, emitTrainingOp}) {
    bool handled = false;
    if (failed(fn(op, e, handled)))
      return failure();
    if (handled)
      return success();
  }
  return op->emitError() << "CPU backend: no lowering for '" << op->getName() << "'";
}
