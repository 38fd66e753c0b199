//===- TrainProgram.cpp - the train executable's tables -------------------===//
//
// The host functions @forward_backward and @optimizer_step are bound to the
// driver's buffers by the roles of their arguments (pz.param, pz.input,
// pz.grad, pz.state and the scalar pz.role), never by names, and a constant
// pzrt_model describes the tensors, the memory plan and the schedule to the
// driver.
//
//===----------------------------------------------------------------------===//

#include "HostEmitter.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTOps.h"
#include "pz/Target/CSource.h"

#include "llvm/ADT/StringMap.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::host;
using csrc::cString;
using csrc::floatLiteral;

int64_t ProgramTensor::bytes() const {
  int64_t n = TargetInfo::get("cpu")->storageBytes(elementType);
  for (int64_t d : shape)
    n *= d;
  return n;
}

static StringRef attrString(DictionaryAttr d, StringRef name) {
  if (!d)
    return {};
  if (auto s = d.getAs<StringAttr>(name))
    return s.getValue();
  return {};
}

static ProgramTensor tensorOf(StringRef name, Type type) {
  auto t = llvm::cast<ShapedType>(type);
  return {name.str(), t.getElementType(),
          std::vector<int64_t>(t.getShape().begin(), t.getShape().end())};
}

/// The vocabulary size the token data must respect: the class dim of the
/// cross-entropy kernel, else the embedding table read from `input_ids`.
static int64_t findVocab(ModuleOp module) {
  int64_t vocab = 0;
  module.walk([&](CrossEntropyOp ce) {
    vocab = llvm::cast<RankedTensorType>(ce.getLogits().getType()).getShape().back();
  });
  if (vocab)
    return vocab;
  auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
  // The embedding's ids come from the input_ids buffer through a dispatch.
  fb.walk([&](pzrt::DispatchOp d) {
    func::FuncOp k = d.getKernelFunc();
    k.walk([&](EmbeddingOp emb) {
      auto arg = llvm::dyn_cast<BlockArgument>(emb.getIds());
      auto host = arg ? llvm::dyn_cast<BlockArgument>(d.getInputs()[arg.getArgNumber()])
                      : BlockArgument();
      if (host && attrString(fb.getArgAttrDict(host.getArgNumber()), PZDialect::kInputAttrName) ==
                      "input_ids")
        vocab = llvm::cast<RankedTensorType>(emb.getTable().getType()).getShape()[0];
    });
  });
  return vocab;
}

static std::string specList(const char *var, ArrayRef<ProgramTensor> ts, Location loc,
                            LogicalResult &ok) {
  std::string s = "static const pzrt_tensor_spec " + std::string(var) + "[] = {\n";
  for (const ProgramTensor &t : ts) {
    auto spec = csrc::tensorSpec(loc, t.name, MemRefType::get(t.shape, t.elementType));
    if (failed(spec)) {
      ok = failure();
      return "";
    }
    s += "  " + *spec + ",\n";
  }
  return s + "  {NULL, PZRT_F32, 0, {0}}};\n";
}

static std::string join(ArrayRef<std::string> v) {
  std::string s;
  for (auto &x : v)
    s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? std::string("NULL") : s;
}

