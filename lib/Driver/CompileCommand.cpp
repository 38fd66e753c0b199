//===- CompileCommand.cpp - parallelize compile ---------------------------===//

#include "Commands.h"
#include "IRDump.h"
#include "InitWeights.h"
#include "Report.h"
#include "Toolchain.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/InitAllDialects.h"
#include "pz/Pipelines/Pipelines.h"
#include "pz/Plan/InputShapes.h"
#include "pz/Target/Emitter.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
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
  cl::opt<std::string> gpuArch{"gpu-arch",
                               cl::desc("--backend cuda: the GPU architecture nvcc compiles "
                                        "for, sm_NN or sm_NNa (default sm_90)"),
                               cl::init("sm_90"), cl::cat(commandCategory())};
  cl::opt<bool> cudaEmulate{
      "cuda-emulate",
      cl::desc("--backend cuda, for testing without a GPU: build program.cu with the host C++ "
               "compiler for the CUDA host emulator (kernels run on the host)"),
      cl::cat(commandCategory())};
  cl::list<std::string> inputShapes{
      "input-shape", cl::desc("fix one data input's shape: NAME=DxDx..."),
      cl::value_desc("NAME=DxD"), cl::cat(commandCategory())};
  cl::opt<std::string> dumpIR{
      "dump-ir",
      cl::desc("write the IR after every pass here (NN-PASS.mlir, after "
               "00-input.mlir) and the pass pipeline (pipeline.txt)"),
      cl::value_desc("DIR"), cl::cat(commandCategory())};
  cl::opt<bool> printPipeline{
      "print-pipeline",
      cl::desc("print the pass pipeline these flags run, as parallelize-opt "
               "--pass-pipeline takes it, and stop (nothing is compiled)"),
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
  cl::opt<bool> forwardOnly{
      "forward-only",
      cl::desc("compile the forward graph alone into OUTDIR/run, which reads "
               "its inputs from .npy files and writes its outputs as .npy"),
      cl::cat(commandCategory())};
  cl::opt<std::string> runFunction{
      "run-function",
      cl::desc("build OUTDIR/run for this function of the compiled training "
               "step (forward_backward or optimizer_step) instead of "
               "OUTDIR/train: .npy in, .npy out, for testing"),
      cl::value_desc("NAME"), cl::cat(commandCategory())};
  cl::opt<bool> untieInitializers{
      "untie-initializers",
      cl::desc("an ONNX model exported in eval mode: give each parameter that the export "
               "merged into an equal one (an Identity of an initializer) its own trainable "
               "copy, named as the Identity's output"),
      cl::cat(commandCategory())};
  cl::opt<bool> retieInitializers{
      "retie-initializers",
      cl::desc("an ONNX model exported with do_constant_folding: read an initializer that holds "
               "exactly the transpose of an embedding table (a folded tied LM head) as the "
               "transpose of that table, so that the two train as one parameter again"),
      cl::cat(commandCategory())};
  cl::opt<bool> noFusion{
      "no-fusion",
      cl::desc("run every element-map op as its own loop (skip "
               "pz-fuse-elementwise; the results are bit-identical, for "
               "comparison)"),
      cl::cat(commandCategory())};
  cl::opt<std::string> memoryLimit{
      "memory-limit",
      cl::desc("fail (exit 2) when a rank's predicted peak memory (report.json) exceeds "
               "this many bytes: a number with an optional suffix KB, MB, GB, TB (powers of "
               "1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 80GiB"),
      cl::value_desc("SIZE"), cl::cat(commandCategory())};
  cl::opt<double> lossScale{
      "loss-scale",
      cl::desc("--precision fp16: the initial dynamic loss scale (default 65536; it halves "
               "on an overflow, which skips the step, and doubles after --loss-scale-window "
               "good steps)"),
      cl::init(65536.0), cl::cat(commandCategory())};
  cl::opt<int64_t> lossScaleWindow{
      "loss-scale-window",
      cl::desc("--precision fp16: good steps before the loss scale doubles (default 1000)"),
      cl::init(1000), cl::cat(commandCategory())};
  PlanOptions plan;
  OptimizerFlags optimizer;
};

/// The file in the --dump-ir directory that holds the pass pipeline.
constexpr llvm::StringLiteral kPipelineFile = "pipeline.txt";

