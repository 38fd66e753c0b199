//===- InspectCommand.cpp - parallelize inspect ---------------------------===//

#include "Commands.h"
#include "IRDump.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/FusionReport.h"
#include "pz/Pipelines/Pipelines.h"
#include "pz/Import/ONNX/OnnxImporter.h"
#include "pz/InitAllDialects.h"
#include "pz/Plan/InputShapes.h"
#include "pz/Support/Limits.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::driver;
namespace cl = llvm::cl;

namespace {
/// Bytes of a static tensor type, or nullopt for dynamic shapes (the
/// verifier bounds every tensor, the check guards the product anyway).
std::optional<int64_t> tensorBytes(Type type) {
  auto t = llvm::dyn_cast<RankedTensorType>(type);
  if (!t || !t.hasStaticShape() || !t.getElementType().isIntOrFloat())
    return std::nullopt;
  unsigned bits = t.getElementType().getIntOrFloatBitWidth();
  std::optional<int64_t> n = boundedElementCount(t.getShape());
  return n ? boundedBytes(*n, std::max(1u, bits / 8)) : std::nullopt;
}

/// How an argument or result is marked: "param w", "grad w", "state
/// exp_avg:w", "input x", "output loss", or empty.
std::string markOf(DictionaryAttr attrs) {
  if (!attrs)
    return "";
  for (auto [key, kind] :
       {std::pair<StringRef, StringRef>{PZDialect::kParamAttrName, "param"},
        {PZDialect::kInputAttrName, "input"},
        {PZDialect::kGradAttrName, "grad"},
        {PZDialect::kStateAttrName, "state"},
        {PZDialect::kOutputAttrName, "output"}})
    if (auto n = attrs.getAs<StringAttr>(key))
      return (kind + " " + n.getValue()).str();
  return "";
}

void summarizeFunction(func::FuncOp fn, llvm::raw_ostream &os) {
  os << "function @" << fn.getName() << "\n";
  int64_t paramElems = 0, paramBytes = 0;
  bool allStatic = true;
  llvm::SmallVector<std::string> inputs, params;
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    Type t = fn.getArgument(i).getType();
    std::string type;
    llvm::raw_string_ostream(type) << t;
    if (auto n = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kParamAttrName)) {
      params.push_back(n.getValue().str() + " : " + type);
      std::optional<int64_t> b = tensorBytes(t), bytes, elems;
      if (b) {
        bytes = boundedTotal(paramBytes, *b);
        elems = boundedTotal(paramElems, llvm::cast<RankedTensorType>(t).getNumElements());
      }
      if (bytes && elems) {
        paramBytes = *bytes;
        paramElems = *elems;
      } else {
        allStatic = false;
      }
      continue;
    }
    std::string mark = markOf(fn.getArgAttrDict(i));
    if (mark.empty())
      mark = llvm::formatv("arg{0} (unmarked)", i).str();
    else if (StringRef(mark).starts_with("input "))
      mark = mark.substr(6);
    inputs.push_back(mark + " : " + type);
  }
  os << "  inputs (" << inputs.size() << "):\n";
  for (auto &s : inputs)
    os << "    " << s << "\n";
  os << "  parameters (" << params.size() << "):\n";
  for (auto &s : params)
    os << "    " << s << "\n";
  if (allStatic)
    os << llvm::formatv("  parameter elements: {0} ({1} bytes)\n", paramElems,
                        paramBytes);
  else
    os << "  parameter elements: unknown (dynamic shapes)\n";
  os << "  outputs (" << fn.getNumResults() << "):\n";
  for (unsigned i = 0; i < fn.getNumResults(); ++i) {
    std::string mark = markOf(fn.getResultAttrDict(i));
    if (mark.empty())
      mark = "result" + std::to_string(i);
    else if (StringRef(mark).starts_with("output "))
      mark = mark.substr(7);
    os << "    " << mark << " : " << fn.getResultTypes()[i] << "\n";
  }
  llvm::MapVector<StringRef, unsigned> counts;
  fn.walk([&](Operation *op) {
    if (op != fn.getOperation())
      ++counts[op->getName().getStringRef()];
  });
  os << "  ops:\n";
  for (auto &[name, count] : counts)
    os << "    " << name << " x" << count << "\n";
}
} // namespace

namespace {

std::string nameOf(Operation *op) {
  Location loc = op->getLoc();
  if (auto f = llvm::dyn_cast<FusedLoc>(loc); f && !f.getLocations().empty())
    loc = f.getLocations().front();
  if (auto n = llvm::dyn_cast<NameLoc>(loc))
    return n.getName().str();
  return op->getName().getStringRef().str();
}

/// `inspect MODEL --fusion`: runs the import clean-up (shape inference and
/// pz-fuse-patterns, as compile does) and lists each pz.attention and each
/// softmax left, with why the attention pattern did not take it.
int reportFusion(ModuleOp module, llvm::StringRef model, const std::string &shapes) {
  TrainingPipelineOptions options;
  options.inputShapes = shapes;
  PassManager pm(module.getContext());
  addImportCleanupPasses(pm, options);
  if (failed(pm.run(module)))
    return kExitUser;
  SmallVector<AttentionOp> fused;
  SmallVector<SoftmaxOp> left;
  module.walk([&](AttentionOp a) { fused.push_back(a); });
  module.walk([&](SoftmaxOp s) { left.push_back(s); });
  llvm::outs() << "model: " << model << "\nattention: " << fused.size() << " fused, "
               << left.size() << " softmax not fused\n";
  for (AttentionOp a : fused) {
    auto q = llvm::cast<RankedTensorType>(a.getQuery().getType());
    auto k = llvm::cast<RankedTensorType>(a.getKey().getType());
    llvm::outs() << "  fused '" << nameOf(a) << "': " << q.getDimSize(1) << " heads";
    if (k.getDimSize(1) != q.getDimSize(1))
      llvm::outs() << " over " << k.getDimSize(1) << " kv heads";
    llvm::outs() << ", " << (a.getCausal() ? "causal" : "not causal");
    if (a.getMask())
      llvm::outs() << ", mask " << a.getMask().getType();
    if (a.getBias())
      llvm::outs() << ", bias " << a.getBias().getType();
    if (auto s = a.getScaleAttr())
      llvm::outs() << ", scale " << s.getValueAsDouble();
    llvm::outs() << "\n";
  }
  for (SoftmaxOp s : left)
    llvm::outs() << "  not fused '" << nameOf(s) << "': " << fuse::whyAttentionNotFused(s)
                 << "\n";
  return kExitOk;
}

} // namespace

