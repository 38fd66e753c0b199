//===- InterpretMain.cpp - the pz-interpret command line ------------------===//

#include "pz/Interp/InterpretMain.h"

#include "pz/Dialect/PZ/IR/AttrNesting.h"
#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/InitAllDialects.h"
#include "pz/Support/InputFile.h"
#include "pz/Interp/Interpreter.h"
#include "pz/Interp/Npy.h"
#include "pz/Support/NestingDepth.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;

namespace {

constexpr int kExitEvalError = 1;
constexpr int kExitUsage = 2;

const char *const kUsage = R"(usage: pz-interpret FILE.mlir [--function NAME]
           [--input NAME=FILE.npy ...] [--output-dir DIR] [--step N]

Evaluates one function of FILE.mlir with the pz reference interpreter (in
float64) and writes each result to DIR/<name>.npy (float64, or int64 for
integer and i1 results).

  --function NAME   the function to run (default: the module's only one)
  --input NAME=FILE an argument's value as a .npy file. NAME is the
                    argument's pz.input, pz.param, pz.state or pz.grad name,
                    that name qualified by its kind (param:NAME, grad:NAME,
                    input:NAME, state:NAME) when two arguments share it, or
                    arg<i>
  --output-dir DIR  where the results go (default: .); created if missing
  --step N          the training step that keys dropout masks (default 0)

A result is named by its pz.output, pz.grad, pz.param or pz.state name
(kind:NAME when two results share a name; '/' becomes '_'), else result<i>.
Exit codes: 0 success, 1 an op failed during evaluation, 2 bad usage or
inputs (unknown or missing input, shape mismatch, malformed .npy file).
)";

struct Options {
  std::string file, function, outputDir = ".";
  std::vector<std::pair<std::string, std::string>> inputs;
  uint64_t step = 0;
};

int usageError(const Twine &msg) {
  llvm::errs() << "pz-interpret: " << msg << "\n";
  return kExitUsage;
}

/// Parses argv into `opts`; returns an exit code to stop with, or -1.
int parseArgs(int argc, char **argv, Options &opts) {
  for (int i = 1; i < argc; ++i) {
    StringRef arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      llvm::outs() << kUsage;
      return 0;
    }
    // --flag VALUE and --flag=VALUE.
    auto value = [&](StringRef flag, std::string &out) -> std::optional<bool> {
      if (arg == flag) {
        if (i + 1 >= argc)
          return false;
        out = argv[++i];
        return true;
      }
      if (arg.starts_with(flag) &&
          arg.drop_front(flag.size()).starts_with("=")) {
        out = arg.drop_front(flag.size() + 1).str();
        return true;
      }
      return std::nullopt;
    };
    std::string v;
    std::optional<bool> got;
    if ((got = value("--function", v))) {
      if (!*got)
        return usageError("--function needs a NAME");
      opts.function = v;
    } else if ((got = value("--output-dir", v))) {
      if (!*got)
        return usageError("--output-dir needs a DIR");
      opts.outputDir = v;
    } else if ((got = value("--step", v))) {
      if (!*got || StringRef(v).getAsInteger(10, opts.step))
        return usageError("--step needs a non-negative integer, got '" + v +
                          "'");
    } else if ((got = value("--input", v))) {
      size_t eq = StringRef(v).find('=');
      if (!*got || eq == StringRef::npos || eq == 0 || eq + 1 == v.size())
        return usageError("--input needs NAME=FILE.npy, got '" + v + "'");
      opts.inputs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else if (arg.starts_with("-") && arg != "-") {
      return usageError("unknown option '" + arg + "' (see --help)");
    } else if (opts.file.empty()) {
      opts.file = arg.str();
    } else {
      return usageError("more than one input file: '" + opts.file + "' and '" +
                        arg + "'");
    }
  }
  if (opts.file.empty())
    return usageError("no input file (see --help)");
  return -1;
}

/// The pz.* name keys of arguments and results, with their short kinds.
const std::pair<StringRef, StringRef> kNameKinds[] = {
    {PZDialect::kInputAttrName, "input"},
    {PZDialect::kParamAttrName, "param"},
    {PZDialect::kStateAttrName, "state"},
    {PZDialect::kGradAttrName, "grad"},
    {PZDialect::kOutputAttrName, "output"}};

/// (kind, name) pairs of one argument or result's attributes.
SmallVector<std::pair<StringRef, StringRef>> namesOf(DictionaryAttr attrs) {
  SmallVector<std::pair<StringRef, StringRef>> names;
  if (!attrs)
    return names;
  for (auto [key, kind] : kNameKinds)
    if (auto s = attrs.getAs<StringAttr>(key))
      names.push_back({kind, s.getValue()});
  return names;
}

/// Maps each --input to its argument index; reports unknown, ambiguous,
/// repeated and missing names.
int bindInputs(func::FuncOp fn, const Options &opts,
               SmallVectorImpl<std::string> &files) {
  unsigned n = fn.getNumArguments();
  // Every accepted spelling -> the arguments it names.
  std::map<std::string, SmallVector<unsigned>> spellings;
  SmallVector<std::string> display(n);
  for (unsigned i = 0; i < n; ++i) {
    auto addSpelling = [&](std::string spelling) {
      SmallVector<unsigned> &args = spellings[spelling];
      if (!llvm::is_contained(args, i))
        args.push_back(i);
    };
    addSpelling("arg" + std::to_string(i));
    display[i] = "arg" + std::to_string(i);
    for (auto [kind, name] : namesOf(fn.getArgAttrDict(i))) {
      addSpelling((kind + ":" + name).str());
      addSpelling(name.str());
      display[i] = name.str();
    }
  }
  files.assign(n, "");
  for (const auto &[name, file] : opts.inputs) {
    auto it = spellings.find(name);
    if (it == spellings.end()) {
      std::string known;
      for (const std::string &d : display)
        known += (known.empty() ? "" : ", ") + d;
      return usageError("@" + fn.getSymName() + " has no argument named '" +
                        name + "' (arguments: " + known + ")");
    }
    if (it->second.size() > 1)
      return usageError("'" + name + "' names " + Twine(it->second.size()) +
                        " arguments; qualify it as param:NAME, grad:NAME, "
                        "state:NAME or input:NAME, or use arg<i>");
    unsigned idx = it->second.front();
    if (!files[idx].empty())
      return usageError("argument '" + display[idx] + "' is given twice");
    files[idx] = file;
  }
  std::string missing;
  for (unsigned i = 0; i < n; ++i)
    if (files[i].empty())
      missing += (missing.empty() ? "" : ", ") + display[i];
  if (!missing.empty())
    return usageError("missing input for @" + fn.getSymName() + ": " + missing);
  return -1;
}

/// Reads argument `i` and checks it against the declared type.
int loadArgument(func::FuncOp fn, unsigned i, StringRef file, HostTensor &out) {
  llvm::Expected<HostTensor> t = readNpy(file);
  if (!t)
    return usageError(llvm::toString(t.takeError()));
  auto type = llvm::dyn_cast<RankedTensorType>(fn.getArgument(i).getType());
  if (!type)
    return usageError("argument #" + Twine(i) + " is not a ranked tensor");
  bool ok = type.getRank() == t->getRank();
  for (int64_t d = 0; ok && d < type.getRank(); ++d)
    ok = type.isDynamicDim(d) || type.getDimSize(d) == t->shape[d];
  if (!ok) {
    std::string got;
    llvm::raw_string_ostream os(got);
    os << "(";
    llvm::interleaveComma(t->shape, os);
    os << ")";
    std::string want;
    llvm::raw_string_ostream ws(want);
    ws << type;
    return usageError(file + ": shape " + got + " does not match argument #" +
                      Twine(i) + " of type " + want);
  }
  Type elt = type.getElementType();
  if (auto it = llvm::dyn_cast<IntegerType>(elt)) {
    for (auto [j, v] : llvm::enumerate(t->data)) {
      if (isValueOfType(v, it))
        continue;
      std::string type;
      llvm::raw_string_ostream ts(type);
      ts << it;
      return usageError(file + ": element " + Twine(j) + " (" +
                        std::to_string(v) + ") is not a valid " + type);
    }
  }
  out = std::move(*t);
  out.elementType = elt;
  return -1;
}

/// The file names of the results: pz.* names, qualified by kind where two
/// results share one, else result<i>.
SmallVector<std::string> resultNames(func::FuncOp fn) {
  unsigned n = fn.getNumResults();
  SmallVector<std::string> plain(n), qualified(n);
  llvm::StringMap<unsigned> plainCount, qualifiedCount;
  for (unsigned i = 0; i < n; ++i) {
    auto names = namesOf(fn.getResultAttrDict(i));
    if (names.empty())
      continue;
    plain[i] = names.front().second.str();
    qualified[i] = (names.front().first + ":" + names.front().second).str();
    ++plainCount[plain[i]];
    ++qualifiedCount[qualified[i]];
  }
  SmallVector<std::string> out(n);
  for (unsigned i = 0; i < n; ++i) {
    if (!plain[i].empty() && plainCount[plain[i]] == 1)
      out[i] = plain[i];
    else if (!plain[i].empty() && qualifiedCount[qualified[i]] == 1)
      out[i] = qualified[i];
    else
      out[i] = "result" + std::to_string(i);
    std::replace(out[i].begin(), out[i].end(), '/', '_');
  }
  return out;
}

} // namespace

