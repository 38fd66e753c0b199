//===- InitWeights.h - the initial weights of a train program ---*- C++ -*-===//

#ifndef PZ_LIB_DRIVER_INITWEIGHTS_H
#define PZ_LIB_DRIVER_INITWEIGHTS_H

#include "pz/Target/Emitter.h"

#include <string>

namespace mlir::pz::driver {

/// Writes every parameter's initial value to a safetensors file at `path`.
/// From an ONNX model the values are its initializers (same name, shape and
/// type required). A parameter without one (a .mlir model) is initialised
/// deterministically: 1-D parameters whose name ends in "bias" or "beta"
/// start at 0, other 1-D parameters at 1 (norm scales), and others uniform
/// in [-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in the last dim, as
/// torch.nn.Linear, drawn from the runtime's Philox stream keyed by the
/// parameter's position. `fromInitializers` counts those taken from the file.
/// `untieInitializers`, `retieInitializers`: read the model as
/// --untie-initializers and --retie-initializers import it.
bool writeInitialWeights(llvm::StringRef modelPath, llvm::ArrayRef<ProgramTensor> params,
                         llvm::StringRef path, int &fromInitializers, std::string &error,
                         bool untieInitializers = false, bool retieInitializers = false);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_INITWEIGHTS_H
