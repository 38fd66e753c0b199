//===- CompileCommand.cpp - parallelize compile ---------------------------===//

#include "Commands.h"
#include "IRDump.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/InitAllDialects.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::driver;
namespace cl = llvm::cl;

namespace {
struct CompileOptions {
  cl::opt<std::string> model{cl::Positional, cl::Required,
                             cl::desc("MODEL (.mlir in the pz dialect; .onnx)"),
                             cl::cat(commandCategory())};
  cl::opt<std::string> outDir{"o", cl::desc("output directory"),
                              cl::value_desc("OUTDIR"),
                              cl::cat(commandCategory())};
  cl::opt<std::string> backend{"backend", cl::desc("cpu or cuda"),
                               cl::init("cpu"), cl::cat(commandCategory())};
  cl::opt<std::string> gpuArch{"gpu-arch", cl::desc("CUDA architecture"),
                               cl::init("sm_90"), cl::cat(commandCategory())};
  cl::list<std::string> inputShapes{
      "input-shape", cl::desc("fix one data input's shape: NAME=DxDx..."),
      cl::value_desc("NAME=DxD"), cl::cat(commandCategory())};
  cl::opt<std::string> dumpIR{"dump-ir",
                              cl::desc("write the IR after every pass here"),
                              cl::value_desc("DIR"),
                              cl::cat(commandCategory())};
  cl::opt<std::string> emit{"emit", cl::desc("where to stop: ir, cpp or exe"),
                            cl::init("exe"), cl::cat(commandCategory())};
  cl::opt<std::string> loss{"loss", cl::desc("the scalar output to minimise"),
                            cl::init("loss"), cl::value_desc("NAME"),
                            cl::cat(commandCategory())};
  cl::opt<std::string> addLoss{
      "add-loss",
      cl::desc("append a loss over the 'logits' output: cross-entropy"),
      cl::value_desc("KIND"), cl::cat(commandCategory())};
  PlanOptions plan;
  OptimizerFlags optimizer;
};

/// The pipeline that exists today: fix input shapes, infer shapes, clean up
/// the forward graph, then build the training step (loss, precision,
/// autodiff, optimizer) and clean up again. The plan passes come later.
void buildPipeline(PassManager &pm, const CompileOptions &opts,
                   const Plan &plan, const OptimizerPassOptions &optimizer) {
  if (!opts.inputShapes.empty()) {
    SetInputShapesPassOptions o;
    o.shapes = llvm::join(opts.inputShapes, ",");
    pm.addPass(createSetInputShapesPass(o));
  }
  pm.addPass(createInferShapesPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createFusePatternsPass());
  if (!opts.addLoss.empty()) {
    AddLossPassOptions o;
    o.kind = opts.addLoss;
    pm.addPass(createAddLossPass(o));
  }
  MixedPrecisionPassOptions mp;
  mp.precision = stringify(plan.precision).str();
  pm.addPass(createMixedPrecisionPass(mp));
  AutodiffPassOptions ad;
  ad.loss = opts.loss;
  pm.addPass(createAutodiffPass(ad));
  pm.addPass(createOptimizerPass(optimizer));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Writes `text` to OUTDIR/name, creating OUTDIR.
bool writeOutput(llvm::StringRef dir, llvm::StringRef name,
                 llvm::function_ref<void(llvm::raw_ostream &)> fill) {
  if (auto ec = llvm::sys::fs::create_directories(dir)) {
    printError("compile", "cannot create '" + dir + "': " + ec.message());
    return false;
  }
  std::string path = (dir + "/" + name).str();
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    printError("compile", "cannot write '" + path + "': " + ec.message());
    return false;
  }
  fill(os);
  return true;
}
} // namespace

int mlir::pz::driver::compileMain(int argc, const char **argv) {
  CompileOptions opts;
  if (!parseCommandLine(argc, argv,
                        "Compile a model and a parallel plan into an SPMD "
                        "training program.\n",
                        /*withMLIROptions=*/true))
    return kExitUser;
  if (opts.backend != "cpu" && opts.backend != "cuda") {
    printError("compile", "--backend: expected cpu or cuda, got '" +
                              opts.backend + "'");
    return kExitUser;
  }
  if (opts.emit != "ir" && opts.emit != "cpp" && opts.emit != "exe") {
    printError("compile",
               "--emit: expected ir, cpp or exe, got '" + opts.emit + "'");
    return kExitUser;
  }
  std::optional<Plan> plan = opts.plan.resolve();
  if (!plan)
    return kExitUser;
  std::optional<OptimizerPassOptions> optimizer = opts.optimizer.resolve();
  if (!optimizer)
    return kExitUser;
  if (opts.emit != "ir") {
    printError("compile", "--emit " + opts.emit +
                              ": code generation is not built yet (it comes "
                              "with the CPU backend); use --emit ir");
    return kExitUser;
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  OwningOpRef<ModuleOp> module = loadModel(ctx, opts.model, opts.inputShapes);
  if (!module)
    return kExitUser;
  (*module)->setAttr(PZDialect::kPlanAttrName, PlanAttr::get(&ctx, *plan));

  PassManager pm(&ctx);
  if (failed(applyPassManagerCLOptions(pm)))
    return kExitUser;
  DefaultTimingManager tm;
  applyDefaultTimingManagerCLOptions(tm);
  TimingScope timing = tm.getRootScope();
  pm.enableTiming(timing);
  std::vector<std::string> dumps;
  if (!opts.dumpIR.empty() && !addIRDumping(pm, *module, opts.dumpIR, dumps))
    return kExitUser;
  buildPipeline(pm, opts, *plan, *optimizer);
  if (failed(pm.run(*module)))
    return kExitUser;
  timing.stop();

  if (opts.outDir.empty()) {
    printModuleWithLocations(*module, llvm::outs());
  } else {
    if (!writeOutput(opts.outDir, "model.mlir", [&](llvm::raw_ostream &os) {
          printModuleWithLocations(*module, os);
        }) ||
        !writeOutput(opts.outDir, "plan.yaml", [&](llvm::raw_ostream &os) {
          os << printPlanYAML(*plan);
        }))
      return kExitUser;
    llvm::outs() << "wrote " << opts.outDir << "/model.mlir and "
                 << opts.outDir << "/plan.yaml\n";
  }
  if (!dumps.empty())
    (opts.outDir.empty() ? llvm::errs() : llvm::outs())
        << "wrote " << dumps.size() << " IR dumps to " << opts.dumpIR
                 << "\n";
  return kExitOk;
}
