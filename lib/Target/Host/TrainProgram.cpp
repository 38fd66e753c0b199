//===- TrainProgram.cpp - the train executable's program tables -----------===//
//
// The pzrt_program of pzrt/train.h: the model's tensors, a function table
// whose entries bind each argument of a host function to a driver buffer by
// its role (pz.param, pz.grad, pz.accum, pz.state, pz.input, and the scalar
// pz.role), never by name, and the schedule of pzrt.schedule as actions.
//
//===----------------------------------------------------------------------===//

#include "HostEmitter.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTOps.h"
#include "pz/Support/Limits.h"
#include "pz/Plan/PipelineSchedule.h"
#include "pz/Target/CSource.h"

#include "llvm/ADT/StringMap.h"

#include <limits>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::host;
using csrc::cString;
using csrc::floatLiteral;

int64_t ProgramTensor::bytes() const {
  std::optional<int64_t> n = boundedElementCount(shape);
  std::optional<int64_t> b =
      n ? boundedBytes(*n, TargetInfo::get("cpu")->storageBytes(elementType)) : std::nullopt;
  return b.value_or(-1);
}

namespace {

/// The ranks of a transfer's group: the product of its axes' sizes.
int64_t groupSize(const Plan &p, ArrayAttr axes) {
  int64_t n = 1;
  for (StringRef a : axes.getAsValueRange<StringAttr>())
    n *= a == "pp"             ? p.pp
         : a == "dp_replicate" ? p.dpReplicate
         : a == "dp_shard"     ? p.dpShard
         : a == "cp"           ? p.cp
                               : p.tp;
  return n;
}

int64_t bufferBytes(Value v) {
  auto t = llvm::cast<MemRefType>(v.getType());
  return t.getNumElements() * ((t.getElementTypeBitWidth() + 7) / 8);
}

/// Adds the bytes one run of `fn` sends, by collective kind and by reason,
/// with the runtime's counting (pzrt/comm.h: integer division per call).
void addTransferBytes(func::FuncOp fn, int32_t microBatch, const Plan &plan,
                      TrainProgramInfo &info) {
  fn.walk([&](Operation *op) {
    int64_t bytes = 0;
    StringRef kind;
    pzrt::ReasonAttr reason;
    ArrayAttr axes = op->getAttrOfType<ArrayAttr>("axes");
    if (auto c = llvm::dyn_cast<pzrt::AllReduceOp>(op)) {
      int64_t n = groupSize(plan, c.getAxes());
      bytes = 2 * (n - 1) * bufferBytes(c.getSrc()) / n;
      kind = "all_reduce";
      reason = c.getReason();
    } else if (auto c = llvm::dyn_cast<pzrt::AllGatherOp>(op)) {
      int64_t n = groupSize(plan, c.getAxes());
      bytes = (n - 1) * bufferBytes(c.getDst()) / n;
      kind = "all_gather";
      reason = c.getReason();
    } else if (auto c = llvm::dyn_cast<pzrt::ReduceScatterOp>(op)) {
      int64_t n = groupSize(plan, c.getAxes());
      bytes = (n - 1) * bufferBytes(c.getSrc()) / n;
      kind = "reduce_scatter";
      reason = c.getReason();
    } else if (auto c = llvm::dyn_cast<pzrt::AllToAllOp>(op)) {
      int64_t n = groupSize(plan, c.getAxes());
      bytes = (n - 1) * bufferBytes(c.getSrc()) / n;
      kind = "all_to_all";
      reason = c.getReason();
    } else if (auto c = llvm::dyn_cast<pzrt::BroadcastOp>(op)) {
      int64_t n = groupSize(plan, c.getAxes());
      bytes = (n - 1) * bufferBytes(c.getBuffer()) / n;
      kind = "broadcast";
      reason = c.getReason();
    } else if (auto c = llvm::dyn_cast<pzrt::SendOp>(op)) {
      bytes = bufferBytes(c.getBuffer());
      kind = "send";
      reason = c.getReason();
    } else if (auto c = llvm::dyn_cast<pzrt::ShiftOp>(op)) {
      // Every rank sends its buffer once (counted as a send).
      bytes = groupSize(plan, c.getAxes()) > 1 ? bufferBytes(c.getSrc()) : 0;
      kind = "send";
      reason = c.getReason();
    } else {
      return;
    }
    info.commBytesPerStep[kind.str()] += bytes;
    info.commBytesPerStepByReason[reason.getKind().str()] += bytes;
    TrainProgramInfo::Collective c;
    c.function = fn.getSymName().str();
    c.microBatch = microBatch;
    c.kind = kind.str();
    for (StringRef a : axes.getAsValueRange<StringAttr>())
      c.axes.push_back(a.str());
    c.bytes = bytes;
    c.reason = reason.getKind().str();
    c.source = reason.getSource().str();
    if (auto names = op->getAttrOfType<ArrayAttr>("pz.bucket"))
      for (StringRef n : names.getAsValueRange<StringAttr>())
        c.tensors.push_back(n.str());
    info.collectives.push_back(std::move(c));
  });
}

/// The number of scalar slots of the runtime (pzrt_scalar), one per #pz.role.
constexpr int64_t kScalarSlots = 9;

/// Sums the bytes of `ts` into `total`, with checks.
LogicalResult sumBytes(ArrayRef<ProgramTensor> ts, int64_t &total, Operation *at,
                       StringRef what) {
  for (const ProgramTensor &t : ts) {
    std::optional<int64_t> s = t.bytes() < 0 ? std::nullopt : boundedTotal(total, t.bytes());
    if (!s)
      return at->emitError() << "emitter: the " << what << " exceed " << kMaxTotalBytes
                             << " bytes (at '" << t.name << "')";
    total = *s;
  }
  return success();
}

/// The saved tensors' bytes per micro-batch: pool 0 (savedBytes) and pool 1
/// (weightSavedBytes).
LogicalResult sumSavedBytes(TrainProgramInfo &info, Operation *at) {
  SmallVector<ProgramTensor> pools[2];
  for (auto [t, pool] : llvm::zip(info.saved, info.savedPools))
    pools[pool].push_back(t);
  return success(succeeded(sumBytes(pools[0], info.savedBytes, at, "saved activations")) &&
                 succeeded(sumBytes(pools[1], info.weightSavedBytes, at,
                                    "saved activations of the weight backward")));
}

/// The values the pzrt_program's int32_t fields receive.
LogicalResult checkInt32(ModuleOp module, StringRef what, int64_t v) {
  if (v >= 1 && v <= std::numeric_limits<int32_t>::max())
    return success();
  return module.emitError() << "emitter: " << what << " = " << v
                            << " does not fit the runtime's int32_t";
}

StringRef attrString(DictionaryAttr d, StringRef name) {
  if (!d)
    return {};
  if (auto s = d.getAs<StringAttr>(name))
    return s.getValue();
  return {};
}

ProgramTensor tensorOf(StringRef name, Type type) {
  auto t = llvm::cast<ShapedType>(type);
  return {name.str(), t.getElementType(),
          std::vector<int64_t>(t.getShape().begin(), t.getShape().end())};
}

/// The vocabulary size the token data must respect: the class dim of a
/// cross-entropy kernel, else the embedding table read from `input_ids`.
int64_t findVocab(ModuleOp module, func::FuncOp fb) {
  // A split vocabulary (pz-tensor-parallel) is recorded whole.
  if (auto v = fb->getAttrOfType<IntegerAttr>(PZDialect::kVocabAttrName))
    return v.getInt();
  int64_t vocab = 0;
  module.walk([&](CrossEntropyOp ce) {
    vocab = llvm::cast<RankedTensorType>(ce.getLogits().getType()).getShape().back();
  });
  if (vocab)
    return vocab;
  fb.walk([&](pzrt::DispatchOp d) {
    d.getKernelFunc().walk([&](EmbeddingOp emb) {
      auto arg = llvm::dyn_cast<BlockArgument>(emb.getIds());
      auto host = arg ? llvm::dyn_cast<BlockArgument>(d.getInputs()[arg.getArgNumber()])
                      : BlockArgument();
      if (host &&
          attrString(fb.getArgAttrDict(host.getArgNumber()), PZDialect::kInputAttrName) ==
              "input_ids")
        vocab = llvm::cast<RankedTensorType>(emb.getTable().getType()).getShape()[0];
    });
  });
  return vocab;
}

std::string specList(const char *var, ArrayRef<ProgramTensor> ts, Location loc,
                     LogicalResult &ok) {
  std::string shapes, s = "static const pzrt_tensor_spec " + std::string(var) + "[] = {\n";
  for (auto [i, t] : llvm::enumerate(ts)) {
    auto spec = csrc::tensorSpec(loc, t.name, MemRefType::get(t.shape, t.elementType));
    if (failed(spec)) {
      ok = failure();
      return "";
    }
    if (t.shardAxes || !t.dimAxes.empty()) {
      // {..., global_shape, offsets, global_ndim, shard_axes, dim_axes}
      // (pzrt/train.h).
      std::string g = std::string(var) + "_global_" + std::to_string(i);
      shapes += "static const int64_t " + g + "[] = {";
      for (int64_t d : t.globalShape)
        shapes += std::to_string(d) + ", ";
      shapes += "0};\n";
      std::string dims = "NULL";
      if (!t.dimAxes.empty()) {
        dims = std::string(var) + "_dim_axes_" + std::to_string(i);
        shapes += "static const uint32_t " + dims + "[] = {";
        for (uint32_t m : t.dimAxes)
          shapes += std::to_string(m) + "u, ";
        shapes += "0u};\n";
      }
      spec->pop_back();
      *spec += ", " + g + ", NULL, " +
               std::to_string(t.shardAxes ? t.globalShape.size() : 0) + ", " +
               std::to_string(t.shardAxes) + "u, " + dims +
               (t.splitGroups ? ", " + std::to_string(t.splitGroups) : std::string()) + "}";
    }
    s += "  " + *spec + ",\n";
  }
  return shapes + s + "  {NULL, PZRT_F32, 0, {0}}};\n";
}

/// The driver's tensors and how host function arguments bind to them.
class Binder {
public:
  explicit Binder(TrainProgramInfo &info) : info(info) {}