int mlir::pz::driver::inspectMain(int argc, const char **argv) {
  cl::opt<std::string> model(cl::Positional, cl::desc("MODEL (.mlir, .onnx)"),
                             cl::cat(commandCategory()));
  cl::opt<bool> emitIR("emit-ir", cl::desc("print the imported IR instead"),
                       cl::cat(commandCategory()));
  cl::list<std::string> inputShapes{
      "input-shape", cl::desc("fix one data input's shape: NAME=DxDx..."),
      cl::value_desc("NAME=DxD"), cl::cat(commandCategory())};
  cl::opt<bool> untieInitializers(
      "untie-initializers",
      cl::desc("import as compile --untie-initializers does (an eval-mode export's merged "
               "parameters each get their own copy)"),
      cl::cat(commandCategory()));
  cl::opt<bool> retieInitializers(
      "retie-initializers",
      cl::desc("import as compile --retie-initializers does (an initializer holding an "
               "embedding table transposed is read as the table's transpose)"),
      cl::cat(commandCategory()));
  cl::opt<bool> fusion(
      "fusion",
      cl::desc("MODEL: the attentions pz-fuse-patterns fused (pz.attention: causal, mask, "
               "scale, grouped kv heads) and every softmax it left, with the reason"),
      cl::cat(commandCategory()));
  cl::opt<bool> listOnnxOps("list-onnx-ops",
                            cl::desc("list the ONNX op types the importer "
                                     "supports and exit"),
                            cl::cat(commandCategory()));
  cl::opt<bool> collectives("collectives",
                            cl::desc("OUTDIR: every collective of one step (kind, axes, bytes, "
                                     "reason, source), totals per kind and per axes"),
                            cl::cat(commandCategory()));
  cl::opt<bool> memory("memory", cl::desc("OUTDIR: the per-rank memory breakdown"),
                       cl::cat(commandCategory()));
  cl::opt<bool> schedule(
      "schedule",
      cl::desc("OUTDIR: a pipeline's step per stage, simulated with the cost model's durations "
               "(F/B per time column), the idle fraction per stage and the predicted bubble"),
      cl::cat(commandCategory()));
  cl::opt<std::string> stageTimes(
      "stage-times",
      cl::desc("with --schedule: simulate with measured durations, the per-rank medians of "
               "scripts/pptrace.py --json (forward_ms, backward_ms, weight_backward_ms)"),
      cl::value_desc("FILE"), cl::cat(commandCategory()));
  cl::opt<bool> asJson("json", cl::desc("OUTDIR: print JSON"), cl::cat(commandCategory()));
  if (!parseCommandLine(argc, argv,
                        "Summarise a model (inputs, parameters, outputs, ops and plan) or a "
                        "compiled OUTDIR (collectives, memory and the pipeline schedule "
                        "per step).\n",
                        /*withMLIROptions=*/false))
    return kExitUser;
  if (listOnnxOps) {
    for (const std::string &op : onnx::supportedOps())
      llvm::outs() << op << "\n";
    return kExitOk;
  }
  if (model.empty()) {
    printError("inspect", "no MODEL or OUTDIR given");
    return kExitUser;
  }
  if (llvm::sys::fs::is_directory(model))
    return inspectOutDir(model, collectives, memory, schedule, asJson, stageTimes);
  if (collectives || memory || schedule || asJson) {
    printError("inspect", std::string(collectives ? "--collectives"
                                      : memory    ? "--memory"
                                      : schedule  ? "--schedule"
                                                  : "--json") +
                              " reads a compiled OUTDIR (its report.json); '" + model +
                              "' is a model: compile it first");
    return kExitUser;
  }
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  ctx.printOpOnDiagnostic(false); // a user error shows its location only
  if (auto shapes = parseInputShapes(inputShapes); !shapes) {
    printError("inspect", "--input-shape: " + llvm::toString(shapes.takeError()));
    return kExitUser;
  }
  OwningOpRef<ModuleOp> module = loadModel(ctx, model, inputShapes, nullptr, untieInitializers,
                                           retieInitializers);
  if (!module)
    return kExitUser;
  if (emitIR) {
    printModuleWithLocations(*module, llvm::outs());
    return kExitOk;
  }
  if (fusion)
    return reportFusion(*module, model, llvm::join(inputShapes, ","));
  llvm::outs() << "model: " << model << "\n";
  for (auto fn : module->getOps<func::FuncOp>())
    summarizeFunction(fn, llvm::outs());
  if (auto plan = (*module)->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName))
    llvm::outs() << "plan: " << plan << " (world size "
                 << plan.getPlan().worldSize() << ")\n";
  else
    llvm::outs() << "plan: none\n";
  return kExitOk;
}
