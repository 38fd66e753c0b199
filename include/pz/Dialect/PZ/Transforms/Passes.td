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

#endif // PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD
