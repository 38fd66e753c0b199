//===- TrainProgram.cpp - the train executable's C++ ----------------------===//
//
// @forward_backward and @optimizer_step become generic step functions; thin
// wrappers map them onto the driver's calling convention (pzrt/train.h) by
// the role attributes of their arguments and results (pz.param, pz.input,
// pz.grad, pz.state, pz.output), and a constant pzrt_model describes the
// tensors, the memory plan and the schedule to the driver.
//
//===----------------------------------------------------------------------===//

#include "FunctionEmitter.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Support/Limits.h"
#include "pz/Target/Cpp/CppEmitter.h"

#include "llvm/ADT/StringMap.h"

#include <limits>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

int64_t ProgramTensor::bytes() const {
  std::optional<int64_t> n = boundedElementCount(shape);
  std::optional<int64_t> b = n ? boundedBytes(*n, storageBytes(elementType)) : std::nullopt;
  return b.value_or(-1);
}

/// Sums the bytes of `ts` into `total`, with checks.
static LogicalResult sumBytes(ArrayRef<ProgramTensor> ts, int64_t &total, Operation *at,
                              StringRef what) {
  for (const ProgramTensor &t : ts) {
    std::optional<int64_t> s = t.bytes() < 0 ? std::nullopt : boundedTotal(total, t.bytes());
    if (!s)
      return at->emitError() << "CPU backend: the " << what << " exceed " << kMaxTotalBytes
                             << " bytes (at '" << t.name << "')";
    total = *s;
  }
  return success();
}

/// The values the pzrt_model's int32_t fields receive.
static LogicalResult checkInt32(ModuleOp module, StringRef what, int64_t v) {
  if (v >= 1 && v <= std::numeric_limits<int32_t>::max())
    return success();
  return module.emitError() << "CPU backend: " << what << " = " << v
                            << " does not fit the runtime's int32_t";
}

static StringRef attrString(DictionaryAttr d, StringRef name) {
  if (!d)
    return {};
  if (auto s = d.getAs<StringAttr>(name))
    return s.getValue();
  return {};
}

static ProgramTensor tensorOf(StringRef name, Type type) {
  auto t = llvm::cast<RankedTensorType>(type);
  return {name.str(), t.getElementType(), std::vector<int64_t>(t.getShape().begin(), t.getShape().end())};
}

/// The vocabulary size the token data must respect: the class dim of the
/// cross-entropy that reads `labels`, else the embedding table read by
/// `input_ids`.
static int64_t findVocab(func::FuncOp fb) {
  int64_t vocab = 0;
  fb.walk([&](Operation *op) {
    if (auto ce = llvm::dyn_cast<CrossEntropyOp>(op))
      vocab = llvm::cast<RankedTensorType>(ce.getLogits().getType()).getShape().back();
  });
  if (vocab)
    return vocab;
  fb.walk([&](EmbeddingOp emb) {
    if (auto arg = llvm::dyn_cast<BlockArgument>(emb.getIds()))
      if (attrString(fb.getArgAttrDict(arg.getArgNumber()), PZDialect::kInputAttrName) ==
          "input_ids")
        vocab = llvm::cast<RankedTensorType>(emb.getTable().getType()).getShape()[0];
  });
  return vocab;
}

static std::string specList(const char *var, ArrayRef<ProgramTensor> ts, Location loc,
                            LogicalResult &ok) {
  std::string s = "static const pzrt_tensor_spec " + std::string(var) + "[] = {\n";
  for (const ProgramTensor &t : ts) {
    auto spec = tensorSpec(loc, t.name, RankedTensorType::get(t.shape, t.elementType));
    if (failed(spec)) {
      ok = failure();
      return "";
    }
    s += "  " + *spec + ",\n";
  }
  return s + "  {NULL, PZRT_F32, 0, {0}}};\n";
}

