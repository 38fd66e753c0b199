//===- Passes.td - pz dialect passes --------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD
#define PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SetInputShapesPass : Pass<"pz-set-input-shapes", "mlir::ModuleOp"> {
  let summary = "Fix the dynamic dims of named data inputs";
  let description = [{
    Gives every function argument marked `pz.input = "NAME"` the shape named
    for it in `shapes` (`NAME=DxD,NAME=DxD`), as `--input-shape` does. The
    new shape must keep the rank and agree with every static dim. Naming an
    input that no function has is an error. Run `pz-infer-shapes` after it
    to carry the shapes through the graph.
  }];
  let options = [
    Option<"shapes", "shapes", "std::string", /*default=*/"\"\"",
           "comma-separated NAME=DxDx... entries">,
  ];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def InferShapesPass : Pass<"pz-infer-shapes", "mlir::ModuleOp"> {
  let summary = "Refine result types from the ops' shape inference";
  let description = [{
    Walks every function in order and replaces each pz op's result types by
    the inferred ones where inference knows more (a static dim where the IR
    has `?`). Function result types follow their returned values. Ops whose
    inference fails are reported with their location.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}


def AddLossPass : Pass<"pz-add-loss", "mlir::ModuleOp"> {
  let summary = "Append a token cross-entropy over the logits output";
  let description = [{
    `--add-loss cross-entropy`: the forward function gains a data input
    `labels` (integer ids shaped like the logits without their class dim)
    and an output `loss`, the mean cross-entropy over the tokens whose label
    is not -100. The `logits` output stays.
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"cross-entropy\"",
           "the loss to add (cross-entropy)">,
    Option<"logits", "logits", "std::string", /*default=*/"\"logits\"",
           "the output that holds the logits">,
  ];
}

def AutodiffPass : Pass<"pz-autodiff", "mlir::ModuleOp"> {
  let summary = "Reverse-mode autodiff: forward -> forward_backward";
  let description = [{
    Rewrites `@forward` into `@forward_backward`, which returns the loss
    (the scalar output named by `loss`) and, for every parameter the loss
    depends on, its gradient, marked `pz.grad = "NAME"`. Other outputs are
    dropped. Each op on a path from a parameter to the loss builds its VJP
    through VJPOpInterface; an op without one is an error at its location.
    Parameters the loss does not depend on get no gradient (as PyTorch's
    `None`), and the optimizer leaves them untouched.
  }];
  let options = [
    Option<"loss", "loss", "std::string", /*default=*/"\"loss\"",
           "the scalar output to minimise">,
  ];
}

def OptimizerPass : Pass<"pz-optimizer", "mlir::ModuleOp"> {
  let summary = "Build @optimizer_step: clipping and the parameter update";
  let description = [{
    Adds `@optimizer_step(params, grads, state, lr, step)` returning the
    updated parameters, the updated optimizer state and the global gradient
    norm (before clipping, as `torch.nn.utils.clip_grad_norm_` reports it).
    `adamw` is `torch.optim.AdamW`; `sgd` is `torch.optim.SGD` with
    momentum. With `grad-clip` > 0 every gradient is scaled by
    `min(1, grad_clip / (norm + 1e-6))` first. `no-decay-1d` exempts 1-D
    parameters (biases, norm weights) from weight decay. The learning rate
    arrives as the `lr` input each step; the schedule that produces it is
    recorded on the function as `pz.lr_schedule` for the runtime.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"adamw\"",
           "adamw or sgd">,
    Option<"lr", "lr", "double", /*default=*/"1e-3", "base learning rate">,
    Option<"beta1", "beta1", "double", /*default=*/"0.9", "AdamW beta1">,
    Option<"beta2", "beta2", "double", /*default=*/"0.999", "AdamW beta2">,
    Option<"eps", "eps", "double", /*default=*/"1e-8", "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "double", /*default=*/"0.01",
           "decoupled weight decay (AdamW) or L2 (SGD)">,
    Option<"momentum", "momentum", "double", /*default=*/"0.0",
           "SGD momentum">,
    Option<"gradClip", "grad-clip", "double", /*default=*/"0.0",
           "global-norm clipping threshold (0: off)">,
    Option<"noDecay1D", "no-decay-1d", "bool", /*default=*/"false",
           "exempt 1-D parameters from weight decay">,
    Option<"lrSchedule", "lr-schedule", "std::string",
           /*default=*/"\"constant\"", "constant or cosine">,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "linear warmup steps (cosine)">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"0",
           "steps over which cosine decays to 0">,
  ];
}

#endif // PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD
