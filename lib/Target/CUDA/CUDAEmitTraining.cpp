//===- CUDAEmitTraining.cpp - dropout and the optimizer updates -----------===//
//
// Dropout calls pzrt_cuda_dropout_fwd, the CPU's Philox stream keyed by the
// same (seed, step, element index), so the masks are the CPU backend's. A
// block of a split value (tp, sp, cp) reads its split dims' indices on the
// host first (they are device buffers) and draws run by run, as the CPU.
//
// The optimizer updates pass the learning rate and step slots (device
// memory) to the runtime's device-scalar kernels, which read them on the
// device, so that no host synchronization happens and a CUDA graph replays
// them with the values the driver writes each step. They update in place;
// results that are not their inputs' buffers start as device copies. A run
// of AdamW updates sharing their scalars (one kernel, convert-pz-to-pzrt's
// AdamW groups) is one pzrt_cuda_adamw_multi_dev call: a few launches
// instead of one per parameter.
//
// Dropout keys its mask by the training step: it reads it on the device
// (pzrt_cuda_step_word, which the driver updates before each call), so a
// graph replays it with the current step. A block of a split value reads
// its indices on the host and calls pzrt_cuda_uncapturable first, which
// keeps its function out of graphs.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

using E = Emitter;
using csrc::floatLiteral;

static std::string str(int64_t v) { return std::to_string(v); }

static void copyIfDistinct(Operation *op, E &e, Value from, Value to) {
  std::string bytes = str(E::numel(to)) + " * sizeof(*" + e.name(to) + ")";
  e.host() << "  if ((void *)" << e.name(to) << " != (void *)" << e.name(from) << ") {\n"
           << "    err = cudaMemcpyAsync(" << e.name(to) << ", " << e.name(from) << ", " << bytes
           << ", cudaMemcpyDeviceToDevice, stream);\n"
           << "    if (err != cudaSuccess) return pzrt_set_error(\"%s: cudaMemcpyAsync: %s (%s)\", \""
           << E::where(op) << "\", cudaGetErrorString(err), cudaGetErrorName(err));\n  }\n";
}

/// The device pointer of the scalar slot v, which must hold `type` (the
/// driver writes the learning rate as f32 and the step as i64).
static FailureOr<std::string> scalarSlot(Operation *op, E &e, Value v, StringRef what,
                                         bool isStep) {
  Type t = E::elementType(v);
  if (isStep ? !t.isInteger(64) : !t.isF32())
    return op->emitError() << "CUDA backend: the " << what << " slot must be "
                           << (isStep ? "i64" : "f32");
  return "(const " + e.typeOf(v) + " *)" + e.name(v);
}

