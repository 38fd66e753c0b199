//===- NodeContext.h - What an op's folder and lowering see
//----------------===//
//
// The importer handles one ONNX node at a time. Its folder (host
// evaluation) and lowering (pz ops) read inputs, attributes and the builder
// through a NodeContext, and record the node's outputs in it.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_IMPORT_ONNX_NODECONTEXT_H
#define PZ_LIB_IMPORT_ONNX_NODECONTEXT_H

#include "HostTensor.h"

#include "pz/Import/ONNX/OnnxImporter.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <memory>
#include <unordered_map>
#include <optional>

namespace mlir::pz::onnx {

/// An ONNX sequence (SplitToSequence, SequenceEmpty, a Loop's carried
/// sequence): known at import time only, since the pz dialect has no
/// sequence values. Items are shared, not copied.
struct HostSequence {
  DataType elemType = DataType::Undefined;
  std::vector<std::shared_ptr<const HostTensor>> items;
};

/// What a name of the ONNX graph stands for during the import: a runtime
/// value, a known constant, or both (a constant that an op already read as
/// a `pz.constant`); or a known sequence (then neither of the others).
struct ImportedValue {
  ImportedValue() = default;
  ImportedValue(Value value, std::shared_ptr<const HostTensor> constant,
                LocationAttr loc,
                std::shared_ptr<const HostSequence> sequence = nullptr)
      : value(value), constant(std::move(constant)), loc(loc),
        sequence(std::move(sequence)) {}

  Value value;
  std::shared_ptr<const HostTensor> constant;
  LocationAttr loc; // the defining node's location (for pz.constant)
  std::shared_ptr<const HostSequence> sequence;
};

/// The state the whole import shares: the value table and the set of
/// parameters (arguments marked pz.param).
struct ImportState {
  explicit ImportState(MLIRContext *ctx) : builder(ctx) {}
  OpBuilder builder;
  llvm::StringMap<ImportedValue> values;
  llvm::DenseSet<Value> params;
  llvm::StringSet<> usedNames; // names some node or graph output reads
  /// Data inputs with dims left dynamic, for error messages.
  std::vector<std::string> dynamicInputs;
  /// The elements of the known constants that nodes produced so far (what
  /// folding allocated), and the most it may allocate in one import.
  int64_t foldedElements = 0;
  int64_t maxFoldedElements = kMaxFoldedElements;
  /// The folded constants by content (HostTensor::hash): a node that folds
  /// to a constant equal to one held already shares it, and adds nothing to
  /// foldedElements (each layer of an export that builds its own causal
  /// mask folds the same mask).
  std::unordered_multimap<size_t, std::shared_ptr<const HostTensor>> interned;
  /// The rows of embedding tables (parameters) that their lookups give no
  /// gradient (the `parallelize.padding_idx` metadata), and the tables a
  /// lookup has read so far.
  llvm::DenseMap<Value, int64_t> paddingIdx;
  llvm::DenseSet<Value> paddingIdxUsed;
};

class NodeContext {
public:
  NodeContext(ImportState &state, const Node &node, int64_t opset, Location loc)
      : state(state), node(node), opset(opset), loc(loc) {}

  const Node &getNode() const { return node; }
  int64_t getOpset() const { return opset; }
  Location getLoc() const { return loc; }
  MLIRContext *getContext() const { return state.builder.getContext(); }
  OpBuilder &getBuilder() { return state.builder; }

  /// Reports an error at the node's location.
  InFlightDiagnostic emitError() const { return mlir::emitError(loc); }

  //===--------------------------------------------------------------------===//
  // Inputs
  //===--------------------------------------------------------------------===//

