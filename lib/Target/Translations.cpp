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
  TranslateFromMLIRRegistration(
      "pzrt-kernels-to-cuda",
      "print the constants and kernels of a pzrt-level module as the CUDA backend's CUDA C++ "
      "(no host functions)",
      [](ModuleOp module, raw_ostream &os) {
        std::unique_ptr<DeviceEmitter> device = createCUDADeviceEmitter();
        return emitDeviceCode(module, *device, os);
      },
      [](DialectRegistry &registry) { registerAllDialects(registry); });
}