  /// Collects the parameters and data inputs of @forward_backward (of a
  /// pipeline stage's @stage_forward and @stage_backward: also the tensors
  /// it receives, sends and saves), and the optimizer states of
  /// @optimizer_step.
  LogicalResult collect(ArrayRef<func::FuncOp> steps, func::FuncOp opt) {
    for (func::FuncOp fb : steps) {
      if (auto saved = fb->getAttrOfType<IntegerAttr>(PZDialect::kSavedActivationBytesAttrName))
        info.savedActivationBytes = saved.getInt();
      for (unsigned i = 0; i < fb.getNumArguments(); ++i) {
        DictionaryAttr d = fb.getArgAttrDict(i);
        bool out = d && d.get(pzrt::PZRTDialect::kResultAttrName);
        if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty()) {
          if (paramIndex.count(p))
            continue;
          paramIndex[p] = info.params.size();
          info.params.push_back(tensorOf(p, fb.getArgumentTypes()[i]));
          if (failed(setSharding(fb, i, info.params.back())))
            return failure();
        } else if (StringRef pipe = attrString(d, PZDialect::kPipeAttrName); !pipe.empty()) {
          llvm::StringMap<size_t> &index = out ? outputIndex : inputIndex;
          if (index.count(pipe))
            continue;
          index[pipe] = out ? info.outputs.size() : info.inputs.size();
          (out ? info.outputs : info.inputs).push_back(tensorOf(pipe, fb.getArgumentTypes()[i]));
          (out ? info.outputRoles : info.inputRoles)
              .push_back(pipe == "activation" ? "PZRT_INPUT_ACTIVATION"
                                              : "PZRT_INPUT_ACTIVATION_GRAD");
        } else if (StringRef sv = attrString(d, PZDialect::kSavedAttrName); !sv.empty()) {
          if (savedIndex.count(sv))
            continue;
          savedIndex[sv] = info.saved.size();
          info.saved.push_back(tensorOf(sv, fb.getArgumentTypes()[i]));
          // What a zb stage's B returns is kept for W, in a weight slot.
          info.savedPools.push_back(out && fb.getSymName() == "stage_backward" ? 1 : 0);
        } else if (StringRef in = attrString(d, PZDialect::kInputAttrName);
                   !in.empty() && !argRole(fb, i)) {
          if (inputIndex.count(in))
            continue;
          inputIndex[in] = info.inputs.size();
          info.inputs.push_back(tensorOf(in, fb.getArgumentTypes()[i]));
          info.inputRoles.push_back("PZRT_INPUT_DATA");
          // A data input split over cp: the rank's zigzag chunks of its rows.
          if (failed(setSharding(fb, i, info.inputs.back())))
            return failure();
        } else if (argRole(fb, i) == Role::loss) {
          info.lossName = attrString(d, PZDialect::kOutputAttrName).str();
        }
      }
    }
    for (unsigned i = 0; i < opt.getNumArguments(); ++i)
      if (StringRef s = attrString(opt.getArgAttrDict(i), PZDialect::kStateAttrName);
          !s.empty() && !stateIndex.count(s)) {
        stateIndex[s] = info.states.size();
        info.states.push_back(tensorOf(s, opt.getArgumentTypes()[i]));
        if (failed(setSharding(opt, i, info.states.back())))
          return failure();
      }
    return success();
  }

