//===- Report.h - OUTDIR/report.json ----------------------------*- C++ -*-===//

#ifndef PZ_LIB_DRIVER_REPORT_H
#define PZ_LIB_DRIVER_REPORT_H

#include "pz/Plan/Plan.h"
#include "pz/Target/Emitter.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::pz::driver {

/// The plan as a JSON object with the CLI's key names.
std::string planJSON(const Plan &plan);

/// What pz-recompute saves on one pipeline stage (or the step without a
/// pipeline), per micro-batch: the bytes the forward no longer keeps for the
/// backward, and for a list of layers the share of each.
struct RecomputeSavings {
  int64_t bytes = 0;
  std::vector<std::pair<std::string, int64_t>> byLayer;
};

/// The savings pz-recompute recorded on the module, per stage in program
/// order (one entry without a pipeline, none without recompute).
std::vector<RecomputeSavings> recomputeSavings(ModuleOp module);

/// What the program was compiled for: report.json's "backend" ("cpu",
/// "cuda") and, for cuda, "gpu_arch" and "emulated" (built for the host
/// emulator, --cuda-emulate).
struct ReportTarget {
  std::string backend = "cpu";
  std::string gpuArch;
  bool emulated = false;
};

/// report.json: the predicted peak bytes per rank with a breakdown, the
/// predicted communication bytes per step per collective kind, and the
/// pipeline schedule; with recompute, what it saves per rank and stage.
void writeReport(llvm::raw_ostream &os, llvm::StringRef model, const Plan &plan,
                 const TrainProgramInfo &info,
                 llvm::ArrayRef<RecomputeSavings> savings = {},
                 const ReportTarget &target = {});

/// What each pp coordinate's ranks hold (one entry without a pipeline):
/// their stage's program, or under interleaving their chunks' added up.
std::vector<TrainProgramInfo> programsPerPipelineRank(const Plan &plan,
                                                      const TrainProgramInfo &info);

/// `--memory-limit`: the ranks whose predicted peak exceeds `limit` bytes,
/// one line each with the breakdown (empty: every rank fits).
std::string ranksOverMemoryLimit(const Plan &plan, const TrainProgramInfo &info, int64_t limit);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_REPORT_H