/// A size in bytes: digits with an optional decimal (KB, MB, GB, TB) or
/// binary (KiB, MiB, GiB, TiB) suffix; nullopt when malformed, zero or
/// beyond int64_t.
std::optional<int64_t> parseByteSize(llvm::StringRef text) {
  llvm::StringRef digits = text.take_while([](char c) { return c >= '0' && c <= '9'; });
  llvm::StringRef unit = text.drop_front(digits.size()).trim();
  uint64_t n = 0;
  if (digits.empty() || digits.getAsInteger(10, n) || n == 0)
    return std::nullopt;
  std::optional<uint64_t> scale = llvm::StringSwitch<std::optional<uint64_t>>(unit)
                                      .Cases({"", "B"}, 1)
                                      .Case("KB", 1000ULL)
                                      .Case("MB", 1000ULL * 1000)
                                      .Case("GB", 1000ULL * 1000 * 1000)
                                      .Case("TB", 1000ULL * 1000 * 1000 * 1000)
                                      .Case("KiB", 1ULL << 10)
                                      .Case("MiB", 1ULL << 20)
                                      .Case("GiB", 1ULL << 30)
                                      .Case("TiB", 1ULL << 40)
                                      .Default(std::nullopt);
  if (!scale || n > static_cast<uint64_t>(INT64_MAX) / *scale)
    return std::nullopt;
  return static_cast<int64_t>(n * *scale);
}

/// The pipeline options these flags select. The pass manager is built only
/// from them (buildTrainingPipeline), so that `parallelize-opt
/// --pz-training-pipeline` with the same options, or the textual pipeline
/// --print-pipeline prints, runs exactly the same passes.
void setPipelineOptions(TrainingPipelineOptions &p, const CompileOptions &opts,
                        const Plan &plan, const OptimizerPassOptions &optimizer,
                        std::optional<int64_t> memoryLimit) {
  if (memoryLimit)
    p.memoryLimit = *memoryLimit;
  p.inputShapes = llvm::join(opts.inputShapes, ",");
  p.forwardOnly = opts.forwardOnly.getValue();
  p.addLoss = opts.addLoss.getValue();
  p.loss = opts.loss.getValue();
  p.precision = plan.precision;
  p.lossScale = opts.lossScale.getValue();
  p.lossScaleWindow = opts.lossScaleWindow.getValue();
  p.setOptimizerOptions(optimizer);
  p.stopAt = opts.emit == "ir" ? PipelineStop::PZ : PipelineStop::PZRT;
  p.fusion = !opts.noFusion;
  p.target = opts.backend.getValue();
  p.buildSchedule = !opts.forwardOnly && opts.runFunction.empty();
  p.stages = plan.pp * plan.virtualStages; // the chunks (interleaved: v per rank)
  p.recompute = stringify(plan.recompute).str();
  if (!plan.recomputeLayers.empty())
    p.recomputeLayers = llvm::ArrayRef<std::string>(plan.recomputeLayers);
  // Only when pinned, so that the printed pipeline of a balanced cut has no
  // empty stage-boundaries option.
  if (!plan.stageBoundaries.empty())
    p.stageBoundaries = llvm::ArrayRef<std::string>(plan.stageBoundaries);
}

/// Writes `text` to OUTDIR/name, creating OUTDIR. A failed write (a full
/// disk) is an error, reported with the path.
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
  os.close();
  if (os.has_error()) {
    printError("compile", "cannot write '" + path + "': " + os.error().message());
    os.clear_error();
    return false;
  }
  return true;
}

/// The source file of the program: train.cpp or run.cpp on the CPU; one
/// program.cu (for nvcc, or the host emulator) with --backend cuda.
std::string sourceName(const CompileOptions &opts, llvm::StringRef program) {
  return opts.backend == "cuda" ? "program.cu" : (program + ".cpp").str();
}

/// How the program is built with these options.
ProgramBuild programBuild(const CompileOptions &opts) {
  ProgramBuild b;
  if (opts.backend == "cuda")
    b.kind = opts.cudaEmulate ? ProgramBuild::Kind::CUDAEmulated : ProgramBuild::Kind::CUDA;
  b.gpuArch = opts.gpuArch;
  return b;
}

/// Checks the CUDA flags: --gpu-arch sm_NN[a] and --cuda-emulate with
/// --backend cuda only; an error message, or empty.
std::string checkCUDAFlags(const CompileOptions &opts) {
  const bool cuda = opts.backend == "cuda";
  if (opts.gpuArch.getNumOccurrences() && !cuda)
    return "--gpu-arch: applies to --backend cuda only (the backend is " + opts.backend + ")";
  if (opts.cudaEmulate && !cuda)
    return "--cuda-emulate: applies to --backend cuda only (the backend is " + opts.backend + ")";
  llvm::StringRef arch = opts.gpuArch.getValue();
  llvm::StringRef digits = arch.starts_with("sm_") ? arch.drop_front(3) : "";
  if (digits.ends_with("a"))
    digits = digits.drop_back();
  if (digits.empty() ||
      !llvm::all_of(digits, [](char c) { return c >= '0' && c <= '9'; }))
    return "--gpu-arch: expected sm_ and the compute capability's digits, with an optional "
           "'a' (sm_80, sm_90, sm_90a), got '" + arch.str() + "'";
  if (cuda && !opts.cudaEmulate)
    return checkRuntimeArch(arch, digits);
  return "";
}

