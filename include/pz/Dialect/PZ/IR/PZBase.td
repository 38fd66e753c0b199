//===- PZBase.td - pz dialect definition, types and base classes ---------===//
//
// The Graph dialect `pz` holds the tensor ops of training graphs. It works on
// builtin ranked tensors; parameters are function arguments marked with the
// `pz.param` argument attribute.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZBASE_TD
#define PZ_DIALECT_PZ_IR_PZBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpAsmInterface.td"
include "pz/Dialect/PZ/IR/PZInterfaces.td"

def PZ_Dialect : Dialect {
  let name = "pz";
  let cppNamespace = "::mlir::pz";
  let summary = "Tensor ops for neural-network training graphs";
  let description = [{
    The `pz` dialect describes the forward graph, and later the whole training
    step, of a neural network. Ops work on builtin ranked tensors with element
    type f16, bf16, f32 or f64 for values, i32 or i64 for ids, i1 for masks,
    i8 or i16 for narrow signed integer data (ONNX's int8 and int16) and ui8,
    ui16, ui32 or ui64 for unsigned integer data (ONNX's uint types). Integer arithmetic wraps modulo 2^width, as numpy's does; integer
    division truncates toward zero and a zero divisor is an error. Every op
    infers its result type from its operands and attributes; the printed
    result types are checked against that inference.

    Function arguments carry one of two discardable attributes:

    * `pz.param = "name"` marks a trainable parameter; the name is the
      model's own (the ONNX initializer name) and becomes the checkpoint name.
    * `pz.input = "name"` marks a data input (for example `input_ids`).

    Function results may carry `pz.output = "name"` (for example `loss`).
    After autodiff, gradient results carry `pz.grad = "name"`, the name of
    their parameter; optimizer state (arguments and results of
    `@optimizer_step`) carries `pz.state = "KIND:name"`, for example
    `exp_avg:fc1.weight`.
    `pz.accum = "name"` marks the gradient accumulator of a parameter (in
    `@accumulate_grads` and `@finalize_grads`). A scalar the runtime
    provides or reads carries its meaning as `pz.role = #pz.role<...>`
    (`lr`, `step`, `loss_scale`, `grad_scale` as arguments; `loss`,
    `grad_norm`, `nonfinite` as results), next to its name.
    The module may carry `pz.plan = #pz.plan<...>`, the parallel plan,
    `pz.loss_scaling = #pz.loss_scaling<...>` and `pz.split_groups = {name =
    array<i64: g, dim>}` (pz-interleave-qkv); `@optimizer_step` carries
    `pz.lr_schedule = #pz.lr_schedule<...>`.
  }];
  let useDefaultAttributePrinterParser = 1;
  let hasConstantMaterializer = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
  let hasOperationAttrVerify = 1;
  let extraClassDeclaration = [{
    static constexpr ::llvm::StringLiteral kParamAttrName = "pz.param";
    static constexpr ::llvm::StringLiteral kInputAttrName = "pz.input";
    static constexpr ::llvm::StringLiteral kOutputAttrName = "pz.output";
    static constexpr ::llvm::StringLiteral kPlanAttrName = "pz.plan";
    static constexpr ::llvm::StringLiteral kGradAttrName = "pz.grad";
    static constexpr ::llvm::StringLiteral kStateAttrName = "pz.state";
    static constexpr ::llvm::StringLiteral kAccumAttrName = "pz.accum";
    static constexpr ::llvm::StringLiteral kRoleAttrName = "pz.role";
    /// A ZeRO gradient chunk bound to the leading elements of its buffer.
    static constexpr ::llvm::StringLiteral kShardPrefixAttrName = "pz.shard_prefix";
    /// A flat-sharded tensor: {shape = global shape, grid_axes = [...]}.
    static constexpr ::llvm::StringLiteral kFlatShardAttrName = "pz.flat_shard";
    /// A tensor split in equal blocks over grid axes (tensor parallelism):
    /// {shape = global shape, dim_axes = per dim the grid axis or -1}.
    static constexpr ::llvm::StringLiteral kBoxShardAttrName = "pz.box_shard";
    /// On @forward_backward: the vocabulary token data must respect, when
    /// a plan pass splits it (the program no longer shows it whole).
    static constexpr ::llvm::StringLiteral kVocabAttrName = "pz.vocab";
    /// On @forward_backward: the bytes of the activations one micro-batch's
    /// forward pass keeps for its backward pass (pz-saved-activations).
    static constexpr ::llvm::StringLiteral kSavedActivationBytesAttrName =
        "pz.saved_activation_bytes";
    /// On the module (a stage's module): the bytes per micro-batch the
    /// forward no longer keeps for the backward (pz-recompute), and for a
    /// list of layers, per layer ({"h.0" = bytes}).
    static constexpr ::llvm::StringLiteral kRecomputedBytesAttrName =
        "pz.recomputed_bytes";
    static constexpr ::llvm::StringLiteral kRecomputedBytesByLayerAttrName =
        "pz.recomputed_bytes_by_layer";
    /// On the module: the parameters whose dim d pz-interleave-qkv
    /// reordered, {name = [g, d]}: per block of tp ranks, a share of each
    /// of g equal parts of the stored dim (the runtime's split_groups).
    static constexpr ::llvm::StringLiteral kSplitGroupsAttrName = "pz.split_groups";
    static constexpr ::llvm::StringLiteral kLRScheduleAttrName =
        "pz.lr_schedule";
    static constexpr ::llvm::StringLiteral kLossScalingAttrName =
        "pz.loss_scaling";
    /// Pipeline stages (pz-split-stages): a tensor that crosses stages,
    /// "activation" (between stage s and s + 1) or "activation_grad" (its
    /// gradient), on the arguments and results of a stage's functions.
    static constexpr ::llvm::StringLiteral kPipeAttrName = "pz.pipe";
    /// A value a stage's forward keeps for its backward (its name), on
    /// @stage_forward's results and @stage_backward's arguments.
    static constexpr ::llvm::StringLiteral kSavedAttrName = "pz.saved";
    /// On a stage's module: {index, flops}.
    static constexpr ::llvm::StringLiteral kStageAttrName = "pz.stage";
    /// On a stage's module: the parameters several stages hold, {name =
    /// bit mask of those stages}; their gradients are summed over them.
    static constexpr ::llvm::StringLiteral kTiedStagesAttrName = "pz.tied_stages";
  }];
}

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def PZ_Float : AnyTypeOf<[F16, BF16, F32, F64]>;
// Indices, ids and labels (signless, as the ONNX ops that take them).
def PZ_Int : AnyTypeOf<[I32, I64]>;
// Values of arithmetic: floats, the signed integer types i8..i64 (signless,
// ONNX's int types) and the unsigned ones ui8..ui64 (ONNX's uint types);
// integer arithmetic wraps modulo 2^width.
def PZ_Numeric : AnyTypeOf<[F16, BF16, F32, F64, I8, I16, I32, I64, UI8, UI16,
                            UI32, UI64]>;
def PZ_Element : AnyTypeOf<[F16, BF16, F32, F64, I8, I16, I32, I64, UI8, UI16,
                            UI32, UI64, I1]>;

def PZ_FloatTensor : RankedTensorOf<[PZ_Float]>;
def PZ_IntTensor : RankedTensorOf<[PZ_Int]>;
def PZ_NumericTensor : RankedTensorOf<[PZ_Numeric]>;
def PZ_BoolTensor : RankedTensorOf<[I1]>;
def PZ_Tensor : RankedTensorOf<[PZ_Element]>;
def PZ_MaskTensor : RankedTensorOf<[I1, F16, BF16, F32, F64]>;
def PZ_F32Scalar : 0DTensorOf<[F32]>;
def PZ_IntScalar : 0DTensorOf<[PZ_Int]>;

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def PZ_ReductionMean : I32EnumAttrCase<"mean", 0>;
def PZ_ReductionSum : I32EnumAttrCase<"sum", 1>;
def PZ_ReductionNone : I32EnumAttrCase<"none", 2>;
def PZ_ReductionAttr : I32EnumAttr<"Reduction", "how a loss reduces over tokens",
    [PZ_ReductionMean, PZ_ReductionSum, PZ_ReductionNone]> {
  let cppNamespace = "::mlir::pz";
}

def PZ_GeluExact : I32EnumAttrCase<"erf", 0>;
def PZ_GeluTanh : I32EnumAttrCase<"tanh", 1>;
def PZ_GeluApproxAttr : I32EnumAttr<"GeluApproximation",
    "the GELU form: exact (erf) or the tanh approximation",
    [PZ_GeluExact, PZ_GeluTanh]> {
  let cppNamespace = "::mlir::pz";
}

//===----------------------------------------------------------------------===//
// Base classes
//===----------------------------------------------------------------------===//

// Ops that autodiff can differentiate implement buildVJP (VJP*.cpp).
def PZ_VJP : DeclareOpInterfaceMethods<PZ_VJPOpInterface>;

// Ops whose result element at each position is a function of the operand
// elements at that position (operands broadcast numpy style, no attribute
// makes an element depend on its neighbours). pz-fuse-elementwise puts
// chains of them into one pz.fused loop. See PZTraits.h.
def PZ_ElementMap : NativeOpTrait<"ElementMap"> {
  let cppNamespace = "::mlir::pz::traits";
}

// No operand of a pz op holds more than 2^48 elements. Listed
// first in every pz op, so that it runs before the op's verifier and its
// type inference, which form products of dims. See PZTraits.h.
def PZ_BoundedTensorSizes : NativeOpTrait<"BoundedTensorSizes"> {
  let cppNamespace = "::mlir::pz::traits";
}

class PZ_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<PZ_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// Every pz op infers its result types; the verifier checks the printed ones
// against the inference (a printed static dim may refine an inferred `?`).
def PZ_InferType : InferTypeOpAdaptorBase<[{
    static bool isCompatibleReturnTypes(::mlir::TypeRange l,
                                        ::mlir::TypeRange r) {
      return ::mlir::pz::areRefinableTypes(l, r);
    }
}]>;

// Results print with names taken from the op's source location (the ONNX
// node name) or, lacking one, from the op's mnemonic. Ops whose result types
// follow from their traits (SameOperandsAndResultType, AllTypesMatch) set
// `inferFromTraits` and get their inference generated by ODS.
class PZ_Op<string mnemonic, list<Trait> traits = [], bit inferFromTraits = 0>
    : Op<PZ_Dialect, mnemonic,
         !listconcat([PZ_BoundedTensorSizes], traits, [OpAsmOpInterface],
                     !if(inferFromTraits,
                         [DeclareOpInterfaceMethods<InferTypeOpInterface>],
                         [PZ_InferType]))> {
  let extraClassDeclaration = [{
    void getAsmResultNames(::mlir::OpAsmSetValueNameFn setNameFn) {
      ::mlir::pz::nameResultsFromLoc(getOperation(), setNameFn);
    }
  }];
}

#endif // PZ_DIALECT_PZ_IR_PZBASE_TD
