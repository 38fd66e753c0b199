//===- Report.h - OUTDIR/report.json ----------------------------*- C++ -*-===//

#ifndef PZ_LIB_DRIVER_REPORT_H
#define PZ_LIB_DRIVER_REPORT_H

#include "pz/Plan/Plan.h"
#include "pz/Target/Emitter.h"

#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::pz::driver {

/// The plan as a JSON object with the CLI's key names.
std::string planJSON(const Plan &plan);

/// report.json: the predicted peak bytes per rank with a breakdown, the
/// predicted communication bytes per step per collective kind, and the
/// pipeline schedule.
void writeReport(llvm::raw_ostream &os, llvm::StringRef model, const Plan &plan,
                 const TrainProgramInfo &info);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_REPORT_H
