//===- InitAllPasses.h - every pass the pz tools offer -------------------===//

#ifndef PZ_INITALLPASSES_H
#define PZ_INITALLPASSES_H

#include "pz/Conversion/Passes.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZRT/Transforms/Passes.h"
#include "pz/Pipelines/Pipelines.h"

#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

namespace mlir::pz {

/// Registers the pz passes, the compile pipeline (pz-training-pipeline), the
/// upstream shard passes and the generic transforms (canonicalize, cse, ...).
inline void registerAllPasses() {
  registerPZPasses();
  registerPZConversionPasses();
  pzrt::registerPZRTPasses();
  registerPZPipelines();
  shard::registerShardPasses();
  registerTransformsPasses();
}

} // namespace mlir::pz

#endif // PZ_INITALLPASSES_H