static LogicalResult emitDropout(DropoutOp d, E &e) {
  if (!E::elementType(d.getInput()).isF32())
    return d.emitError() << "CUDA backend: dropout computes in f32 only";
  double rate = d.getRate().convertToDouble();
  std::string key = floatLiteral(rate, true) + ", (uint64_t)INT64_C(" +
                    str(static_cast<int64_t>(d.getSeed())) + ") ^ ctx->seed, ";
  std::string seed = key + "(uint64_t)ctx->step, ";
  int64_t n = E::numel(d.getInput());
  std::string X = e.name(d.getInput()), Y = e.name(d.getResult());
  if (d.getIndices().empty()) {
    e.host() << "  {\n  const int64_t *pz_step = pzrt_cuda_step_word(ctx);\n"
             << "  if (!pz_step) return pz_cuda_fail(\"" << E::where(d) << "\");\n";
    e.checkCall(d, "pzrt_cuda_dropout_fwd_dev(ctx, " + X + ", " + Y + ", NULL, " + str(n) + ", " +
                       key + "pz_step, (uint64_t)ctx->dropout_block * " + str(n) + ")");
    e.host() << "  }\n";
    return success();
  }
  e.checkCall(d, "pzrt_cuda_uncapturable(ctx, \"dropout reads its block's indices on the host\")");
  // A block of a split value: each run of contiguous elements (the whole
  // dims after the last split dim) starts at its index in the whole value.
  ArrayRef<int64_t> local = E::shape(d.getInput());
  ArrayRef<int64_t> global = *d.getGlobalShape(), dims = *d.getSplitDims();
  int64_t last = dims.back(), run = 1, whole = 1;
  for (int64_t g : global)
    whole *= g;
  for (size_t i = last + 1; i < local.size(); ++i)
    run *= local[i];
  std::string r = str(run);
  e.host() << "  {\n";
  for (auto [k, dim] : llvm::enumerate(dims)) {
    Value idx = d.getIndices()[k];
    std::string h = "h" + str(k);
    e.host() << "  int64_t " << h << "[" << local[dim] << "];\n"
             << "  if (pzrt_device_read(ctx->device, " << h << ", " << e.name(idx) << ", sizeof "
             << h << ") != 0) return pz_cuda_fail(\"" << E::where(d) << "\");\n"
             << "  for (int64_t k = 0; k < " << local[dim] << "; ++k)\n    if (" << h
             << "[k] < 0 || " << h << "[k] >= " << global[dim] << ") "
             << e.failStmt(d, "dropout index out of range [0, " + str(global[dim]) + ")") << "\n";
  }
  e.host() << "  for (int64_t o = 0; o < " << n / run << "; ++o) {\n"
           << "    int64_t rest = o; uint64_t at = 0, j;\n";
  int64_t stride = run;
  for (int64_t k = last; k >= 0; --k) {
    e.host() << "    j = (uint64_t)(rest % " << local[k] << "); rest /= " << local[k] << ";\n";
    const auto *it = llvm::find(dims, k);
    std::string at = it == dims.end() ? std::string("j")
                                      : "(uint64_t)h" + str(it - dims.begin()) + "[j]";
    e.host() << "    at += " << at << " * " << stride << ";\n";
    stride *= global[k];
  }
  e.host() << "  ";
  e.checkCall(d, "pzrt_cuda_dropout_fwd(ctx, " + X + " + o * " + r + ", " + Y + " + o * " + r +
                     ", NULL, " + r + ", " + seed + "(uint64_t)ctx->dropout_block * " +
                     str(whole) + " + at)");
  e.host() << "  }\n  }\n";
  return success();
}

/// The ops after `first` in its block that one pzrt_cuda_adamw_multi_dev
/// call updates with it: consecutive AdamW updates with the same scalar
/// slots and hyper-parameters whose tensors are distinct values (a kernel
/// of convert-pz-to-pzrt's AdamW groups, AdamWGroups.cpp).
static SmallVector<AdamWUpdateOp> adamwRun(AdamWUpdateOp first) {
  SmallVector<AdamWUpdateOp> run{first};
  llvm::DenseSet<Value> tensors;
  auto addTensors = [&](AdamWUpdateOp u) {
    for (Value v : {u.getParam(), u.getGrad(), u.getExpAvg(), u.getExpAvgSq(), u.getNewParam(),
                    u.getNewExpAvg(), u.getNewExpAvgSq()})
      if (!tensors.insert(v).second)
        return false;
    return true;
  };
  addTensors(first);
  for (Operation *op = first->getNextNode(); op; op = op->getNextNode()) {
    auto u = llvm::dyn_cast<AdamWUpdateOp>(op);
    if (!u || u.getLr() != first.getLr() || u.getStep() != first.getStep() ||
        u.getBeta1() != first.getBeta1() || u.getBeta2() != first.getBeta2() ||
        u.getEps() != first.getEps() || u.getWeightDecay() != first.getWeightDecay() ||
        !E::elementType(u.getParam()).isF32() || !addTensors(u))
      break;
    run.push_back(u);
  }
  return run;
}