  /// The index of a stage's input (its name or "activation"...) or output.
  int64_t input(StringRef name) const { return inputIndex.lookup(name); }
  int64_t output(StringRef name) const { return outputIndex.lookup(name); }
  int64_t saved(StringRef name) const { return savedIndex.lookup(name); }
  bool hasInput(StringRef name) const { return inputIndex.count(name); }
  bool hasOutput(StringRef name) const { return outputIndex.count(name); }

  /// `{kind, index}` of every argument of `fn`, gradients bound to the
  /// accumulators when `gradsToAccum`.
  FailureOr<std::string> bindings(func::FuncOp fn, bool gradsToAccum) {
    std::string s;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      DictionaryAttr d = fn.getArgAttrDict(i);
      std::string b;
      auto index = [&](const llvm::StringMap<size_t> &table, StringRef key,
                       const char *kind) -> std::string {
        auto it = table.find(key);
        return it == table.end() ? std::string()
                                 : std::string("{") + kind + ", " + std::to_string(it->second) +
                                       "}";
      };
      if (std::optional<Role> r = argRole(fn, i))
        b = "{PZRT_ARG_SCALAR, " + std::to_string(static_cast<int>(*r)) + "}";
      else if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty())
        b = index(paramIndex, p, "PZRT_ARG_PARAM");
      else if (StringRef g = attrString(d, PZDialect::kGradAttrName); !g.empty())
        b = index(paramIndex, g, gradsToAccum ? "PZRT_ARG_ACCUM" : "PZRT_ARG_GRAD");
      else if (StringRef a = attrString(d, PZDialect::kAccumAttrName); !a.empty())
        b = index(paramIndex, a, "PZRT_ARG_ACCUM");
      else if (StringRef st = attrString(d, PZDialect::kStateAttrName); !st.empty())
        b = index(stateIndex, st, "PZRT_ARG_STATE");
      else if (StringRef pipe = attrString(d, PZDialect::kPipeAttrName); !pipe.empty())
        b = d.get(pzrt::PZRTDialect::kResultAttrName) ? index(outputIndex, pipe, "PZRT_ARG_OUTPUT")
                                                       : index(inputIndex, pipe, "PZRT_ARG_INPUT");
      else if (StringRef sv = attrString(d, PZDialect::kSavedAttrName); !sv.empty())
        b = index(savedIndex, sv, "PZRT_ARG_SAVED");
      else if (StringRef in = attrString(d, PZDialect::kInputAttrName); !in.empty())
        b = index(inputIndex, in, "PZRT_ARG_INPUT");
      if (b.empty())
        return fn.emitError() << "emitter: argument " << i << " of @" << fn.getSymName()
                              << " has no role the driver binds";
      s += (s.empty() ? "" : ", ") + b;
    }
    return s;
  }

