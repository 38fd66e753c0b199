//===- CPUDeviceEmitter.cpp - the CPU backend's device code ---------------===//
//
// On the CPU the "device" is the host: kernels are C++ functions over the
// buffers (KernelEmitter), and constant globals are static arrays.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "pz/Target/Emitter.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

namespace {

class CPUDeviceEmitter : public DeviceEmitter {
public:
  StringRef name() const override { return "CPU backend"; }

  std::string prelude() const override {
    return "#include <pzrt/half.h>\n#include <pzrt/kernels.h>\n#include <cmath>\n"
           "#include <cstring>\n#include <limits>\n";
  }

  LogicalResult emitKernel(func::FuncOp kernel, StringRef cName, raw_ostream &os) override {
    KernelEmitter e(os);
    return e.emit(kernel, cName);
  }

  FailureOr<std::string> emitGlobal(memref::GlobalOp g, StringRef cName,
                                    raw_ostream &os) override {
    auto attr = llvm::dyn_cast_or_null<DenseElementsAttr>(g.getInitialValueAttr());
    if (!attr)
      return g.emitError() << "CPU backend: constant is not dense elements";
    Type et = attr.getElementType();
    std::string ty = KernelEmitter::cType(et);
    if (ty.empty())
      return g.emitError() << "CPU backend: no C type for " << et;
    int64_t n = attr.getNumElements();
    auto literal = [&](int64_t i) { return csrc::elementLiteral(attr, i); };
    if (attr.isSplat() && n > 16) {
      // A large splat is filled once, at its first use.
      os << "static " << ty << " *" << cName << "() {\n  alignas(64) static " << ty << " d[" << n
         << "];\n  static const bool filled = [] {\n    for (int64_t i = 0; i < " << n
         << "; ++i) d[i] = " << literal(0) << ";\n    return true;\n  }();\n  (void)filled;\n"
         << "  return d;\n}\n";
      return "(void *)" + cName.str() + "()";
    }
    os << "alignas(64) static " << ty << " " << cName << "[" << std::max<int64_t>(n, 1) << "] = {";
    for (int64_t i = 0; i < n; ++i)
      os << (i ? (i % 8 ? ", " : ",\n  ") : "") << literal(i);
    os << "};\n";
    return "(void *)" + cName.str();
  }
};

} // namespace

std::unique_ptr<DeviceEmitter> mlir::pz::createCPUDeviceEmitter() {
  return std::make_unique<CPUDeviceEmitter>();
}
