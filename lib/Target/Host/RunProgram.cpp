//===- RunProgram.cpp - one host function as a program on .npy files ------===//
//
// `run --input NAME=x.npy ... --output-dir D` (pzrt/run.h): the program's
// arguments are the pz function's arguments and its results are the pz
// function's results, whether the host function writes them into an
// out-parameter or, in place, into a tied argument (then copied out).
//
//===----------------------------------------------------------------------===//

#include "HostEmitter.h"

#include "pz/Dialect/PZRT/IR/PZRTOps.h"
#include "pz/Target/CSource.h"

#include "mlir/IR/TypeUtilities.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::host;
using csrc::cString;

/// A readable name for an argument or result: its pz.input/pz.param/...
/// name.
static std::string roleName(DictionaryAttr attrs, const std::string &fallback) {
  if (attrs)
    for (NamedAttribute a : attrs)
      if (auto s = llvm::dyn_cast<StringAttr>(a.getValue()))
        if (a.getName().getValue().starts_with("pz."))
          return s.getValue().str();
  return fallback;
}

static std::optional<int64_t> intAttr(func::FuncOp fn, unsigned arg, StringRef name) {
  if (auto a = fn.getArgAttrOfType<IntegerAttr>(arg, name))
    return a.getInt();
  return std::nullopt;
}

LogicalResult mlir::pz::emitRunProgram(ModuleOp module, DeviceEmitter &device, func::FuncOp fn,
                                       raw_ostream &os) {
  auto target = module->getAttrOfType<StringAttr>(pzrt::PZRTDialect::kTargetAttrName);
  std::optional<TargetInfo> info = TargetInfo::get(target ? target.getValue() : "");
  if (!info)
    return module.emitError() << "emitter: the module has no pzrt.target; run convert-pz-to-pzrt";
  HostProgram program(module, device, *info);
  if (failed(program.emit(os)))
    return failure();

  // The run program's arguments and results, and where each result is.
  SmallVector<unsigned> args;
  SmallVector<std::pair<unsigned, bool>> results; // host argument, written in place
  for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
    std::optional<int64_t> out = intAttr(fn, i, pzrt::PZRTDialect::kResultAttrName);
    std::optional<int64_t> tied = intAttr(fn, i, pzrt::PZRTDialect::kTiedAttrName);
    if (!out)
      args.push_back(i);
    if (std::optional<int64_t> r = out ? out : tied) {
      if (static_cast<int64_t>(results.size()) <= *r)
        results.resize(*r + 1, {~0u, false});
      results[*r] = {i, !out};
    }
  }
  for (auto [r, where] : llvm::enumerate(results))
    if (where.first == ~0u)
      return fn.emitError() << "emitter: result " << r << " of '" << fn.getSymName()
                            << "' has no buffer";

  auto spec = [&](unsigned arg, const std::string &fallback) {
    return csrc::tensorSpec(fn.getLoc(), roleName(fn.getArgAttrDict(arg), fallback),
                            fn.getArgumentTypes()[arg]);
  };
  os << "static const pzrt_tensor_spec pz_args[] = {\n";
  for (auto [k, i] : llvm::enumerate(args)) {
    auto s = spec(i, "arg" + std::to_string(k));
    if (failed(s))
      return failure();
    os << "  " << *s << ",\n";
  }
  os << "  {NULL, PZRT_F32, 0, {0}}};\nstatic const pzrt_tensor_spec pz_results[] = {\n";
  for (auto [r, where] : llvm::enumerate(results)) {
    auto s = spec(where.first, "result" + std::to_string(r));
    if (failed(s))
      return failure();
    os << "  " << *s << ",\n";
  }
  // i1 and ui8 are both PZRT_U8; the flags tell which results are bools.
  os << "  {NULL, PZRT_F32, 0, {0}}};\nstatic const unsigned char pz_bool_results[] = {";
  for (auto [r, where] : llvm::enumerate(results))
    os << (r ? ", " : "")
       << (getElementTypeOrSelf(fn.getArgumentTypes()[where.first]).isSignlessInteger(1) ? 1 : 0);
  os << (results.empty() ? "0" : "") << "};\n\n";

  os << "static int pz_fn(pzrt_step_ctx *ctx, void *const *args, void *const *results) {\n"
     << "  (void)results;\n  void *const a[] = {";
  for (unsigned i = 0, k = 0; i < fn.getNumArguments(); ++i) {
    std::optional<int64_t> out = intAttr(fn, i, pzrt::PZRTDialect::kResultAttrName);
    os << (i ? ", " : "")
       << (out ? "results[" + std::to_string(*out) + "]" : "args[" + std::to_string(k++) + "]");
  }
  os << (fn.getNumArguments() ? "" : "NULL") << "};\n"
     << "  if (" << HostProgram::cName(fn) << "(ctx, a) != 0) return -1;\n";
  for (auto [r, where] : llvm::enumerate(results)) {
    if (!where.second)
      continue;
    auto t = llvm::cast<MemRefType>(fn.getArgumentTypes()[where.first]);
    os << "  if (pzrt_copy(ctx, results[" << r << "], a[" << where.first << "], "
       << t.getNumElements() * info->storageBytes(t.getElementType()) << ") != 0) return -1;\n";
  }
  os << "  return 0;\n}\n\n"
     << "static const pzrt_function pz_function = {" << cString(fn.getSymName()) << ", "
     << args.size() << ", pz_args, " << results.size() << ", pz_results, "
     << HostProgram::arenaBytes(fn) << "u, " << HostProgram::arenaPeakBytes(fn)
     << "u, pz_fn, pz_bool_results};\n\n"
     << "int main(int argc, char **argv) { return " << device.mainPrefix()
     << "run_main(&pz_function, argc, argv); }\n";
  return success();
}