  unsigned getNumInputs() const { return node.inputs.size(); }
  /// True when input `i` is given (not past the end, not "").
  bool hasInput(unsigned i) const {
    return i < node.inputs.size() && !node.inputs[i].empty();
  }
  /// The known constant of input `i`, or null for runtime values and
  /// missing inputs.
  const HostTensor *getConstant(unsigned i) const;
  /// The shared tensor behind getConstant(i) (to hold it without a copy).
  std::shared_ptr<const HostTensor> getHeldConstant(unsigned i) const;
  /// The known sequence of input `i`, or null when it is not a sequence.
  const HostSequence *getSequence(unsigned i) const;
  /// True when every given input is a known constant or sequence.
  bool allInputsConstant() const;
  /// The IR value of input `i`; materializes a known constant as
  /// `pz.constant`. Fails (with an error) for element types the dialect
  /// does not have.
  FailureOr<Value> getValue(unsigned i);
  /// The shape of input `i` (dynamic dims are ShapedType::kDynamic).
  SmallVector<int64_t> getShape(unsigned i) const;
  /// The ONNX element type of input `i`.
  DataType getDataType(unsigned i) const;
  /// True when input `i` is a trainable parameter.
  bool isParameter(unsigned i) const;
  /// The padding_idx the model's metadata gives the table `table` (a
  /// parameter), noted as used; none when it gives none.
  std::optional<int64_t> takePaddingIdx(Value table);
  /// Input `i` as a list of integers; fails with an error naming `what`
  /// when it is not a known constant.
  FailureOr<SmallVector<int64_t>> getConstantInts(unsigned i,
                                                  StringRef what) const;
  /// Fails with an error naming the dynamic data inputs when `shape` has a
  /// dynamic dim; `what` says what needs the static shape.
  LogicalResult requireStatic(ArrayRef<int64_t> shape, StringRef what) const;

  //===--------------------------------------------------------------------===//
  // Outputs
  //===--------------------------------------------------------------------===//

  unsigned getNumOutputs() const { return node.outputs.size(); }
  /// True when output `i` exists and some node or graph output reads it.
  bool isOutputUsed(unsigned i) const;
  void setOutput(unsigned i, Value v);
  void setOutput(unsigned i, HostTensor t);
  /// Sets output `i` to a tensor or sequence that is already held (an item
  /// of a sequence, a sequence with one more item): nothing new is counted
  /// against the folding bound. New tensors go through the overload above.
  void setOutput(unsigned i, std::shared_ptr<const HostTensor> t);
  void setOutput(unsigned i, HostSequence s);
  /// Counts `elements` that a folder allocated outside setOutput (the items
  /// of a new sequence) against the import's folding bound.
  void countFolded(int64_t elements) { state.foldedElements += elements; }

  //===--------------------------------------------------------------------===//
  // Attributes: each getter fails with an error when the attribute has
  // another kind.
  //===--------------------------------------------------------------------===//

  bool hasAttr(StringRef name) const { return findAttr(name) != nullptr; }
  FailureOr<int64_t> getInt(StringRef name, int64_t dflt) const;
  FailureOr<double> getFloat(StringRef name, double dflt) const;
  FailureOr<std::string> getString(StringRef name, StringRef dflt) const;
  /// Absent: std::nullopt inside the FailureOr.
  FailureOr<std::optional<SmallVector<int64_t>>> getInts(StringRef name) const;
  const NodeAttribute *findAttr(StringRef name) const {
    return node.findAttribute(name.str());
  }

  //===--------------------------------------------------------------------===//
  // Building ops
  //===--------------------------------------------------------------------===//

  /// Builds `OpTy` at the node's location. The result types come from the
  /// op's shape inference, which reports (at the node) operands that do not
  /// fit instead of aborting; the new op is verified.
  template <typename OpTy, typename... Args>
  FailureOr<Value> create(Args &&...args) {
    static_assert(OpTy::template hasTrait<OpTrait::OneResult>(),
                  "NodeContext::create builds single-result ops");
    OpBuilder &b = state.builder;
    OperationState os(loc, OpTy::getOperationName());
    // The ODS builder wants as many result types as the op has results (it
    // asserts so); a placeholder stands in until shape inference runs.
    OpTy::build(b, os, TypeRange{b.getNoneType()}, std::forward<Args>(args)...);
    os.types.clear();
    SmallVector<Type> types;
    if (failed(
            OpTy::inferReturnTypes(b.getContext(), loc, os.operands,
                                   os.attributes.getDictionary(b.getContext()),
                                   os.getRawProperties(), os.regions, types)))
      return failure();
    os.addTypes(types);
    Operation *op = b.create(os);
    if (failed(mlir::verify(op, /*verifyRecursively=*/false)))
      return failure();
    return op->getResult(0);
  }

  /// Materializes a host tensor as `pz.constant` at `at`.
  FailureOr<Value> materialize(const HostTensor &t, Location at);

private:
  ImportState &state;
  const Node &node;
  int64_t opset;
  Location loc;
};

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_NODECONTEXT_H
