//===- Translations.cpp - parallelize-translate's translations ------------===//

#include "pz/InitAllDialects.h"
#include "pz/Target/Emitter.h"

#include "mlir/Tools/mlir-translate/Translation.h"

using namespace mlir;
using namespace mlir::pz;

void mlir::pz::registerPZTranslations() {
  TranslateFromMLIRRegistration(
      "pzrt-to-cpp", "print a pzrt-level module as the CPU backend's C++ (host functions and "
                     "kernels)",
      [](ModuleOp module, raw_ostream &os) {
        std::unique_ptr<DeviceEmitter> device = createCPUDeviceEmitter();
        return emitHostProgram(module, *device, os);
      },
      [](DialectRegistry &registry) { registerAllDialects(registry); });
}
