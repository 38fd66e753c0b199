//===- PZDialect.cpp - pz dialect, attributes and attribute checks --------===//

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;

#include "pz/Dialect/PZ/IR/PZDialect.cpp.inc"
#include "pz/Dialect/PZ/IR/PZEnums.cpp.inc"
#include "pz/Dialect/PZ/IR/PZInterfaces.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "pz/Dialect/PZ/IR/PZAttrs.cpp.inc"

void PZDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "pz/Dialect/PZ/IR/PZOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "pz/Dialect/PZ/IR/PZAttrs.cpp.inc"
      >();
}

Operation *PZDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                          Type type, Location loc) {
  auto typed = llvm::dyn_cast<TypedAttr>(value);
  if (!typed || typed.getType() != type || !llvm::isa<RankedTensorType>(type))
    return nullptr;
  return ConstantOp::create(builder, loc, typed);
}

bool mlir::pz::areRefinableTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != actual.size())
    return false;
  for (auto [i, a] : llvm::zip(inferred, actual)) {
    if (i == a)
      continue;
    auto it = llvm::dyn_cast<RankedTensorType>(i);
    auto at = llvm::dyn_cast<RankedTensorType>(a);
    if (!it || !at || it.getElementType() != at.getElementType() ||
        it.getRank() != at.getRank())
      return false;
    for (auto [di, da] : llvm::zip(it.getShape(), at.getShape()))
      if (!ShapedType::isDynamic(di) && !ShapedType::isDynamic(da) && di != da)
        return false;
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Plan attribute
//===----------------------------------------------------------------------===//

Plan PlanAttr::getPlan() const {
  Plan p;
  p.dpReplicate = getDpReplicate();
  p.dpShard = getDpShard();
  p.zero = getZero();
  p.tp = getTp();
  p.sp = getSp();
  p.cp = getCp();
  p.pp = getPp();
  p.schedule = *parseSchedule(getSchedule());
  p.gradAccum = getGradAccum();
  p.virtualStages = getVirtualStages();
  p.recompute = *parseRecompute(getRecompute());
  p.precision = *parsePrecision(getPrecision());
  return p;
}

PlanAttr PlanAttr::get(MLIRContext *ctx, const Plan &p) {
  return get(ctx, p.dpReplicate, p.dpShard, p.zero, p.tp, p.sp, p.cp, p.pp,
             stringify(p.schedule), p.gradAccum, p.virtualStages,
             stringify(p.recompute), stringify(p.precision));
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t dpReplicate, int64_t dpShard,
                               int64_t zero, int64_t tp, bool sp, int64_t cp,
                               int64_t pp, StringRef schedule,
                               int64_t gradAccum, int64_t virtualStages,
                               StringRef recompute, StringRef precision) {
  Plan p;
  p.dpReplicate = dpReplicate;
  p.dpShard = dpShard;
  p.zero = zero;
  p.tp = tp;
  p.sp = sp;
  p.cp = cp;
  p.pp = pp;
  p.gradAccum = gradAccum;
  p.virtualStages = virtualStages;
  std::vector<PlanError> errors;
  // The strings must be exact (getPlan() parses them as they are), so they
  // are parsed here without the trimming that setPlanKey allows for YAML.
  auto sched = parseSchedule(schedule);
  auto rec = parseRecompute(recompute);
  auto prec = parsePrecision(precision);
  if (!sched)
    errors.push_back({"schedule", "expected one of gpipe, 1f1b, interleaved, "
                                  "zb, got '" + schedule.str() + "'"});
  if (!rec)
    errors.push_back({"recompute", "expected one of none, selective, full, "
                                   "got '" + recompute.str() + "'"});
  if (!prec)
    errors.push_back({"precision", "expected one of fp32, bf16, fp16, got '" +
                                       precision.str() + "'"});
  if (sched)
    p.schedule = *sched;
  if (rec)
    p.recompute = *rec;
  if (prec)
    p.precision = *prec;
  if (errors.empty())
    errors = validatePlan(p);
  if (errors.empty())
    return success();
  InFlightDiagnostic diag = emitError();
  for (auto [i, e] : llvm::enumerate(errors))
    diag << (i ? "; " : "") << "plan key '" << e.key << "': " << e.message;
  return diag;
}

//===----------------------------------------------------------------------===//
// Discardable attributes on functions and modules
//===----------------------------------------------------------------------===//

static LogicalResult verifyNameAttr(Operation *op, NamedAttribute attr,
                                    StringRef where) {
  auto name = llvm::dyn_cast<StringAttr>(attr.getValue());
  if (!name || name.getValue().empty())
    return op->emitOpError() << "'" << attr.getName().getValue() << "' on "
                             << where << " must be a non-empty string";
  return success();
}

LogicalResult PZDialect::verifyRegionArgAttribute(Operation *op,
                                                  unsigned regionIndex,
                                                  unsigned argIndex,
                                                  NamedAttribute attr) {
  StringRef attrName = attr.getName().getValue();
  std::string where = "argument " + std::to_string(argIndex);
  if (attrName != kParamAttrName && attrName != kInputAttrName &&
      attrName != kGradAttrName && attrName != kStateAttrName)
    return op->emitOpError() << "unknown pz argument attribute '" << attrName
                             << "' on " << where << " (expected '"
                             << kParamAttrName << "', '" << kInputAttrName
                             << "', '" << kGradAttrName << "' or '"
                             << kStateAttrName << "')";
  if (failed(verifyNameAttr(op, attr, where)))
    return failure();
  auto fn = llvm::dyn_cast<FunctionOpInterface>(op);
  Type type;
  if (fn)
    type = fn.getArgumentTypes()[argIndex];
  else if (!op->getRegion(regionIndex).empty())
    type = op->getRegion(regionIndex).getArgument(argIndex).getType();
  if (type && failed(traits::verifyBoundedTensorSize(
                  type, [&] { return op->emitOpError(); }, where)))
    return failure();
  if (type && attrName == kParamAttrName) {
    auto tensor = llvm::dyn_cast<RankedTensorType>(type);
    if (!tensor || !llvm::isa<FloatType>(tensor.getElementType()))
      return op->emitOpError() << "parameter '"
                               << llvm::cast<StringAttr>(attr.getValue())
                                      .getValue()
                               << "' (" << where
                               << ") must be a ranked float tensor, got "
                               << type;
  }
  // A parameter or input name appears once per function.
  if (!fn)
    return success();
  for (unsigned i = 0; i < argIndex; ++i) {
    if (auto other = fn.getArgAttr(i, attrName); other && other == attr.getValue())
      return op->emitOpError()
             << "'" << attrName << "' name "
             << llvm::cast<StringAttr>(attr.getValue())
             << " is used by arguments " << i << " and " << argIndex;
  }
  return success();
}

LogicalResult PZDialect::verifyRegionResultAttribute(Operation *op,
                                                     unsigned regionIndex,
                                                     unsigned resultIndex,
                                                     NamedAttribute attr) {
  StringRef n = attr.getName().getValue();
  if (n != kOutputAttrName && n != kGradAttrName && n != kParamAttrName &&
      n != kStateAttrName)
    return op->emitOpError() << "unknown pz result attribute '" << n
                             << "' (expected '" << kOutputAttrName << "', '"
                             << kGradAttrName << "', '" << kParamAttrName
                             << "' or '" << kStateAttrName << "')";
  return verifyNameAttr(op, attr, "result " + std::to_string(resultIndex));
}

LogicalResult PZDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  if (attr.getName().getValue() == kLRScheduleAttrName ||
      attr.getName().getValue() == kLossScalingAttrName) {
    if (!llvm::isa<DictionaryAttr>(attr.getValue()))
      return op->emitOpError() << "'" << attr.getName().getValue()
                               << "' must be a dictionary";
    return success();
  }
  StringRef name = attr.getName().getValue();
  if (name == "pz.buffers" || name == "pz.workspace") {
    auto arr = llvm::dyn_cast<DenseI64ArrayAttr>(attr.getValue());
    if (!arr)
      return op->emitOpError() << "'" << name << "' must be an array<i64>";
    size_t want = name == "pz.buffers" ? op->getNumResults() : 2;
    if (arr.size() != static_cast<int64_t>(want))
      return op->emitOpError() << "'" << name << "' needs " << want
                               << " entries, got " << arr.size();
    for (int64_t v : arr.asArrayRef())
      if (v < -1 || (name == "pz.workspace" && v < 0) || v % 64 > 0)
        return op->emitOpError() << "'" << name << "' entry " << v
                                 << " is not a 64-byte aligned offset";
    return success();
  }
  if (name == "pz.memory_plan") {
    auto dict = llvm::dyn_cast<DictionaryAttr>(attr.getValue());
    if (!dict || !llvm::isa<FunctionOpInterface>(op))
      return op->emitOpError()
             << "'pz.memory_plan' must be a dictionary on a func.func";
    return success();
  }
  if (attr.getName().getValue() != kPlanAttrName)
    return op->emitOpError() << "unknown pz attribute '"
                             << attr.getName().getValue() << "'";
  if (!llvm::isa<ModuleOp>(op))
    return op->emitOpError() << "'" << kPlanAttrName
                             << "' belongs on the module";
  if (!llvm::isa<PlanAttr>(attr.getValue()))
    return op->emitOpError() << "'" << kPlanAttrName
                             << "' must be a #pz.plan attribute";
  return success();
}

//===----------------------------------------------------------------------===//
// Result names
//===----------------------------------------------------------------------===//

/// The innermost name in a location, if any.
static std::optional<StringRef> locName(Location loc) {
  if (auto name = llvm::dyn_cast<NameLoc>(loc))
    return name.getName().getValue();
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc))
    for (Location inner : fused.getLocations())
      if (auto n = locName(inner))
        return n;
  return std::nullopt;
}

void mlir::pz::nameResultsFromLoc(Operation *op,
                                  OpAsmSetValueNameFn setNameFn) {
  std::string base;
  if (auto name = locName(op->getLoc())) {
    // ONNX node names look like "/h.0/attn/MatMul": keep letters, digits and
    // dots, turn the rest into underscores, drop the leading separator.
    for (char c : name->ltrim("/"))
      base += (llvm::isAlnum(c) || c == '.') ? c : '_';
  }
  if (base.empty())
    base = op->getName().stripDialect().str();
  if (op->getNumResults() == 1) {
    setNameFn(op->getResult(0), base);
    return;
  }
  for (OpResult r : op->getResults())
    setNameFn(r, base + "_" + std::to_string(r.getResultNumber()));
}