LogicalResult mlir::pz::emitTrainProgram(ModuleOp module, DeviceEmitter &device,
                                         const TrainProgramOptions &opts, raw_ostream &os,
                                         TrainProgramInfo &info) {
  auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
  auto opt = module.lookupSymbol<func::FuncOp>("optimizer_step");
  if (!fb || !opt)
    return module.emitError()
           << "emitter: the train program needs @forward_backward and @optimizer_step";
  auto target = module->getAttrOfType<StringAttr>(pzrt::PZRTDialect::kTargetAttrName);
  std::optional<TargetInfo> targetInfo = TargetInfo::get(target ? target.getValue() : "");
  if (!targetInfo)
    return module.emitError() << "emitter: the module has no pzrt.target; run convert-pz-to-pzrt";
  auto schedule = opt->getAttrOfType<LRScheduleAttr>(PZDialect::kLRScheduleAttrName);
  if (!schedule)
    return opt.emitError() << "emitter: @optimizer_step has no #pz.lr_schedule";

  llvm::StringMap<int> paramIndex, stateIndex;
  std::vector<std::string> fbArgs, optArgs;
  std::vector<bool> lossScaleRole; // per input
  for (unsigned i = 0; i < fb.getNumArguments(); ++i) {
    DictionaryAttr d = fb.getArgAttrDict(i);
    Type t = fb.getArgumentTypes()[i];
    std::optional<Role> role = argRole(fb, i);
    if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty()) {
      paramIndex[p] = info.params.size();
      fbArgs.push_back("params[" + std::to_string(info.params.size()) + "]");
      info.params.push_back(tensorOf(p, t));
    } else if (StringRef g = attrString(d, PZDialect::kGradAttrName); !g.empty()) {
      auto it = paramIndex.find(g);
      if (it == paramIndex.end())
        return fb.emitError() << "emitter: gradient of unknown parameter '" << g << "'";
      fbArgs.push_back("grads[" + std::to_string(it->second) + "]");
    } else if (role == Role::loss) {
      info.lossName = attrString(d, PZDialect::kOutputAttrName).str();
      fbArgs.push_back("(void *)loss");
    } else if (StringRef in = attrString(d, PZDialect::kInputAttrName); !in.empty()) {
      fbArgs.push_back("inputs[" + std::to_string(info.inputs.size()) + "]");
      info.inputs.push_back(tensorOf(in, t));
      lossScaleRole.push_back(role == Role::loss_scale);
    } else {
      return fb.emitError() << "emitter: argument " << i
                            << " of @forward_backward has no role the driver binds";
    }
  }
  for (unsigned i = 0; i < opt.getNumArguments(); ++i) {
    DictionaryAttr d = opt.getArgAttrDict(i);
    std::optional<Role> role = argRole(opt, i);
    if (StringRef p = attrString(d, PZDialect::kParamAttrName); !p.empty()) {
      optArgs.push_back("params[" + std::to_string(paramIndex.lookup(p)) + "]");
    } else if (StringRef g = attrString(d, PZDialect::kGradAttrName); !g.empty()) {
      optArgs.push_back("grads[" + std::to_string(paramIndex.lookup(g)) + "]");
    } else if (StringRef s = attrString(d, PZDialect::kStateAttrName); !s.empty()) {
      stateIndex[s] = info.states.size();
      optArgs.push_back("states[" + std::to_string(info.states.size()) + "]");
      info.states.push_back(tensorOf(s, opt.getArgumentTypes()[i]));
    } else if (role == Role::lr || role == Role::step) {
      optArgs.push_back(role == Role::lr ? "(void *)lr_t" : "(void *)step_t");
    } else if (role == Role::grad_norm) {
      optArgs.push_back("(void *)grad_norm");
    } else {
      return opt.emitError() << "emitter: argument " << i
                             << " of @optimizer_step has no role the driver binds";
    }
  }

  HostProgram program(module, device, *targetInfo);
  if (failed(program.emit(os)))
    return failure();

  info.arenaBytes = std::max(HostProgram::arenaBytes(fb), HostProgram::arenaBytes(opt));
  info.arenaPeakBytes =
      std::max(HostProgram::arenaPeakBytes(fb), HostProgram::arenaPeakBytes(opt));
  for (auto &p : info.params)
    info.paramBytes += p.bytes();
  info.gradBytes = info.paramBytes;
  for (auto &s : info.states)
    info.stateBytes += s.bytes();
  for (auto &in : info.inputs)
    info.dataBytes += in.bytes();
  info.workspaceBytes = opts.gradAccum > 1 ? info.paramBytes : 0;
  info.peakBytes = info.paramBytes + info.gradBytes + info.stateBytes + info.arenaBytes +
                   info.dataBytes + info.workspaceBytes;
  info.vocab = findVocab(module);

  os << "static int pz_train_forward_backward(pzrt_step_ctx *ctx, void *const *params,\n"
     << "                                     void *const *inputs, float *loss, void *const *grads) {\n"
     << "  (void)params; (void)inputs; (void)grads;\n"
     << "  void *const a[] = {" << join(fbArgs) << "};\n"
     << "  return " << HostProgram::cName(fb) << "(ctx, a);\n}\n\n";
  os << "static int pz_train_optimizer_step(pzrt_step_ctx *ctx, void *const *params, void *const *grads,\n"
     << "                                   void *const *states, float lr, int64_t step, float *grad_norm) {\n"
     << "  (void)params; (void)grads; (void)states;\n"
     << "  float lr_t[1] = {lr};\n  int64_t step_t[1] = {step};\n  (void)lr_t; (void)step_t;\n"
     << "  void *const a[] = {" << join(optArgs) << "};\n"
     << "  return " << HostProgram::cName(opt) << "(ctx, a);\n}\n\n";

  LogicalResult ok = success();
  os << specList("pz_params", info.params, fb.getLoc(), ok)
     << specList("pz_inputs", info.inputs, fb.getLoc(), ok)
     << specList("pz_states", info.states, opt.getLoc(), ok);
  if (failed(ok))
    return failure();
  auto scaling = module->getAttrOfType<LossScalingAttr>(PZDialect::kLossScalingAttrName);
  os << "static const int32_t pz_input_roles[] = {";
  for (bool ls : lossScaleRole)
    os << (ls && scaling ? "PZRT_INPUT_LOSS_SCALE" : "PZRT_INPUT_DATA") << ", ";
  os << "0};\n\n";

  std::string kind = schedule.getKind() == LRScheduleKind::cosine ? "PZRT_LR_COSINE"
                                                                  : "PZRT_LR_CONSTANT";
  os << "static const pzrt_model pz_model = {\n"
     << "  " << cString(opts.modelName) << ",\n"
     << "  " << info.params.size() << ", pz_params,\n"
     << "  " << info.inputs.size() << ", pz_inputs, pz_input_roles,\n"
     << "  " << info.states.size() << ", pz_states,\n"
     << "  " << info.arenaBytes << "u, " << info.arenaPeakBytes << "u, " << info.peakBytes
     << "u,\n"
     << "  " << opts.gradAccum << ", " << opts.worldSize << ", " << info.vocab << ",\n"
     << "  {" << kind << ", " << floatLiteral(schedule.getLr().convertToDouble(), false) << ", "
     << schedule.getWarmupSteps() << ", " << schedule.getTotalSteps() << ", 0.0},\n"
     << "  " << (scaling ? 1 : 0) << ",\n"
     << "  " << (opts.initFile.empty() ? "NULL" : cString(opts.initFile)) << ",\n"
     << "  " << cString(opts.planJson) << ",\n"
     << "  pz_train_forward_backward, pz_train_optimizer_step};\n\n"
     << "int main(int argc, char **argv) { return pzrt_train_main(&pz_model, argc, argv); }\n";
  return success();
}