private:
  /// A sharded argument's global shape and grid axes: its box (pz.box_shard,
  /// pz-tensor-parallel: the whole shape and each dim's axis), its flat
  /// chunk (pz.flat_shard, pz-zero: the shape it flattens), or both: the
  /// flat chunk of the rank's box (tp with dp_shard), whose pz.flat_shard
  /// shape is the box's.
  static LogicalResult setSharding(func::FuncOp fn, unsigned i, ProgramTensor &t) {
    auto box = fn.getArgAttrOfType<DictionaryAttr>(i, PZDialect::kBoxShardAttrName);
    auto shard = fn.getArgAttrOfType<DictionaryAttr>(i, PZDialect::kFlatShardAttrName);
    SmallVector<int64_t> local(t.shape.begin(), t.shape.end());
    if (shard) {
      auto shape = shard.getAs<DenseI64ArrayAttr>("shape");
      local.assign(shape.asArrayRef().begin(), shape.asArrayRef().end());
      t.globalShape.assign(local.begin(), local.end());
      for (int16_t a : shard.getAs<DenseI16ArrayAttr>("grid_axes").asArrayRef())
        t.shardAxes |= 1u << a;
      if (t.shape.size() != 1 || t.globalShape.size() > 8)
        return fn.emitError() << "emitter: the flat-sharded tensor '" << t.name
                              << "' must be 1-D locally and have at most 8 dims";
    }
    if (box) {
      auto shape = box.getAs<DenseI64ArrayAttr>("shape");
      auto dims = box.getAs<DenseI16ArrayAttr>("dim_axes");
      t.globalShape.assign(shape.asArrayRef().begin(), shape.asArrayRef().end());
      for (int16_t a : dims.asArrayRef())
        t.dimAxes.push_back(a < 0 ? 0u : 1u << a);
      if (t.globalShape.size() != local.size() || t.dimAxes.size() != local.size())
        return fn.emitError() << "emitter: the box-sharded tensor '" << t.name
                              << "' has a global shape of another rank than its block";
    }
    // A state "kind:param" has its parameter's layout.
    StringRef param = t.name;
    if (fn.getArgAttr(i, PZDialect::kStateAttrName))
      param = param.split(':').second;
    auto groups = fn->getParentOfType<ModuleOp>()->getAttrOfType<DictionaryAttr>(
        PZDialect::kSplitGroupsAttrName);
    if (auto g = groups ? groups.getAs<DenseI64ArrayAttr>(param) : DenseI64ArrayAttr()) {
      t.splitGroups = g[0];
      if (static_cast<size_t>(g[1]) >= t.dimAxes.size() || t.dimAxes[g[1]] == 0 ||
          llvm::count_if(t.dimAxes, [](uint32_t m) { return m != 0; }) != 1)
        return fn.emitError() << "emitter: '" << t.name
                              << "' is laid out per tp rank (pz.split_groups) but tp does not "
                                 "split it on that dim alone";
    }
    return success();
  }

  TrainProgramInfo &info;
  llvm::StringMap<size_t> paramIndex, inputIndex, stateIndex, outputIndex, savedIndex;
};

/// The pzrt_function_role of a host function.
FailureOr<const char *> functionRole(func::FuncOp fn) {
  StringRef n = fn.getSymName();
  if (n == "forward_backward")
    return "PZRT_FN_FORWARD_BACKWARD";
  if (n == "accumulate_grads")
    return "PZRT_FN_ACCUMULATE_GRADS";
  if (n == "finalize_grads")
    return "PZRT_FN_FINALIZE_GRADS";
  if (n == "optimizer_step")
    return "PZRT_FN_OPTIMIZER_STEP";
  if (n == "stage_forward")
    return "PZRT_FN_STAGE_FORWARD";
  if (n == "stage_backward")
    return "PZRT_FN_STAGE_BACKWARD";
  if (n == "stage_backward_weight")
    return "PZRT_FN_STAGE_BACKWARD_WEIGHT";
  if (n == "grad_norm_sq")
    return "PZRT_FN_GRAD_NORM_SQ";
  return fn.emitError() << "emitter: the schedule runs @" << n
                        << ", which has no role in a training step";
}

} // namespace