/// AdamW updates in place (results that are not their inputs' buffers start
/// as device copies): a run of them (adamwRun) in one multi-tensor call,
/// host arrays of its buffers, a lone one in pzrt_cuda_adamw_step_dev.
static LogicalResult emitAdamW(AdamWUpdateOp a, E &e) {
  if (!E::elementType(a.getParam()).isF32())
    return a.emitError() << "CUDA backend: adamw_update computes in f32 only";
  SmallVector<AdamWUpdateOp> run = adamwRun(a);
  for (AdamWUpdateOp u : run) {
    copyIfDistinct(u, e, u.getParam(), u.getNewParam());
    copyIfDistinct(u, e, u.getExpAvg(), u.getNewExpAvg());
    copyIfDistinct(u, e, u.getExpAvgSq(), u.getNewExpAvgSq());
    e.markEmitted(u);
  }
  FailureOr<std::string> lr = scalarSlot(a, e, a.getLr(), "learning rate", false);
  FailureOr<std::string> step = scalarSlot(a, e, a.getStep(), "step", true);
  if (failed(lr) || failed(step))
    return failure();
  std::string scalars = *lr + ", " + *step + ", " +
                        floatLiteral(a.getBeta1().convertToDouble(), false) + ", " +
                        floatLiteral(a.getBeta2().convertToDouble(), false) + ", " +
                        floatLiteral(a.getEps().convertToDouble(), false) + ", " +
                        floatLiteral(a.getWeightDecay().convertToDouble(), false) +
                        ", pz_bad, pz_check_id)";
  e.host() << "  {\n";
  std::string count = run.size() > 1 ? " (and the " + str(run.size() - 1) + " updates after it)"
                                     : std::string();
  e.checkWord(a, "adamw_update" + count +
                     ": the step (read on the device) must count from 1 and the learning rate "
                     "be >= 0");
  if (run.size() == 1) {
    e.checkCall(a, "pzrt_cuda_adamw_step_dev(ctx, " + e.name(a.getNewParam()) + ", " +
                       e.name(a.getGrad()) + ", " + e.name(a.getNewExpAvg()) + ", " +
                       e.name(a.getNewExpAvgSq()) + ", " + str(E::numel(a.getParam())) + ", " +
                       scalars);
    e.host() << "  }\n";
    return success();
  }
  // The runtime reads the arrays before it returns (a graph captures the
  // launches' tables by value).
  auto array = [&](StringRef decl, auto item) {
    e.host() << "  " << decl << "[" << run.size() << "] = {";
    for (auto [i, u] : llvm::enumerate(run))
      e.host() << (i ? ",\n      " : "") << item(u);
    e.host() << "};\n";
  };
  array("float *const pz_p", [&](AdamWUpdateOp u) { return e.name(u.getNewParam()); });
  array("const float *const pz_g", [&](AdamWUpdateOp u) { return e.name(u.getGrad()); });
  array("float *const pz_m", [&](AdamWUpdateOp u) { return e.name(u.getNewExpAvg()); });
  array("float *const pz_v", [&](AdamWUpdateOp u) { return e.name(u.getNewExpAvgSq()); });
  array("static const int64_t pz_n",
        [&](AdamWUpdateOp u) { return "INT64_C(" + str(E::numel(u.getParam())) + ")"; });
  e.checkCall(a, "pzrt_cuda_adamw_multi_dev(ctx, " + str(run.size()) +
                     ", pz_p, pz_g, pz_m, pz_v, pz_n, " + scalars);
  e.host() << "  }\n";
  return success();
}

LogicalResult cuda::emitTrainingOp(Operation *op, E &e, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<DropoutOp>([&](DropoutOp d) { return emitDropout(d, e); })
      .Case<SGDUpdateOp>([&](SGDUpdateOp s) -> LogicalResult {
        if (!E::elementType(s.getParam()).isF32())
          return op->emitError() << "CUDA backend: sgd_update computes in f32 only";
        copyIfDistinct(op, e, s.getParam(), s.getNewParam());
        copyIfDistinct(op, e, s.getMomentumBuffer(), s.getNewMomentumBuffer());
        FailureOr<std::string> lr = scalarSlot(op, e, s.getLr(), "learning rate", false);
        if (failed(lr))
          return failure();
        e.host() << "  {\n";
        // buf starts at 0, so momentum * buf + d on the first step is d, as
        // torch's first step: one formula for every step (step 2 onwards).
        e.checkCall(op, "pzrt_cuda_sgd_step_dev(ctx, " + e.name(s.getNewParam()) + ", " +
                            e.name(s.getGrad()) + ", " + e.name(s.getNewMomentumBuffer()) + ", " +
                            str(E::numel(s.getParam())) + ", " + *lr + ", " +
                            floatLiteral(s.getMomentum().convertToDouble(), false) + ", 0.0, " +
                            floatLiteral(s.getWeightDecay().convertToDouble(), false) +
                            ", 0, 2)");
        e.host() << "  }\n";
        return success();
      })
      .Case<AdamWUpdateOp>([&](AdamWUpdateOp a) {
        return e.wasEmitted(op) ? success() : emitAdamW(a, e);
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
