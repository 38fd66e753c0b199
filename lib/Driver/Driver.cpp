//===- Driver.cpp - subcommand dispatch and shared option handling -------===//

#include "Commands.h"

#include "pz/Dialect/PZ/IR/AttrNesting.h"
#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Import/ONNX/OnnxImporter.h"
#include "pz/Support/InputFile.h"
#include "pz/Support/NestingDepth.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::pz::driver;

OwningOpRef<ModuleOp>
mlir::pz::driver::loadModel(MLIRContext &ctx, llvm::StringRef path,
                            llvm::ArrayRef<std::string> inputShapes,
                            std::vector<std::string> *externalFiles, bool untieInitializers,
                            bool retieInitializers) {
  if (path.ends_with(".onnx")) {
    onnx::ImportOptions options;
    options.externalFiles = externalFiles;
    options.untieInitializers = untieInitializers;
    options.retieInitializers = retieInitializers;
    std::string err;
    if (!onnx::parseInputShapes(inputShapes, options, err)) {
      printError("compile", "--input-shape: " + err);
      return nullptr;
    }
    return onnx::importModelFile(ctx, path, options);
  }
  if (!path.ends_with(".mlir")) {
    printError("compile", "'" + path +
                              "': unknown model format (expected .mlir or "
                              ".onnx)");
    return nullptr;
  }
  std::string err = checkRegularFile(path);
  if (!err.empty()) {
    printError("compile", "cannot read model: " + err);
    return nullptr;
  }
  auto file = openInputFile(path, &err);
  if (!file) {
    printError("compile", "cannot read '" + path + "': " + err);
    return nullptr;
  }
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  // MLIR's parser recurses per bracket: refuse deep nesting before it runs.
  if (!checkMLIRNesting(sm))
    return nullptr;
  SourceMgrDiagnosticHandler handler(sm, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sm, &ctx);
  // Aliases nest attributes without nesting brackets: bound them too.
  if (module && failed(verifyAttributeNesting(*module)))
    return nullptr;
  return module;
}

/// The file position and the innermost name of a location.
static void describeLoc(Location loc, std::optional<FileLineColLoc> &file,
                        std::optional<StringRef> &name) {
  if (auto f = llvm::dyn_cast<FileLineColLoc>(loc)) {
    if (!file)
      file = f;
  } else if (auto n = llvm::dyn_cast<NameLoc>(loc)) {
    if (!name)
      name = n.getName().getValue();
    describeLoc(n.getChildLoc(), file, name);
  } else if (auto fused = llvm::dyn_cast<FusedLoc>(loc)) {
    for (Location inner : fused.getLocations())
      describeLoc(inner, file, name);
  } else if (auto cs = llvm::dyn_cast<CallSiteLoc>(loc)) {
    describeLoc(cs.getCallee(), file, name);
  }
}

static void printDiagnostic(Diagnostic &diag, llvm::raw_ostream &os) {
  std::optional<FileLineColLoc> file;
  std::optional<StringRef> name;
  describeLoc(diag.getLocation(), file, name);
  if (file)
    os << file->getFilename().getValue() << ":" << file->getLine() << ":"
       << file->getColumn() << ": ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error: os << "error: "; break;
  case DiagnosticSeverity::Warning: os << "warning: "; break;
  case DiagnosticSeverity::Note: os << "note: "; break;
  case DiagnosticSeverity::Remark: os << "remark: "; break;
  }
  std::string msg = diag.str();
  if (name && !llvm::StringRef(msg).contains(*name))
    os << "'" << *name << "': ";
  os << msg << "\n";
  for (Diagnostic &note : diag.getNotes())
    printDiagnostic(note, os);
}

std::unique_ptr<ScopedDiagnosticHandler>
mlir::pz::driver::installDiagnosticPrinter(MLIRContext &ctx) {
  return std::make_unique<ScopedDiagnosticHandler>(&ctx, [](Diagnostic &diag) {
    printDiagnostic(diag, llvm::errs());
    return success();
  });
}

static void printUsage(llvm::raw_ostream &os) {
  os << "OVERVIEW: Parallelize, an ahead-of-time compiler for distributed "
        "training\n\n"
        "USAGE: parallelize SUBCOMMAND [options]\n\n"
        "SUBCOMMANDS:\n"
        "  compile   compile a model and a parallel plan\n"
        "  plan      search for the best parallel plan\n"
        "  run       launch a compiled program on N local ranks\n"
        "  inspect   summarise a model: ops, parameters, inputs, plan\n\n"
        "Run 'parallelize SUBCOMMAND --help' for the options of each.\n";
}

int mlir::pz::driver::main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  if (argc < 2) {
    printUsage(llvm::errs());
    return kExitUser;
  }
  llvm::StringRef sub = argv[1];
  if (sub == "--help" || sub == "-h" || sub == "help") {
    printUsage(llvm::outs());
    return kExitOk;
  }
  if (sub == "--version") {
    llvm::outs() << "parallelize 0.1 (LLVM/MLIR " << LLVM_VERSION_STRING
                 << ")\n";
    return kExitOk;
  }
  std::string prog = std::string("parallelize ") + argv[1];
  std::vector<const char *> args = {prog.c_str()};
  for (int i = 2; i < argc; ++i)
    args.push_back(argv[i]);
  int n = static_cast<int>(args.size());
  int (*command)(int, const char **) = sub == "compile"   ? compileMain
                                       : sub == "plan"    ? planMain
                                       : sub == "run"     ? runMain
                                       : sub == "inspect" ? inspectMain
                                                          : nullptr;
  if (!command) {
    printError("", "unknown subcommand '" + sub +
                       "' (expected compile, plan, run or inspect)");
    printUsage(llvm::errs());
    return kExitUser;
  }
  int rc = command(n, args.data());
  return checkStdout(sub, rc);
}

int mlir::pz::driver::checkStdout(llvm::StringRef subcommand, int rc) {
  llvm::raw_fd_ostream &out = llvm::outs();
  out.flush();
  if (!out.has_error())
    return rc;
  // Output lost (a full disk, a closed pipe) is not success: say so, and
  // clear the flag so that the stream's destructor does not abort.
  printError(subcommand,
             "writing to standard output failed: " + out.error().message());
  out.clear_error();
  return rc == kExitOk ? kExitUser : rc;
}
