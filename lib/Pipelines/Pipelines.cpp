//===- Pipelines.cpp - the registered compile pipeline -------------------===//

#include "pz/Pipelines/Pipelines.h"

#include "pz/Conversion/Passes.h"
#include "pz/Dialect/PZRT/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::pz;

OptimizerPassOptions TrainingPipelineOptions::getOptimizerOptions() const {
  OptimizerPassOptions o;
  o.optimizer = optimizer;
  o.lr = lr;
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = eps;
  o.weightDecay = weightDecay;
  o.momentum = momentum;
  o.gradClip = gradClip;
  o.noDecay1D = noDecay1D;
  o.lrSchedule = lrSchedule;
  o.warmupSteps = warmupSteps;
  o.totalSteps = totalSteps;
  return o;
}

void TrainingPipelineOptions::setOptimizerOptions(
    const OptimizerPassOptions &o) {
  optimizer = o.optimizer;
  lr = o.lr;
  beta1 = o.beta1;
  beta2 = o.beta2;
  eps = o.eps;
  weightDecay = o.weightDecay;
  momentum = o.momentum;
  gradClip = o.gradClip;
  noDecay1D = o.noDecay1D;
  lrSchedule = o.lrSchedule;
  warmupSteps = o.warmupSteps;
  totalSteps = o.totalSteps;
}

void mlir::pz::addImportCleanupPasses(OpPassManager &pm,
                                      const TrainingPipelineOptions &options) {
  if (!options.inputShapes.empty()) {
    SetInputShapesPassOptions o;
    o.shapes = options.inputShapes;
    pm.addPass(createSetInputShapesPass(o));
  }
  pm.addPass(createInferShapesPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createFusePatternsPass());
}

void mlir::pz::addTrainingStepPasses(OpPassManager &pm,
                                     const TrainingPipelineOptions &options) {
  if (!options.addLoss.empty()) {
    AddLossPassOptions o;
    o.kind = options.addLoss;
    pm.addPass(createAddLossPass(o));
  }
  MixedPrecisionPassOptions mp;
  mp.precision = stringify(options.precision).str();
  mp.lossScale = options.lossScale;
  mp.lossScaleWindow = options.lossScaleWindow;
  pm.addPass(createMixedPrecisionPass(mp));
  if (!options.forwardOnly)
    pm.addPass(createInterleaveQkvPass());
  // Pipeline stages: the rest runs on each stage's module.
  OpPassManager *stage = &pm;
  if (options.stages > 1) {
    SplitStagesPassOptions split;
    split.stages = options.stages;
    split.boundaries.assign(options.stageBoundaries.begin(), options.stageBoundaries.end());
    split.memoryLimit = options.memoryLimit;
    split.optimizerStates =
        options.optimizer == "adamw" ? 2 : (double(options.momentum) != 0.0 ? 1 : 0);
    split.loss = options.loss;
    pm.addPass(createSplitStagesPass(split));
    stage = &pm.nest<ModuleOp>();
  }
  AutodiffPassOptions ad;
  ad.loss = options.loss;
  stage->addPass(createAutodiffPass(ad));
  stage->addPass(createOptimizerPass(options.getOptimizerOptions()));
  stage->addPass(createBuildGradFunctionsPass());
  stage->addPass(createCanonicalizerPass());
  stage->addPass(createCSEPass());
}

/// The passes that run on each stage's module when the step is pipelined,
/// else on the module.
static OpPassManager &perStage(OpPassManager &pm, const TrainingPipelineOptions &options) {
  return options.stages > 1 && !options.forwardOnly ? pm.nest<ModuleOp>() : pm;
}

void mlir::pz::addParallelizationPasses(OpPassManager &pm,
                                        const TrainingPipelineOptions &options) {
  // The plan passes: they read the module's pz.plan and turn the
  // single-device step into the per-rank program with its collectives.
  // Each leaves a module whose plan does not use its axes unchanged. A
  // forward graph has no gradients to average.
  if (!options.forwardOnly) {
    OpPassManager *stage = &perStage(pm, options);
    stage->addPass(createTensorParallelPass());
    stage->addPass(createDataParallelPass());
    // Recompute before pz-zero, so that under ZeRO-3 the recomputed ops
    // read the backward's parameter gathers, not the forward's kept alive.
    if (options.recompute != "none") {
      RecomputePassOptions r;
      r.mode = options.recompute;
      r.layers.assign(options.recomputeLayers.begin(), options.recomputeLayers.end());
      // With stages, on the top module: each stage recomputes the listed
      // layers it holds, and a name no stage holds is an error.
      if (options.stages > 1) {
        pm.addPass(createRecomputePass(r));
        stage = &perStage(pm, options);
      } else {
        stage->addPass(createRecomputePass(r));
      }
    }
    stage->addPass(createZeroPass());
    if (options.stages > 1) {
      stage->addPass(createSplitForwardBackwardPass());
      stage->addPass(createSplitGradNormPass()); // interleaved only
    }
  }
}

void mlir::pz::addBackendPasses(OpPassManager &top,
                                const TrainingPipelineOptions &options) {
  OpPassManager &pm = perStage(top, options);
  if (options.fusion)
    pm.addPass(createFuseElementwisePass());
  if (!options.forwardOnly)
    pm.addPass(createSavedActivationsPass());
  ConvertPZToPZRTPassOptions lower;
  lower.target = options.target;
  pm.addPass(createConvertPZToPZRTPass(lower));
  pm.addPass(pzrt::createAsyncTransfersPass());
  pm.addPass(pzrt::createPlanMemoryPass());
  // The schedule runs the training step's functions; a forward graph, or a
  // single function built for testing, has none.
  if (!options.forwardOnly && options.buildSchedule)
    pm.addPass(pzrt::createBuildSchedulePass());
}

void mlir::pz::buildTrainingPipeline(OpPassManager &pm,
                                     const TrainingPipelineOptions &options) {
  addImportCleanupPasses(pm, options);
  if (!options.forwardOnly)
    addTrainingStepPasses(pm, options);
  addParallelizationPasses(pm, options);
  if (options.stopAt == PipelineStop::PZRT)
    addBackendPasses(pm, options);
}

void mlir::pz::registerPZPipelines() {
  PassPipelineRegistration<TrainingPipelineOptions>(
      "pz-training-pipeline",
      "The pipeline of `parallelize compile`: import cleanup, the training "
      "step, the plan passes and the backend down to pzrt (the plan comes "
      "from the module's pz.plan)",
      buildTrainingPipeline);
}