/// One program: the host functions, the tables and `pz_program`; `stage`
/// -1 for the whole step, else a pipeline stage's module.
static LogicalResult emitProgram(ModuleOp module, DeviceEmitter &device,
                                 const TrainProgramOptions &opts, raw_ostream &os,
                                 TrainProgramInfo &info, int64_t stage, int64_t vocab = -1) {
  info.stage = stage;
  bool staged = stage >= 0;
  auto fb = module.lookupSymbol<func::FuncOp>(staged ? "stage_forward" : "forward_backward");
  auto bwd = module.lookupSymbol<func::FuncOp>("stage_backward");
  auto opt = module.lookupSymbol<func::FuncOp>("optimizer_step");
  auto schedules = llvm::to_vector(module.getOps<pzrt::ScheduleOp>());
  if (!fb || !opt || schedules.size() != 1 || (staged && !bwd))
    return module.emitError() << "emitter: the train program needs @forward_backward (a "
                                 "pipeline stage: @stage_forward and @stage_backward), "
                                 "@optimizer_step and a pzrt.schedule (pzrt-build-schedule)";
  auto target = module->getAttrOfType<StringAttr>(pzrt::PZRTDialect::kTargetAttrName);
  std::optional<TargetInfo> targetInfo = TargetInfo::get(target ? target.getValue() : "");
  if (!targetInfo)
    return module.emitError() << "emitter: the module has no pzrt.target; run convert-pz-to-pzrt";
  auto lrSchedule = opt->getAttrOfType<LRScheduleAttr>(PZDialect::kLRScheduleAttrName);
  if (!lrSchedule)
    return opt.emitError() << "emitter: @optimizer_step has no #pz.lr_schedule";
  auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
  if (!plan)
    return module.emitError() << "emitter: the module has no #pz.plan";

  Binder binder(info);
  SmallVector<func::FuncOp> steps = {fb};
  if (staged)
    steps.push_back(bwd);
  if (auto weight = module.lookupSymbol<func::FuncOp>("stage_backward_weight"))
    steps.push_back(weight);
  if (failed(binder.collect(steps, opt)))
    return failure();
  HostProgram program(module, device, *targetInfo);
  if (failed(program.emit(os, /*prelude=*/!staged)))
    return failure();

  // One table entry per (function, gradient binding) the schedule runs.
  std::string entries, actions;
  llvm::StringMap<int> entryOf;
  int numEntries = 0, numActions = 0;
  bool accumulators = false;
  // A stage's table as the schedule runs it: its slots and its order.
  std::vector<StageAction> table;
  // Each action's place in the rank's step (pzrt_action.order).
  std::optional<ArrayRef<int64_t>> places = schedules.front().getOrder();
  auto place = [&] {
    return ", " + std::to_string(places ? (*places)[numActions] : numActions) + "},\n";
  };
  for (Operation &op : schedules.front().getBody().front()) {
    if (llvm::isa<pzrt::CheckNumericsOp>(op)) {
      actions += "  {PZRT_ACTION_CHECK_NUMERICS, 0, 0, 0" + place();
      ++numActions;
      continue;
    }
    if (auto send = llvm::dyn_cast<pzrt::StageSendOp>(op)) {
      if (!binder.hasOutput(send.getTensor()))
        return send.emitError() << "emitter: the stage sends '" << send.getTensor()
                                << "' but computes no such output";
      actions += "  {PZRT_ACTION_SEND, 0, " + std::to_string(send.getMicroBatch()) + ", " +
                 std::to_string(binder.output(send.getTensor())) + place();
      // The runtime counts a stage's send under its reason, "pp.<tensor>".
      int64_t bytes = info.outputs[binder.output(send.getTensor())].bytes();
      info.commBytesPerStep["send"] += bytes;
      info.commBytesPerStepByReason["pp." + send.getTensor().str()] += bytes;
      ++numActions;
      continue;
    }
    if (auto recv = llvm::dyn_cast<pzrt::StageRecvOp>(op)) {
      if (!binder.hasInput(recv.getTensor()))
        return recv.emitError() << "emitter: the stage receives '" << recv.getTensor()
                                << "' but reads no such input";
      table.push_back({recv.getTensor() == "activation" ? StageAction::RecvActivation
                                                         : StageAction::RecvGrad,
                       recv.getMicroBatch()});
      actions += "  {PZRT_ACTION_RECV, 0, " + std::to_string(recv.getMicroBatch()) + ", " +
                 std::to_string(binder.input(recv.getTensor())) + place();
      ++numActions;
      continue;
    }
    auto run = llvm::cast<pzrt::RunOp>(op);
    auto fn = module.lookupSymbol<func::FuncOp>(run.getCalleeAttr());
    bool toAccum = run.getGrads() == pzrt::SlotKind::accum;
    std::string key = fn.getSymName().str() + (toAccum ? "/accum" : "");
    if (!entryOf.count(key)) {
      FailureOr<std::string> b = binder.bindings(fn, toAccum);
      FailureOr<const char *> role = functionRole(fn);
      if (failed(b) || failed(role))
        return failure();
      accumulators |= toAccum || b->find("PZRT_ARG_ACCUM") != std::string::npos;
      std::string table = "pz_args_" + std::to_string(numEntries);
      os << "static const pzrt_arg_binding " << table << "[] = {" << (b->empty() ? "{0, 0}" : *b)
         << "};\n";
      entries += "  {" + cString(fn.getSymName()) + ", " + *role + ", " +
                 HostProgram::cName(fn) + ", " + std::to_string(fn.getNumArguments()) + ", " +
                 table + ", " + std::to_string(HostProgram::arenaBytes(fn)) + "u, " +
                 std::to_string(HostProgram::arenaPeakBytes(fn)) + "u},\n";
      entryOf[key] = numEntries++;
    }
    if (std::optional<StageAction::Kind> kind =
            llvm::StringSwitch<std::optional<StageAction::Kind>>(fn.getSymName())
                .Case("stage_forward", StageAction::Forward)
                .Case("stage_backward", StageAction::Backward)
                .Case("stage_backward_weight", StageAction::Weight)
                .Default(std::nullopt))
      table.push_back({*kind, run.getMicroBatch()});
    actions += "  {PZRT_ACTION_RUN, " + std::to_string(entryOf[key]) + ", " +
               std::to_string(run.getMicroBatch()) + ", 0" + place();
    addTransferBytes(fn, run.getMicroBatch(), plan.getPlan(), info);
    ++numActions;
  }
  info.slots = inFlight(table);
  if (llvm::is_contained(info.savedPools, 1))
    info.weightSlots = weightInFlight(table);
  info.computeOrder = computeOrder(table);
  // The slot is free after B: W reads only its weight slot.
  if (auto weight = module.lookupSymbol<func::FuncOp>("stage_backward_weight"))
    for (unsigned i = 0; i < weight.getNumArguments(); ++i) {
      DictionaryAttr d = weight.getArgAttrDict(i);
      StringRef sv = attrString(d, PZDialect::kSavedAttrName);
      bool forwardSaved = !sv.empty() && !d.get(pzrt::PZRTDialect::kResultAttrName) &&
                          info.savedPools[binder.saved(sv)] == 0;
      if (forwardSaved || !attrString(d, PZDialect::kPipeAttrName).empty() ||
          (!attrString(d, PZDialect::kInputAttrName).empty() && !argRole(weight, i)))
        return weight.emitError() << "emitter: @stage_backward_weight reads argument " << i
                                  << " from the micro-batch's slot, which B frees; "
                                     "pz-split-forward-backward passes such tensors through B";
    }
  os << "\nstatic const pzrt_function_entry pz_functions[] = {\n" << entries << "};\n"
     << "static const pzrt_action pz_schedule[] = {\n" << actions << "};\n";

  Plan p = plan.getPlan();
  if (failed(checkInt32(module, "grad_accum", p.gradAccum)) ||
      failed(checkInt32(module, "the world size", p.worldSize())) ||
      failed(checkInt32(module, "the data-parallel size", p.dpReplicate * p.dpShard)))
    return failure();
  for (auto [what, n] : {std::pair<StringRef, size_t>{"parameters", info.params.size()},
                         {"inputs", info.inputs.size()},
                         {"optimizer states", info.states.size()}})
    if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      return module.emitError() << "emitter: " << n << " " << what
                                << " do not fit the runtime's int32_t count";
  // Every total is checked: each arena is within kMaxTotalBytes
  // (pzrt-plan-memory), the tensors are summed here.
  for (func::FuncOp fn : program.hostFunctions()) {
    info.arenaBytes = std::max(info.arenaBytes, HostProgram::arenaBytes(fn));
    info.arenaPeakBytes = std::max(info.arenaPeakBytes, HostProgram::arenaPeakBytes(fn));
  }
  if (failed(sumBytes(info.params, info.paramBytes, fb, "parameters")) ||
      failed(sumBytes(info.states, info.stateBytes, opt, "optimizer states")) ||
      failed(sumBytes(info.inputs, info.dataBytes, fb, "inputs")) ||
      failed(sumSavedBytes(info, fb)) ||
      failed(sumBytes(info.outputs, info.outputBytes, fb, "stage outputs")))
    return failure();
  if (staged) {
    // Every slot holds the inputs and the saved set of one micro-batch
    // (pzrt_train_main_stages).
    std::optional<int64_t> slotBytes = boundedTotal(info.dataBytes, info.savedBytes);
    if (slotBytes)
      slotBytes = boundedTotalProduct(*slotBytes, std::max<int64_t>(info.slots, 1));
    if (std::optional<int64_t> weight =
            boundedTotalProduct(info.weightSavedBytes, info.weightSlots);
        slotBytes && weight)
      slotBytes = boundedTotal(*slotBytes, *weight);
    else
      slotBytes = std::nullopt;
    if (slotBytes)
      slotBytes = boundedTotal(*slotBytes, info.outputBytes);
    if (!slotBytes)
      return fb.emitError() << "emitter: the stage's slots exceed " << kMaxTotalBytes << " bytes";
    info.dataBytes = *slotBytes;
    if (auto d = module->getAttrOfType<DictionaryAttr>(PZDialect::kStageAttrName))
      if (auto f = d.getAs<IntegerAttr>("flops"))
        info.stageFlops = f.getInt();
  }
  // The runtime reads grad_accum x dp micro-batches of every input per step.
  for (const ProgramTensor &in : info.inputs) {
    std::optional<int64_t> step = boundedTotalProduct(in.bytes(), p.gradAccum);
    if (step)
      step = boundedTotalProduct(*step, p.dpReplicate * p.dpShard);
    if (!step)
      return fb.emitError() << "emitter: input '" << in.name << "' (" << in.bytes()
                            << " bytes per micro-batch) x grad_accum " << p.gradAccum << " x "
                            << p.dpReplicate * p.dpShard << " data-parallel ranks exceeds "
                            << kMaxTotalBytes << " bytes per step";
  }
  // ZeRO 2 and 3: each gradient (and accumulator) is its chunk of
  // ceil(N / dp_shard) elements (pzrt_program.grad_shard_axes).
  uint32_t gradShardAxes = p.zero >= 2 && p.dpShard > 1 ? 1u << 2 : 0;
  auto gradBytesOf = [&](const ProgramTensor &t) {
    if (!gradShardAxes || t.shardAxes)
      return t.bytes();
    int64_t n = boundedElementCount(t.shape).value_or(0); // bounded: t.bytes() >= 0
    return (n + p.dpShard - 1) / p.dpShard * TargetInfo::get("cpu")->storageBytes(t.elementType);
  };
  info.gradBytes = 0;
  for (const ProgramTensor &t : info.params)
    info.gradBytes += gradBytesOf(t);
  // Parameters several stages hold (pz-split-stages' pz.tied_stages): each
  // one's index and stage mask. Their gradients are summed over those
  // stages (a ring all-reduce of 2(n-1)/n of the gradient's bytes).
  SmallVector<std::pair<size_t, uint64_t>> tied;
  if (auto stagesOf = module->getAttrOfType<DictionaryAttr>(PZDialect::kTiedStagesAttrName))
    for (NamedAttribute t : stagesOf) {
      auto it = llvm::find_if(info.params, [&](const ProgramTensor &q) {
        return q.name == t.getName().getValue();
      });
      if (it == info.params.end())
        continue;
      uint64_t mask = static_cast<uint64_t>(llvm::cast<IntegerAttr>(t.getValue()).getInt());
      tied.push_back({static_cast<size_t>(it - info.params.begin()), mask});
      int64_t n = llvm::popcount(mask), bytes = 2 * (n - 1) * gradBytesOf(*it) / n;
      info.commBytesPerStep["all_reduce"] += bytes;
      info.commBytesPerStepByReason["pp.tied_grad"] += bytes;
    }
  // The accumulators and the scalar slots (pzrt/train.h's formula).
  info.workspaceBytes = (accumulators ? info.gradBytes : 0) + 8 * kScalarSlots;
  std::optional<int64_t> peak = 0;
  for (int64_t part : {info.paramBytes, info.gradBytes, info.stateBytes, info.arenaBytes,
                       info.dataBytes, info.workspaceBytes})
    if (peak)
      peak = boundedTotal(*peak, part);
  if (!peak)
    return module.emitError() << "emitter: the predicted peak exceeds " << kMaxTotalBytes
                              << " bytes per rank";
  info.peakBytes = *peak;
  info.vocab = vocab >= 0 ? vocab : findVocab(module, fb);

  LogicalResult ok = success();
  os << specList("pz_params", info.params, fb.getLoc(), ok)
     << specList("pz_inputs", info.inputs, fb.getLoc(), ok)
     << specList("pz_states", info.states, opt.getLoc(), ok)
     << specList("pz_saved", info.saved, fb.getLoc(), ok)
     << specList("pz_outputs", info.outputs, fb.getLoc(), ok);
  if (failed(ok))
    return failure();
  std::string tiedParams, tiedStages;
  for (auto [index, mask] : tied) {
    tiedParams += std::to_string(index) + ", ";
    tiedStages += std::to_string(mask) + "u, ";
  }
  os << "static const int32_t pz_saved_pools[] = {";
  for (int pool : info.savedPools)
    os << pool << ", ";
  os << "0};\n";
  os << "static const int32_t pz_tied_params[] = {" << tiedParams << "0};\n"
     << "static const uint32_t pz_tied_stages[] = {" << tiedStages << "0u};\n";
  os << "static const int32_t pz_input_roles[] = {";
  for (const std::string &r : info.inputRoles)
    os << r << ", ";
  os << "0};\nstatic const int32_t pz_output_roles[] = {";
  for (const std::string &r : info.outputRoles)
    os << r << ", ";
  os << "0};\n";
  std::string scaler = "NULL";
  if (auto s = module->getAttrOfType<LossScalingAttr>(PZDialect::kLossScalingAttrName)) {
    os << "static const pzrt_loss_scaler pz_loss_scaler = {"
       << floatLiteral(s.getInitialScale().convertToDouble(), false) << ", 0, "
       << s.getGrowthInterval() << ", " << floatLiteral(s.getGrowthFactor().convertToDouble(), false)
       << ", " << floatLiteral(s.getBackoffFactor().convertToDouble(), false) << ", 1.0};\n";
    scaler = "&pz_loss_scaler";
  }
  const std::vector<uint32_t> &groups = program.commGroups();
  os << "static const uint32_t pz_comm_groups[] = {";
  for (uint32_t g : groups)
    os << g << "u, ";
  os << "0u};\n\n";

  std::string kind = lrSchedule.getKind() == LRScheduleKind::cosine ? "PZRT_LR_COSINE"
                                                                    : "PZRT_LR_CONSTANT";
  os << "static const pzrt_program pz_program = {\n"
     << "  PZRT_ABI_VERSION, " << cString(opts.modelName) << ",\n"
     << "  " << info.params.size() << ", pz_params,\n"
     << "  " << info.inputs.size() << ", pz_inputs, pz_input_roles,\n"
     << "  " << info.states.size() << ", pz_states,\n"
     << "  " << info.arenaBytes << "u, " << info.arenaPeakBytes << "u, " << info.peakBytes
     << "u,\n"
     << "  " << p.gradAccum << ", " << p.worldSize() << ", " << p.dpReplicate * p.dpShard
     << ",\n"
     << "  {" << p.pp << ", " << p.dpReplicate << ", " << p.dpShard << ", " << p.cp << ", "
     << p.tp << "},\n"
     << "  " << info.vocab << ",\n"
     << "  {" << kind << ", " << floatLiteral(lrSchedule.getLr().convertToDouble(), false) << ", "
     << lrSchedule.getWarmupSteps() << ", " << lrSchedule.getTotalSteps() << ", 0.0},\n"
     << "  " << scaler << ",\n"
     << "  " << (opts.initFile.empty() ? "NULL" : cString(opts.initFile)) << ",\n"
     << "  " << cString(opts.planJson) << ",\n"
     << "  " << numEntries << ", pz_functions,\n"
     << "  " << numActions << ", pz_schedule,\n"
     << "  " << groups.size() << ", pz_comm_groups,\n"
     << "  " << gradShardAxes << "u,\n"
     << "  " << std::max<int64_t>(stage, 0) << ", " << (staged ? std::max<int64_t>(info.slots, 1) : 0)
     << ", " << info.saved.size() << ", pz_saved, " << info.outputs.size()
     << ", pz_outputs, pz_output_roles,\n  " << tied.size() << ", pz_tied_params, pz_tied_stages,\n  "
     << info.weightSlots << ", pz_saved_pools,\n  "
     << (staged && p.schedule == Schedule::Interleaved ? p.virtualStages : 1) << "};\n\n";
  if (!staged)
    os << "int main(int argc, char **argv) { return " << device.mainPrefix()
       << "train_main(&pz_program, argc, argv); }\n";
  return success();
}

