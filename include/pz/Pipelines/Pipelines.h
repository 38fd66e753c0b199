//===- Pipelines.h - the registered compile pipeline ------------*- C++ -*-===//
//
// The pass pipeline of `parallelize compile`, built in one place from typed
// options and registered as `pz-training-pipeline`, so that
// `parallelize-opt --pz-training-pipeline="..."` (or the textual pipeline that
// `parallelize compile --print-pipeline` prints) replays exactly what the
// compiler runs. The driver only translates its flags into these options.
//
// The pipeline reads the parallel plan from the module's `pz.plan` attribute
// (the compiler sets it from the plan flags before running the pipeline); it
// does not set it. See docs/design/0006-runtime-call-level.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_PIPELINES_PIPELINES_H
#define PZ_PIPELINES_PIPELINES_H

#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Plan/Plan.h"
#include "pz/Support/RoundTripDouble.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::pz {

/// Where the pipeline stops.
enum class PipelineStop {
  /// The training step in the pz dialect (`parallelize compile --emit ir`).
  PZ,
  /// The runtime-call level the emitters print from (`--emit cpp|exe`).
  PZRT,
};

struct TrainingPipelineOptions
    : public PassPipelineOptions<TrainingPipelineOptions> {
  // Import cleanup.
  Option<std::string> inputShapes{
      *this, "input-shapes",
      llvm::cl::desc("fix data input shapes, NAME=DxD,... as --input-shape "
                     "(empty: keep the model's)"),
      llvm::cl::init("")};

  // The training step.
  Option<bool> forwardOnly{
      *this, "forward-only",
      llvm::cl::desc("compile the forward graph alone (no training step)"),
      llvm::cl::init(false)};
  Option<std::string> addLoss{
      *this, "add-loss",
      llvm::cl::desc("append a loss over the 'logits' output "
                     "(cross-entropy; empty: none)"),
      llvm::cl::init("")};
  Option<std::string> loss{*this, "loss",
                           llvm::cl::desc("the scalar output to minimise"),
                           llvm::cl::init("loss")};
  Option<Precision> precision{
      *this, "precision",
      llvm::cl::desc("compute precision of the step (the plan's precision)"),
      llvm::cl::init(Precision::FP32),
      llvm::cl::values(
          clEnumValN(Precision::FP32, "fp32", "fp32 throughout"),
          clEnumValN(Precision::BF16, "bf16", "bf16 compute, fp32 master weights"),
          clEnumValN(Precision::FP16, "fp16",
                     "fp16 compute, fp32 master weights, loss scaling"))};
  Option<RoundTripDouble> lossScale{
      *this, "loss-scale", llvm::cl::desc("fp16: the initial loss scale"),
      llvm::cl::init(65536.0)};
  Option<int64_t> lossScaleWindow{
      *this, "loss-scale-window",
      llvm::cl::desc("fp16: good steps before the loss scale doubles"), llvm::cl::init(1000)};
  // The options of pz-optimizer, with its names and defaults.
  Option<std::string> optimizer{*this, "optimizer",
                                llvm::cl::desc("adamw or sgd"),
                                llvm::cl::init("adamw")};
  Option<RoundTripDouble> lr{*this, "lr",
                             llvm::cl::desc("base learning rate"),
                             llvm::cl::init(1e-3)};
  Option<RoundTripDouble> beta1{*this, "beta1", llvm::cl::desc("AdamW beta1"),
                                llvm::cl::init(0.9)};
  Option<RoundTripDouble> beta2{*this, "beta2", llvm::cl::desc("AdamW beta2"),
                                llvm::cl::init(0.999)};
  Option<RoundTripDouble> eps{*this, "eps", llvm::cl::desc("AdamW epsilon"),
                              llvm::cl::init(1e-8)};
  Option<RoundTripDouble> weightDecay{
      *this, "weight-decay",
      llvm::cl::desc("decoupled weight decay (AdamW) or L2 (SGD)"),
      llvm::cl::init(0.01)};
  Option<RoundTripDouble> momentum{*this, "momentum",
                                   llvm::cl::desc("SGD momentum"),
                                   llvm::cl::init(0.0)};
  Option<RoundTripDouble> gradClip{
      *this, "grad-clip",
      llvm::cl::desc("global-norm clipping threshold (0: off)"),
      llvm::cl::init(0.0)};
  Option<bool> noDecay1D{*this, "no-decay-1d",
                         llvm::cl::desc("exempt 1-D parameters from weight decay"),
                         llvm::cl::init(false)};
  Option<std::string> lrSchedule{*this, "lr-schedule",
                                 llvm::cl::desc("constant or cosine"),
                                 llvm::cl::init("constant")};
  Option<int64_t> warmupSteps{*this, "warmup-steps",
                              llvm::cl::desc("linear warmup steps"),
                              llvm::cl::init(0)};
  Option<int64_t> totalSteps{
      *this, "total-steps",
      llvm::cl::desc("steps over which cosine decays to 0"),
      llvm::cl::init(0)};

  Option<int64_t> memoryLimit{
      *this, "memory-limit",
      llvm::cl::desc("bytes a rank may hold (0: no limit); pz-split-stages balances within it"),
      llvm::cl::init(0)};
  // Pipeline parallelism (pz-split-stages).
  Option<int64_t> stages{
      *this, "stages",
      llvm::cl::desc("pipeline stages: above 1, @forward is cut into stage modules and "
                     "the rest of the pipeline runs on each"),
      llvm::cl::init(1)};
  Option<std::string> recompute{
      *this, "recompute",
      llvm::cl::desc("activation recomputation: none, selective, full or layers "
                     "(recompute-layers) (pz-recompute)"),
      llvm::cl::init("none")};
  ListOption<std::string> recomputeLayers{
      *this, "recompute-layers",
      llvm::cl::desc("the layers recompute=layers recomputes in full (h.0,h.2)")};
  ListOption<std::string> stageBoundaries{
      *this, "stage-boundaries",
      llvm::cl::desc("layers that start a stage, instead of the balanced cut")};

  // The backend.
  Option<PipelineStop> stopAt{
      *this, "stop-at", llvm::cl::desc("the level the pipeline stops at"),
      llvm::cl::init(PipelineStop::PZRT),
      llvm::cl::values(
          clEnumValN(PipelineStop::PZ, "pz",
                     "the training step in the pz dialect (--emit ir)"),
          clEnumValN(PipelineStop::PZRT, "pzrt",
                     "the runtime-call level the emitters print"))};
  Option<bool> fusion{
      *this, "fusion",
      llvm::cl::desc("fuse element-map chains (pz-fuse-elementwise)"),
      llvm::cl::init(true)};
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("the backend: cpu or cuda"),
                             llvm::cl::init("cpu")};
  Option<bool> buildSchedule{
      *this, "build-schedule",
      llvm::cl::desc("build the training step's schedule "
                     "(pzrt-build-schedule; off for a single function)"),
      llvm::cl::init(true)};

  /// The pz-optimizer options these hold.
  OptimizerPassOptions getOptimizerOptions() const;
  /// Sets the pz-optimizer options.
  void setOptimizerOptions(const OptimizerPassOptions &options);
};

/// The whole pipeline: import cleanup, the training step (unless
/// forward-only), the plan passes, then (unless stop-at=pz) the backend.
void buildTrainingPipeline(OpPassManager &pm,
                           const TrainingPipelineOptions &options);

/// Its stages, in order.
/// 1. Fix input shapes, infer shapes, clean up, fuse exporter patterns.
void addImportCleanupPasses(OpPassManager &pm,
                            const TrainingPipelineOptions &options);
/// 2. Loss, precision, autodiff, optimizer, gradient functions, clean up.
void addTrainingStepPasses(OpPassManager &pm,
                           const TrainingPipelineOptions &options);
/// 3. The plan passes (sharding, collectives, pipeline stages) that turn
///    the step into the per-rank program. None yet: they come next, here.
void addParallelizationPasses(OpPassManager &pm,
                              const TrainingPipelineOptions &options);
/// 4. Fusion, lowering to pzrt, the memory plan and the step's schedule.
void addBackendPasses(OpPassManager &pm,
                      const TrainingPipelineOptions &options);

/// Registers `pz-training-pipeline` for the pass-pipeline parsers
/// (parallelize-opt).
void registerPZPipelines();

} // namespace mlir::pz

#endif // PZ_PIPELINES_PIPELINES_H