int mlir::pz::interp::interpretMain(int argc, char **argv) {
  Options opts;
  if (int rc = parseArgs(argc, argv, opts); rc >= 0)
    return rc;

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  // Errors point at the op's source location; the op dump adds nothing.
  ctx.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagHandler(sourceMgr, &ctx);
  std::string error = checkRegularFile(opts.file);
  if (!error.empty())
    return usageError("cannot read " + error);
  auto file = openInputFile(opts.file, &error);
  if (!file)
    return usageError(error);
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  if (!checkMLIRNesting(sourceMgr)) // the parser recurses per bracket
    return kExitUsage;
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, &ctx);
  if (!module || failed(verifyAttributeNesting(*module)))
    return kExitUsage;

  func::FuncOp fn;
  SmallVector<func::FuncOp> all(module->getOps<func::FuncOp>());
  if (!opts.function.empty()) {
    fn = module->lookupSymbol<func::FuncOp>(opts.function);
  } else if (all.size() == 1) {
    fn = all.front();
  }
  if (!fn) {
    std::string names;
    for (func::FuncOp f : all)
      names += (names.empty() ? "@" : ", @") + f.getSymName().str();
    return usageError((opts.function.empty()
                           ? Twine("the module has several functions; "
                                   "pick one with --function")
                           : "no function @" + opts.function) +
                      " (functions: " + (names.empty() ? "none" : names) + ")");
  }

  SmallVector<std::string> files;
  if (int rc = bindInputs(fn, opts, files); rc >= 0)
    return rc;
  SmallVector<HostTensor> args(fn.getNumArguments());
  for (unsigned i = 0; i < args.size(); ++i)
    if (int rc = loadArgument(fn, i, files[i], args[i]); rc >= 0)
      return rc;

  InterpOptions interpOpts;
  interpOpts.step = opts.step;
  FailureOr<SmallVector<HostTensor>> results = interpret(fn, args, interpOpts);
  if (failed(results))
    return kExitEvalError;

  if (std::error_code ec = llvm::sys::fs::create_directories(opts.outputDir))
    return usageError("cannot create '" + opts.outputDir +
                      "': " + ec.message());
  SmallVector<std::string> names = resultNames(fn);
  for (auto [name, tensor] : llvm::zip(names, *results)) {
    SmallString<256> path(opts.outputDir);
    llvm::sys::path::append(path, name + ".npy");
    if (llvm::Error err = writeNpy(path, tensor))
      return usageError(llvm::toString(std::move(err)));
    llvm::outs() << name << ": (";
    llvm::interleaveComma(tensor.shape, llvm::outs());
    llvm::outs() << (tensor.shape.size() == 1 ? ",)" : ")") << " -> " << path
                 << "\n";
  }
  return 0;
}