LogicalResult mlir::pz::emitTrainProgram(ModuleOp module, const TrainProgramOptions &opts,
                                         raw_ostream &os, TrainProgramInfo &info) {
  auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
  auto opt = module.lookupSymbol<func::FuncOp>("optimizer_step");
  if (!fb || !opt)
    return module.emitError()
           << "CPU backend: the train program needs @forward_backward and @optimizer_step";
  llvm::StringMap<int> paramIndex, stateIndex;
  // @forward_backward(args) -> (loss, grads): its argument and result slots.
  std::vector<std::string> fbArgs, fbResults;
  for (unsigned i = 0; i < fb.getNumArguments(); ++i) {
    DictionaryAttr d = fb.getArgAttrDict(i);
    Type t = fb.getArgumentTypes()[i];
    if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty()) {
      paramIndex[p] = info.params.size();
      fbArgs.push_back("params[" + std::to_string(info.params.size()) + "]");
      info.params.push_back(tensorOf(p, t));
    } else if (StringRef in = attrString(d, PZDialect::kInputAttrName); !in.empty()) {
      fbArgs.push_back("inputs[" + std::to_string(info.inputs.size()) + "]");
      info.inputs.push_back(tensorOf(in, t));
    } else {
      return fb.emitError() << "CPU backend: argument " << i
                            << " of @forward_backward is neither pz.param nor pz.input";
    }
  }
  for (unsigned i = 0; i < fb.getNumResults(); ++i) {
    DictionaryAttr d = fb.getResultAttrDict(i);
    if (StringRef g = attrString(d, PZDialect::kGradAttrName); !g.empty()) {
      auto it = paramIndex.find(g);
      if (it == paramIndex.end())
        return fb.emitError() << "CPU backend: gradient of unknown parameter '" << g << "'";
      fbResults.push_back("grads[" + std::to_string(it->second) + "]");
    } else if (StringRef o = attrString(d, PZDialect::kOutputAttrName);
               !o.empty() && info.lossName.empty()) {
      info.lossName = o.str();
      fbResults.push_back("loss");
    } else {
      return fb.emitError() << "CPU backend: result " << i
                            << " of @forward_backward is neither the loss nor a gradient";
    }
  }
  // @optimizer_step(params, grads, states, lr, step) -> (params, states, grad_norm).
  std::vector<std::string> optArgs, optResults;
  std::vector<int> optAliases;
  llvm::StringMap<int> optArgOfParam, optArgOfState;
  for (unsigned i = 0; i < opt.getNumArguments(); ++i) {
    DictionaryAttr d = opt.getArgAttrDict(i);
    if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty()) {
      optArgOfParam[p] = i;
      optArgs.push_back("params[" + std::to_string(paramIndex.lookup(p)) + "]");
    } else if (StringRef g = attrString(d, PZDialect::kGradAttrName); !g.empty()) {
      optArgs.push_back("grads[" + std::to_string(paramIndex.lookup(g)) + "]");
    } else if (StringRef s = attrString(d, PZDialect::kStateAttrName); !s.empty()) {
      optArgOfState[s] = i;
      stateIndex[s] = info.states.size();
      optArgs.push_back("states[" + std::to_string(info.states.size()) + "]");
      info.states.push_back(tensorOf(s, opt.getArgumentTypes()[i]));
    } else if (StringRef in = attrString(d, PZDialect::kInputAttrName); in == "lr" || in == "step") {
      optArgs.push_back(in == "lr" ? "(void *)lr_t" : "(void *)step_t");
    } else {
      return opt.emitError() << "CPU backend: argument " << i << " of @optimizer_step has no role";
    }
  }
  for (unsigned i = 0; i < opt.getNumResults(); ++i) {
    DictionaryAttr d = opt.getResultAttrDict(i);
    if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty()) {
      optResults.push_back("params[" + std::to_string(paramIndex.lookup(p)) + "]");
      optAliases.push_back(optArgOfParam.lookup(p));
    } else if (StringRef s = attrString(d, PZDialect::kStateAttrName); !s.empty()) {
      optResults.push_back("states[" + std::to_string(stateIndex.lookup(s)) + "]");
      optAliases.push_back(optArgOfState.lookup(s));
    } else if (attrString(d, PZDialect::kOutputAttrName) == "grad_norm") {
      optResults.push_back("grad_norm");
      optAliases.push_back(-1);
    } else {
      return opt.emitError() << "CPU backend: result " << i << " of @optimizer_step has no role";
    }
  }

  std::string globals, fns;
  llvm::raw_string_ostream g(globals), f(fns);
  SmallVector<int> none(fb.getNumResults(), -1);
  if (failed(emitStepFunction(fb, "pz_forward_backward", none, g, f)) ||
      failed(emitStepFunction(opt, "pz_optimizer_step", optAliases, g, f)))
    return failure();

  if (failed(checkInt32(module, "grad_accum", opts.gradAccum)) ||
      failed(checkInt32(module, "the world size", opts.worldSize)) ||
      failed(checkInt32(module, "the data-parallel size", opts.dpSize)))
    return failure();
  for (auto [what, n] : {std::pair<StringRef, size_t>{"parameters", info.params.size()},
                         {"inputs", info.inputs.size()},
                         {"optimizer states", info.states.size()}})
    if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
      return module.emitError() << "CPU backend: " << n << " " << what
                                << " do not fit the runtime's int32_t count";
  // Every total is checked: the arena sizes come from pz-plan-memory (each
  // within kMaxTotalBytes), the tensors are summed here.
  info.arenaBytes = std::max(memoryPlanValue(fb, "arena_bytes"), memoryPlanValue(opt, "arena_bytes"));
  info.arenaPeakBytes = std::max(memoryPlanValue(fb, "peak_bytes"), memoryPlanValue(opt, "peak_bytes"));
  if (info.arenaBytes < 0 || info.arenaBytes > kMaxTotalBytes || info.arenaPeakBytes < 0 ||
      info.arenaPeakBytes > info.arenaBytes)
    return module.emitError() << "CPU backend: the memory plan's arena of " << info.arenaBytes
                              << " bytes is out of range";
  if (failed(sumBytes(info.params, info.paramBytes, fb, "parameters")) ||
      failed(sumBytes(info.states, info.stateBytes, opt, "optimizer states")) ||
      failed(sumBytes(info.inputs, info.dataBytes, fb, "inputs")))
    return failure();
  // The runtime reads grad_accum x dp micro-batches of every input per step.
  for (const ProgramTensor &in : info.inputs) {
    std::optional<int64_t> step = boundedTotalProduct(in.bytes(), opts.gradAccum);
    if (step)
      step = boundedTotalProduct(*step, opts.dpSize);
    if (!step)
      return fb.emitError() << "CPU backend: input '" << in.name << "' (" << in.bytes()
                            << " bytes per micro-batch) x grad_accum " << opts.gradAccum
                            << " x " << opts.dpSize << " data-parallel ranks exceeds "
                            << kMaxTotalBytes << " bytes per step";
  }
  info.gradBytes = info.paramBytes;
  info.workspaceBytes = opts.gradAccum > 1 ? info.paramBytes : 0;
  std::optional<int64_t> peak = 0;
  for (int64_t part : {info.paramBytes, info.gradBytes, info.stateBytes, info.arenaBytes,
                       info.dataBytes, info.workspaceBytes})
    if (peak)
      peak = boundedTotal(*peak, part);
  if (!peak)
    return module.emitError() << "CPU backend: the predicted peak exceeds " << kMaxTotalBytes
                              << " bytes per rank";
  info.peakBytes = *peak;
  info.vocab = findVocab(fb);

  os << programPrelude() << globals << "\n" << fns;
  auto join = [](ArrayRef<std::string> v) {
    std::string s;
    for (auto &x : v)
      s += (s.empty() ? "" : ", ") + x;
    return s.empty() ? std::string("NULL") : s;
  };
  os << "static int pz_train_forward_backward(pzrt_step_ctx *ctx, void *const *params,\n"
     << "                                     void *const *inputs, float *loss, void *const *grads) {\n"
     << "  (void)params; (void)inputs;\n"
     << "  void *const args[] = {" << join(fbArgs) << "};\n"
     << "  void *const results[] = {" << join(fbResults) << "};\n"
     << "  return pz_forward_backward(ctx, args, results);\n}\n\n";
  os << "static int pz_train_optimizer_step(pzrt_step_ctx *ctx, void *const *params, void *const *grads,\n"
     << "                                   void *const *states, float lr, int64_t step, float *grad_norm) {\n"
     << "  (void)params; (void)grads; (void)states;\n"
     << "  float lr_t[1] = {lr};\n  int64_t step_t[1] = {step};\n  (void)lr_t; (void)step_t;\n"
     << "  void *const args[] = {" << join(optArgs) << "};\n"
     << "  void *const results[] = {" << join(optResults) << "};\n"
     << "  return pz_optimizer_step(ctx, args, results);\n}\n\n";

  LogicalResult ok = success();
  os << specList("pz_params", info.params, fb.getLoc(), ok)
     << specList("pz_inputs", info.inputs, fb.getLoc(), ok)
     << specList("pz_states", info.states, opt.getLoc(), ok);
  if (failed(ok))
    return failure();
  os << "static const int32_t pz_input_roles[] = {";
  for (auto &in : info.inputs)
    os << (in.name == "loss_scale" && module->hasAttr(PZDialect::kLossScalingAttrName)
               ? "PZRT_INPUT_LOSS_SCALE"
               : "PZRT_INPUT_DATA")
       << ", ";
  os << "0};\n\n";

  std::string kind = "PZRT_LR_CONSTANT";
  double lr = 1e-3;
  int64_t warmup = 0, total = 0;
  if (auto s = opt->getAttrOfType<DictionaryAttr>(PZDialect::kLRScheduleAttrName)) {
    if (auto k = s.getAs<StringAttr>("kind"); k && k.getValue() == "cosine")
      kind = "PZRT_LR_COSINE";
    if (auto v = s.getAs<FloatAttr>("lr"))
      lr = v.getValueAsDouble();
    if (auto v = s.getAs<IntegerAttr>("warmup_steps"))
      warmup = v.getInt();
    if (auto v = s.getAs<IntegerAttr>("total_steps"))
      total = v.getInt();
  }
  os << "static const pzrt_model pz_model = {\n"
     << "  " << cString(opts.modelName) << ",\n"
     << "  " << info.params.size() << ", pz_params,\n"
     << "  " << info.inputs.size() << ", pz_inputs, pz_input_roles,\n"
     << "  " << info.states.size() << ", pz_states,\n"
     << "  " << info.arenaBytes << "u, " << info.arenaPeakBytes << "u, " << info.peakBytes
     << "u,\n"
     << "  " << opts.gradAccum << ", " << opts.worldSize << ", " << info.vocab << ",\n"
     << "  {" << kind << ", " << floatLiteral(lr, false) << ", " << warmup << ", " << total
     << ", 0.0},\n"
     << "  " << (module->hasAttr(PZDialect::kLossScalingAttrName) ? 1 : 0) << ",\n"
     << "  " << (opts.initFile.empty() ? "NULL" : cString(opts.initFile)) << ",\n"
     << "  " << cString(opts.planJson) << ",\n"
     << "  pz_train_forward_backward, pz_train_optimizer_step};\n\n"
     << "int main(int argc, char **argv) { return pzrt_train_main(&pz_model, argc, argv); }\n";
  return success();
}