LogicalResult mlir::pz::emitTrainProgram(ModuleOp module, DeviceEmitter &device,
                                         const TrainProgramOptions &opts, raw_ostream &os,
                                         TrainProgramInfo &info) {
  SmallVector<ModuleOp> stages;
  for (auto m : module.getOps<ModuleOp>())
    if (m->hasAttr(PZDialect::kStageAttrName))
      stages.push_back(m);
  if (stages.empty())
    return emitProgram(module, device, opts, os, info, -1);
  // A pipeline: one program per stage, each in its namespace. Every stage
  // checks token data against the model's vocabulary (the last stage's
  // cross-entropy, else the first stage's embedding).
  int64_t vocab = 0;
  for (ModuleOp m : stages)
    if (auto f = m.lookupSymbol<func::FuncOp>("stage_forward"))
      vocab = std::max(vocab, findVocab(m, f));
  HostProgram::emitPrelude(device, os);
  info.stages.resize(stages.size());
  for (auto [k, m] : llvm::enumerate(stages)) {
    os << "\nnamespace pz_stage_" << k << " {\n";
    if (failed(emitProgram(m, device, opts, os, info.stages[k], k, vocab)))
      return failure();
    os << "} // namespace pz_stage_" << k << "\n";
  }
  os << "\nstatic const pzrt_program *const pz_stages[] = {";
  for (size_t k = 0; k < stages.size(); ++k)
    os << "&pz_stage_" << k << "::pz_program, ";
  os << "};\n\nint main(int argc, char **argv) {\n  return " << device.mainPrefix()
     << "train_main_stages(pz_stages, "
     << stages.size() << ", argc, argv);\n}\n";
  std::vector<TrainProgramInfo> all = std::move(info.stages);
  info = all.front();
  info.stages = std::move(all);
  return success();
}