/// The files `compile` writes into OUTDIR with these options.
std::vector<std::string> outputNames(const CompileOptions &opts) {
  if (opts.outDir.empty())
    return {};
  std::vector<std::string> names = {"model.mlir", "plan.yaml"};
  if (opts.emit == "ir")
    return names;
  std::string program = opts.forwardOnly || !opts.runFunction.empty() ? "run" : "train";
  if (program == "train") {
    names.push_back("init.safetensors");
    names.push_back("report.json");
  }
  names.push_back(sourceName(opts, program));
  if (opts.emit == "exe")
    names.push_back(program);
  return names;
}

/// Refuses, before anything is written, outputs that would overwrite an
/// input: the model, the plan file or a file of the model's external data.
/// An output overwrites an input when its path names the same file (after
/// symlinks: the same device and inode), and --dump-ir DIR overwrites the
/// inputs in DIR named like a dump (NN-NAME.mlir), which it clears first,
/// and DIR/pipeline.txt.
/// -o naming an existing file that is not a directory is refused too.
bool checkOutputsSpareInputs(const CompileOptions &opts,
                             llvm::ArrayRef<std::string> inputs) {
  namespace fs = llvm::sys::fs;
  auto sameFile = [](const llvm::Twine &a, const llvm::Twine &b) {
    bool same = false;
    return !fs::equivalent(a, b, same) && same;
  };
  for (auto [flag, dir] : {std::pair<llvm::StringRef, llvm::StringRef>{"-o", opts.outDir},
                           {"--dump-ir", opts.dumpIR}}) {
    if (dir.empty() || !fs::exists(dir) || fs::is_directory(dir))
      continue;
    std::string what = "exists and is not a directory";
    for (const std::string &in : inputs)
      if (sameFile(dir, in))
        what = "is an input of this compile, not a directory";
    printError("compile", flag + ": '" + dir + "' " + what);
    return false;
  }
  for (const std::string &name : outputNames(opts)) {
    std::string out = opts.outDir + "/" + name;
    for (const std::string &in : inputs)
      if (sameFile(out, in)) {
        printError("compile", "-o " + opts.outDir + ": writing '" + out +
                                  "' would overwrite the input '" + in +
                                  "'; choose another output directory");
        return false;
      }
  }
  if (!opts.dumpIR.empty())
    for (const std::string &in : inputs) {
      std::string out = opts.dumpIR + "/" + kPipelineFile.str();
      if (sameFile(out, in)) {
        printError("compile", "--dump-ir " + opts.dumpIR + ": writing '" + out +
                                  "' would overwrite the input '" + in +
                                  "'; choose another directory");
        return false;
      }
      llvm::StringRef parent = llvm::sys::path::parent_path(in);
      if (isDumpFileName(llvm::sys::path::filename(in)) &&
          sameFile(parent.empty() ? "." : parent, opts.dumpIR)) {
        printError("compile", "--dump-ir " + opts.dumpIR +
                                  ": the dumps replace the files named NN-NAME.mlir "
                                  "there, which would remove the input '" +
                                  in + "'; choose another directory");
        return false;
      }
    }
  return true;
}
/// Writes the program's C++ (train.cpp or run.cpp) and, for training,
/// init.safetensors and report.json; with --emit exe builds it.
int emitProgram(ModuleOp module, const CompileOptions &opts, const Plan &plan,
                std::optional<int64_t> memoryLimit) {
  std::string source, program;
  llvm::raw_string_ostream os(source);
  TrainProgramInfo info;
  std::unique_ptr<DeviceEmitter> device =
      opts.backend == "cuda" ? createCUDADeviceEmitter() : createCPUDeviceEmitter();
  if (opts.forwardOnly || !opts.runFunction.empty()) {
    auto fns = llvm::to_vector(module.getOps<func::FuncOp>());
    func::FuncOp fn = fns.size() == 1 ? fns.front() : func::FuncOp();
    if (!opts.runFunction.empty())
      fn = module.lookupSymbol<func::FuncOp>(opts.runFunction);
    if (!fn) {
      printError("compile", opts.runFunction.empty()
                                ? std::string("--forward-only needs a model with exactly one function")
                                : "--run-function: the compiled module has no function '" +
                                      opts.runFunction + "'");
      return kExitUser;
    }
    if (failed(emitRunProgram(module, *device, fn, os)))
      return kExitUser;
    program = "run";
  } else {
    TrainProgramOptions to;
    to.modelName = llvm::sys::path::stem(opts.model).str();
    to.initFile = "init.safetensors";
    to.planJson = planJSON(plan);
    if (failed(emitTrainProgram(module, *device, to, os, info)))
      return kExitUser;
    program = "train";
    int fromFile = 0;
    std::string error;
    std::string initPath = opts.outDir + "/init.safetensors";
    // A pipeline's stages hold disjoint parameters (a tied one in several).
    std::vector<ProgramTensor> params = info.params;
    for (size_t k = 1; k < info.stages.size(); ++k)
      for (const ProgramTensor &t : info.stages[k].params)
        if (llvm::none_of(params, [&](const ProgramTensor &p) { return p.name == t.name; }))
          params.push_back(t);
    if (!driver::writeInitialWeights(opts.model, params, initPath, fromFile, error,
                                     opts.untieInitializers, opts.retieInitializers)) {
      printError("compile", error);
      return kExitUser;
    }
    if (!writeOutput(opts.outDir, "report.json", [&](llvm::raw_ostream &r) {
          ReportTarget target;
          target.backend = opts.backend;
          target.gpuArch = opts.gpuArch;
          target.emulated = opts.cudaEmulate;
          writeReport(r, opts.model, plan, info, recomputeSavings(module), target);
        }))
      return kExitUser;
    if (memoryLimit) {
      std::string over = ranksOverMemoryLimit(plan, info, *memoryLimit);
      if (!over.empty()) {
        printError("compile", "--memory-limit " + opts.memoryLimit.getValue() + " (" +
                                  std::to_string(*memoryLimit) +
                                  " bytes): the plan does not fit (" + opts.outDir +
                                  "/report.json has the plan):\n" + over +
                                  "  a larger dp_shard with a higher zero stage, tp, pp or "
                                  "recompute lowers the peak");
        return kExitUser;
      }
    }
    llvm::outs() << "wrote " << initPath << " (" << params.size() << " parameters, "
                 << fromFile << " from the model's initializers) and " << opts.outDir
                 << "/report.json (predicted peak " << info.peakBytes << " bytes per rank)\n";
  }
  std::string cppName = sourceName(opts, program);
  if (!writeOutput(opts.outDir, cppName, [&](llvm::raw_ostream &o) { o << source; }))
    return kExitUser;
  llvm::outs() << "wrote " << opts.outDir << "/" << cppName << "\n";
  if (opts.emit == "cpp")
    return kExitOk;
  std::string error;
  std::string exe = opts.outDir + "/" + program;
  const ProgramBuild build = programBuild(opts);
  if (!driver::buildProgram(opts.outDir + "/" + cppName, exe, build, error)) {
    printError("compile", "building " + exe + ": " + error);
    return kExitInternal;
  }
  llvm::outs() << "built " << exe << "\n";
  if (build.kind == ProgramBuild::Kind::CUDA) {
    std::vector<std::string> names;
    if (!driver::bundleCUDALibraries(opts.outDir, error, &names)) {
      printError("compile", "bundling the CUDA libraries: " + error);
      return kExitInternal;
    }
    llvm::outs() << "placed " << llvm::join(names, ", ") << " in " << opts.outDir << "/lib\n";
  }
  return kExitOk;
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
  if (std::string bad = checkCUDAFlags(opts); !bad.empty()) {
    printError("compile", bad);
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
  if (auto shapes = parseInputShapes(opts.inputShapes); !shapes) {
    printError("compile", "--input-shape: " + llvm::toString(shapes.takeError()));
    return kExitUser;
  }
  std::optional<int64_t> memoryLimit;
  if (opts.memoryLimit.getNumOccurrences()) {
    memoryLimit = parseByteSize(opts.memoryLimit);
    if (!memoryLimit) {
      printError("compile", "--memory-limit: expected a positive size such as 81920000000, "
                            "80GB or 80GiB, got '" +
                                opts.memoryLimit + "'");
      return kExitUser;
    }
    if (opts.emit == "ir" || opts.forwardOnly || !opts.runFunction.empty()) {
      printError("compile", "--memory-limit: checks a training program's plan (--emit cpp or "
                            "exe, without --forward-only or --run-function)");
      return kExitUser;
    }
  }
  for (auto [flag, given] : {std::pair<const char *, bool>{"--loss-scale",
                                                           opts.lossScale.getNumOccurrences()},
                            {"--loss-scale-window", opts.lossScaleWindow.getNumOccurrences()}})
    if (given && plan->precision != Precision::FP16) {
      printError("compile", std::string(flag) + ": applies to --precision fp16 only (the plan's "
                                                "precision is " +
                                stringify(plan->precision).str() + ")");
      return kExitUser;
    }
  if (!(opts.lossScale >= 1.0 && opts.lossScale <= 3.0e38)) {
    printError("compile", "--loss-scale: must be a finite number in [1, 3e38], got " +
                              formatRoundTrip(opts.lossScale.getValue()));
    return kExitUser;
  }
  if (opts.lossScaleWindow < 1 || opts.lossScaleWindow > (int64_t(1) << 53)) {
    printError("compile", "--loss-scale-window: must lie in [1, 2^53], got " +
                              std::to_string(opts.lossScaleWindow.getValue()));
    return kExitUser;
  }
  if (opts.emit != "ir") {
    // Say plainly what the code generator does not do yet, before any work.
    std::string missing, why;
    if (opts.outDir.empty() && !opts.printPipeline)
      missing = "--emit " + opts.emit + " needs -o OUTDIR";
    else if (opts.emit == "exe" && !opts.printPipeline &&
             !driver::canBuild(programBuild(opts).kind, why))
      missing = "--backend cuda" + std::string(opts.cudaEmulate ? " --cuda-emulate" : "") +
                ": " + why;
    if (!missing.empty()) {
      printError("compile", missing);
      return kExitUser;
    }
  }

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  // The pass pipeline depends on the flags alone.
  PassManager pm(&ctx, ModuleOp::getOperationName());
  {
    TrainingPipelineOptions pipelineOptions;
    setPipelineOptions(pipelineOptions, opts, *plan, *optimizer, memoryLimit);
    buildTrainingPipeline(pm, pipelineOptions);
  }
  std::string pipelineText;
  {
    llvm::raw_string_ostream os(pipelineText);
    pm.printAsTextualPipeline(os);
    os << "\n";
  }
  if (opts.printPipeline) {
    llvm::outs() << pipelineText;
    return kExitOk;
  }
  // The plan attribute is the pz dialect's: load it even when the model
  // names no pz op (the parser loads dialects as it meets them).
  ctx.getOrLoadDialect<PZDialect>();
  // A diagnostic on a whole module would print the module after it: a user
  // error shows the message and its location only (--dump-ir keeps the IR).
  if (!optionGiven("mlir-print-op-on-diagnostic"))
    ctx.printOpOnDiagnostic(false);
  std::vector<std::string> inputs = {opts.model};
  if (!opts.plan.planFile().empty())
    inputs.push_back(opts.plan.planFile().str());
  OwningOpRef<ModuleOp> module =
      loadModel(ctx, opts.model, opts.inputShapes, &inputs, opts.untieInitializers,
                opts.retieInitializers);
  if (!module)
    return kExitUser;
  if (!checkOutputsSpareInputs(opts, inputs))
    return kExitUser;
  (*module)->setAttr(PZDialect::kPlanAttrName, PlanAttr::get(&ctx, *plan));
  auto diagnostics = installDiagnosticPrinter(ctx);

  if (failed(applyPassManagerCLOptions(pm)))
    return kExitUser;
  DefaultTimingManager tm;
  applyDefaultTimingManagerCLOptions(tm);
  TimingScope timing = tm.getRootScope();
  pm.enableTiming(timing);
  std::vector<std::string> dumps;
  if (!opts.dumpIR.empty()) {
    // DIR/00-input.mlir (the model with its plan) and DIR/pipeline.txt
    // replay the compile: parallelize-opt DIR/00-input.mlir
    // --pass-pipeline="$(cat DIR/pipeline.txt)" --mlir-print-debuginfo.
    if (!addIRDumping(pm, *module, opts.dumpIR, dumps) ||
        !writeOutput(opts.dumpIR, kPipelineFile,
                     [&](llvm::raw_ostream &os) { os << pipelineText; }))
      return kExitUser;
  }
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
  if (opts.emit != "ir") {
    int rc = emitProgram(*module, opts, *plan, memoryLimit);
    if (rc != kExitOk)
      return rc;
  }
  if (!dumps.empty())
    (opts.outDir.empty() ? llvm::errs() : llvm::outs())
        << "wrote " << dumps.size() << " IR dumps to " << opts.dumpIR
                 << "\n";
  return kExitOk;
}
