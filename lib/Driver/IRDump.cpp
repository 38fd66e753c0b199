//===- IRDump.cpp - write the IR after every pass -------------------------===//

#include "IRDump.h"

#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::pz::driver;

void mlir::pz::driver::printModuleWithLocations(ModuleOp module,
                                                llvm::raw_ostream &os) {
  OpPrintingFlags flags;
  flags.enableDebugInfo(/*enable=*/true, /*prettyForm=*/false);
  module->print(os, flags);
  os << "\n";
}

bool mlir::pz::driver::isDumpFileName(llvm::StringRef file) {
  return file.size() > 3 && llvm::isDigit(file[0]) && llvm::isDigit(file[1]) &&
         file[2] == '-' && file.ends_with(".mlir");
}

namespace {
class IRDumpInstrumentation : public PassInstrumentation {
public:
  IRDumpInstrumentation(ModuleOp module, std::string dir,
                        std::vector<std::string> &written)
      : module(module), dir(std::move(dir)), written(written) {}

  void runBeforePass(Pass *pass, Operation *) override {
    if (counter == 0)
      write("input");
  }
  void runAfterPass(Pass *pass, Operation *) override {
    // The passes a nested pass manager runs (on each pipeline stage's
    // module) have their own dumps; the adaptor that runs them does not.
    if (pass->getArgument().empty() && pass->getName().contains("PassAdaptor"))
      return;
    dumpFor(pass, "");
  }
  void runAfterPassFailed(Pass *pass, Operation *) override {
    dumpFor(pass, ".failed");
  }

private:
  /// A pass that runs once per function keeps one file, rewritten after
  /// each run, so the file holds the module after the pass's last run.
  void dumpFor(Pass *pass, llvm::StringRef suffix) {
    auto it = fileIndex.find(pass);
    unsigned index = it == fileIndex.end() ? counter : it->second;
    std::string name = pass->getArgument().str();
    if (name.empty())
      name = pass->getName().str();
    if (it == fileIndex.end())
      fileIndex[pass] = index;
    write(name + suffix.str(), index);
  }

  void write(llvm::StringRef name, std::optional<unsigned> index = {}) {
    unsigned n = index.value_or(counter);
    if (n == counter)
      ++counter;
    std::string file =
        (llvm::Twine(dir) + "/" + llvm::formatv("{0:2}", n).str() + "-" +
         name + ".mlir")
            .str();
    std::replace(file.begin() + dir.size(), file.end(), ' ', '0');
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    if (ec) {
      llvm::errs() << "cannot write IR dump '" << file << "': " << ec.message()
                   << "\n";
      return;
    }
    printModuleWithLocations(module, os);
    if (!llvm::is_contained(written, file))
      written.push_back(file);
  }

  ModuleOp module;
  std::string dir;
  std::vector<std::string> &written;
  unsigned counter = 0;
  llvm::DenseMap<Pass *, unsigned> fileIndex;
};
} // namespace

bool mlir::pz::driver::addIRDumping(PassManager &pm, ModuleOp module,
                                    llvm::StringRef dir,
                                    std::vector<std::string> &written) {
  if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    llvm::errs() << "cannot create IR dump directory '" << dir
                 << "': " << ec.message() << "\n";
    return false;
  }
  // Dumps from an earlier run would mix with this run's: remove them.
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(dir, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (isDumpFileName(llvm::sys::path::filename(it->path())))
      llvm::sys::fs::remove(it->path());
  }
  // Dumps of the whole module need the passes to run one at a time.
  pm.getContext()->disableMultithreading();
  pm.addInstrumentation(
      std::make_unique<IRDumpInstrumentation>(module, dir.str(), written));
  return true;
}
