//===- PZDialect.cpp - pz dialect, attributes and attribute checks --------===//

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

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
  if (ArrayAttr names = getStageBoundaries())
    for (Attribute name : names)
      p.stageBoundaries.push_back(llvm::cast<StringAttr>(name).str());
  if (auto mode = llvm::dyn_cast_or_null<StringAttr>(getRecompute()))
    p.recompute = *parseRecompute(mode.getValue());
  else if (auto names = llvm::dyn_cast_or_null<ArrayAttr>(getRecompute()))
    for (Attribute name : names)
      p.recomputeLayers.push_back(llvm::cast<StringAttr>(name).str());
  if (!p.recomputeLayers.empty())
    p.recompute = Recompute::Layers;
  p.precision = *parsePrecision(getPrecision());
  p.bucketMb = getBucketMb();
  return p;
}

/// The stage_boundaries parameter of a plan: null when empty, so that the
/// key is not printed at its default.
static ArrayAttr stageBoundariesAttr(MLIRContext *ctx, const Plan &p) {
  if (p.stageBoundaries.empty())
    return nullptr;
  SmallVector<Attribute> names;
  for (const std::string &name : p.stageBoundaries)
    names.push_back(StringAttr::get(ctx, name));
  return ArrayAttr::get(ctx, names);
}

/// The recompute parameter: null for none, a string for a mode, the names
/// for Recompute::Layers.
static Attribute recomputeAttr(MLIRContext *ctx, const Plan &p) {
  if (p.recompute == Recompute::None)
    return nullptr;
  if (p.recompute != Recompute::Layers)
    return StringAttr::get(ctx, stringify(p.recompute));
  SmallVector<Attribute> names;
  for (const std::string &name : p.recomputeLayers)
    names.push_back(StringAttr::get(ctx, name));
  return ArrayAttr::get(ctx, names);
}

PlanAttr PlanAttr::get(MLIRContext *ctx, const Plan &p) {
  return get(ctx, p.dpReplicate, p.dpShard, p.zero, p.tp, p.sp, p.cp, p.pp,
             stringify(p.schedule), p.gradAccum, p.virtualStages,
             stageBoundariesAttr(ctx, p), recomputeAttr(ctx, p),
             stringify(p.precision), p.bucketMb);
}

LogicalResult LRScheduleAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                     LRScheduleKind kind, APFloat lr, int64_t warmupSteps,
                                     int64_t totalSteps) {
  double v = lr.convertToDouble();
  if (!std::isfinite(v) || v < 0)
    return emitError() << "the learning rate must be finite and not negative, got " << v;
  if (warmupSteps < 0 || totalSteps < 0)
    return emitError() << "warmup_steps and total_steps must not be negative";
  if (kind == LRScheduleKind::cosine && totalSteps <= warmupSteps)
    return emitError() << "a cosine schedule needs total_steps (" << totalSteps
                       << ") above warmup_steps (" << warmupSteps << ")";
  return success();
}

LogicalResult LossScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                      APFloat initialScale, int64_t growthInterval,
                                      APFloat growthFactor, APFloat backoffFactor) {
  double init = initialScale.convertToDouble(), grow = growthFactor.convertToDouble(),
         back = backoffFactor.convertToDouble();
  if (!std::isfinite(init) || init <= 0)
    return emitError() << "initial_scale must be finite and positive";
  if (growthInterval < 1)
    return emitError() << "growth_interval must be at least 1";
  if (!std::isfinite(grow) || grow < 1)
    return emitError() << "growth_factor must be finite and at least 1";
  if (!std::isfinite(back) || back <= 0 || back >= 1)
    return emitError() << "backoff_factor must be in (0, 1)";
  return success();
}

LogicalResult PlanAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t dpReplicate, int64_t dpShard,
                               int64_t zero, int64_t tp, bool sp, int64_t cp,
                               int64_t pp, StringRef schedule,
                               int64_t gradAccum, int64_t virtualStages,
                               ArrayAttr stageBoundaries, Attribute recompute,
                               StringRef precision, int64_t bucketMb) {
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
  p.bucketMb = bucketMb;
  std::vector<PlanError> errors;
  // The strings must be exact (getPlan() parses them as they are), so they
  // are parsed here without the trimming that setPlanKey allows for YAML.
  auto sched = parseSchedule(schedule);
  // recompute: a mode (exact, as for schedule) or an array of names.
  std::optional<Recompute> rec = Recompute::None;
  if (auto mode = llvm::dyn_cast_or_null<StringAttr>(recompute)) {
    rec = parseRecompute(mode.getValue());
    if (!rec)
      errors.push_back({"recompute", "expected one of none, selective, full, "
                                     "or an array of layer names, got '" +
                                         mode.str() + "'"});
  } else if (auto names = llvm::dyn_cast_or_null<ArrayAttr>(recompute)) {
    for (auto [i, name] : llvm::enumerate(names)) {
      auto str = llvm::dyn_cast<StringAttr>(name);
      if (!str) {
        errors.push_back({"recompute", "item " + std::to_string(i + 1) +
                                           " is not a string; each item names a layer"});
        break;
      }
      p.recomputeLayers.push_back(str.str());
    }
    rec = names.empty() ? Recompute::None : Recompute::Layers;
  } else if (recompute) {
    errors.push_back({"recompute", "expected a string (none, selective, full) or "
                                   "an array of layer names"});
  }
  auto prec = parsePrecision(precision);
  if (!sched)
    errors.push_back({"schedule", "expected one of gpipe, 1f1b, interleaved, "
                                  "zb, got '" + schedule.str() + "'"});
  if (!prec)
    errors.push_back({"precision", "expected one of fp32, bf16, fp16, got '" +
                                       precision.str() + "'"});
  if (stageBoundaries) {
    for (auto [i, name] : llvm::enumerate(stageBoundaries)) {
      auto str = llvm::dyn_cast<StringAttr>(name);
      if (!str) {
        errors.push_back({"stage_boundaries",
                          "item " + std::to_string(i + 1) +
                              " is not a string; each item names a layer"});
        break;
      }
      p.stageBoundaries.push_back(str.str());
    }
  }
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

/// The element type a role's scalar has.
static Type roleElementType(MLIRContext *ctx, Role role) {
  return role == Role::step || role == Role::nonfinite || role == Role::tp_index
             ? static_cast<Type>(IntegerType::get(ctx, 64))
             : static_cast<Type>(Float32Type::get(ctx));
}

/// A role marks a scalar (a 0-d tensor, or a one-element buffer at the
/// runtime-call level) of the role's element type.
static LogicalResult verifyRoleAttr(Operation *op, NamedAttribute attr, Type type,
                                    StringRef where) {
  auto role = llvm::dyn_cast<RoleAttr>(attr.getValue());
  if (!role)
    return op->emitOpError() << "'" << PZDialect::kRoleAttrName << "' on " << where
                             << " must be a #pz.role";
  auto shaped = llvm::dyn_cast_or_null<ShapedType>(type);
  Type want = roleElementType(op->getContext(), role.getValue());
  if (type && (!shaped || !shaped.hasStaticShape() || shaped.getNumElements() != 1 ||
               shaped.getElementType() != want))
    return op->emitOpError() << "the " << stringifyRole(role.getValue()) << " scalar (" << where
                             << ") must hold one " << want << ", got " << type;
  return success();
}

/// The attributes that name a function argument or result, and the role.
/// pz.shard_prefix is a unit attribute; pz.flat_shard is {shape = array<i64>,
/// grid_axes = array<i16>} with at least one axis (pz-zero sets both).
static LogicalResult verifyShardAttr(Operation *op, NamedAttribute attr, StringRef where) {
  if (attr.getName().getValue() == PZDialect::kShardPrefixAttrName) {
    if (!llvm::isa<UnitAttr>(attr.getValue()))
      return op->emitOpError() << "'" << attr.getName().getValue() << "' on " << where
                               << " must be a unit attribute";
    return success();
  }
  auto d = llvm::dyn_cast<DictionaryAttr>(attr.getValue());
  auto shape = d ? d.getAs<DenseI64ArrayAttr>("shape") : DenseI64ArrayAttr();
  if (attr.getName().getValue() == PZDialect::kBoxShardAttrName) {
    auto dims = d ? d.getAs<DenseI16ArrayAttr>("dim_axes") : DenseI16ArrayAttr();
    if (!shape || !dims || d.size() != 2 || dims.size() != shape.size() ||
        llvm::any_of(shape.asArrayRef(), [](int64_t s) { return s < 0; }) ||
        llvm::any_of(dims.asArrayRef(), [](int16_t a) { return a < -1; }) ||
        llvm::all_of(dims.asArrayRef(), [](int16_t a) { return a < 0; }))
      return op->emitOpError() << "'" << attr.getName().getValue() << "' on " << where
                               << " must be {shape = array<i64: dims>, dim_axes = array<i16: "
                                  "axes>}, per dim a grid axis or -1, with at least one axis";
    return success();
  }
  auto axes = d ? d.getAs<DenseI16ArrayAttr>("grid_axes") : DenseI16ArrayAttr();
  if (!shape || !axes || axes.empty() || d.size() != 2 ||
      llvm::any_of(shape.asArrayRef(), [](int64_t s) { return s < 0; }) ||
      llvm::any_of(axes.asArrayRef(), [](int16_t a) { return a < 0; }))
    return op->emitOpError() << "'" << attr.getName().getValue() << "' on " << where
                             << " must be {shape = array<i64: dims>, grid_axes = array<i16: "
                                "axes>} with non-negative dims and at least one axis";
  return success();
}

static bool isKnownRoleAttr(StringRef n) {
  return n == PZDialect::kParamAttrName || n == PZDialect::kInputAttrName ||
         n == PZDialect::kGradAttrName || n == PZDialect::kStateAttrName ||
         n == PZDialect::kAccumAttrName || n == PZDialect::kOutputAttrName ||
         n == PZDialect::kRoleAttrName || n == PZDialect::kPipeAttrName ||
         n == PZDialect::kSavedAttrName;
}

static InFlightDiagnostic unknownAttr(Operation *op, StringRef n, StringRef where,
                                      bool argument) {
  auto d = op->emitOpError() << "unknown pz " << (argument ? "argument" : "result")
                             << " attribute '" << n << "'";
  if (argument)
    return std::move(d << " on " << where << " (expected '" << PZDialect::kParamAttrName
                       << "', '" << PZDialect::kInputAttrName << "', '"
                       << PZDialect::kGradAttrName << "', '" << PZDialect::kStateAttrName
                       << "', '" << PZDialect::kAccumAttrName << "' or '"
                       << PZDialect::kRoleAttrName << "'; '" << PZDialect::kOutputAttrName
                       << "' only on an out-parameter)");
  return std::move(d << " (expected '" << PZDialect::kOutputAttrName << "', '"
                     << PZDialect::kGradAttrName << "', '" << PZDialect::kParamAttrName
                     << "', '" << PZDialect::kStateAttrName << "', '"
                     << PZDialect::kAccumAttrName << "' or '" << PZDialect::kRoleAttrName
                     << "')");
}

LogicalResult PZDialect::verifyRegionArgAttribute(Operation *op,
                                                  unsigned regionIndex,
                                                  unsigned argIndex,
                                                  NamedAttribute attr) {
  StringRef attrName = attr.getName().getValue();
  std::string where = "argument " + std::to_string(argIndex);
  if (attrName == kShardPrefixAttrName || attrName == kFlatShardAttrName ||
      attrName == kBoxShardAttrName)
    return verifyShardAttr(op, attr, where);
  auto fn = llvm::dyn_cast<FunctionOpInterface>(op);
  // An out-parameter of a host function (pzrt level) carries its result's
  // attributes.
  bool outParam = fn && fn.getArgAttr(argIndex, "pzrt.result");
  if (!isKnownRoleAttr(attrName) || (attrName == kOutputAttrName && !outParam))
    return unknownAttr(op, attrName, where, /*argument=*/true);
  Type type;
  if (fn)
    type = fn.getArgumentTypes()[argIndex];
  else if (!op->getRegion(regionIndex).empty())
    type = op->getRegion(regionIndex).getArgument(argIndex).getType();
  if (type && failed(traits::verifyBoundedTensorSize(
                  type, [&] { return op->emitOpError(); }, where)))
    return failure();
  if (attrName == kRoleAttrName)
    return verifyRoleAttr(op, attr, type, where);
  if (failed(verifyNameAttr(op, attr, where)))
    return failure();
  if (type && attrName == kParamAttrName) {
    // A tensor in the graph; a buffer at the runtime-call level.
    auto shaped = llvm::dyn_cast<ShapedType>(type);
    if (!shaped || !shaped.hasRank() || !llvm::isa<FloatType>(shaped.getElementType()))
      return op->emitOpError() << "parameter '"
                               << llvm::cast<StringAttr>(attr.getValue())
                                      .getValue()
                               << "' (" << where
                               << ") must be a ranked float tensor, got "
                               << type;
  }
  // A name appears once per function for each kind of attribute.
  if (!fn)
    return success();
  for (unsigned i = 0; i < argIndex; ++i) {
    // A stage's tensor it receives and the one it sends (an out-parameter)
    // share their pz.pipe name.
    if (attrName == kPipeAttrName &&
        static_cast<bool>(fn.getArgAttr(i, "pzrt.result")) != outParam)
      continue;
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
  std::string where = "result " + std::to_string(resultIndex);
  if (n == kShardPrefixAttrName)
    return verifyShardAttr(op, attr, where);
  if (!isKnownRoleAttr(n) || n == kInputAttrName)
    return unknownAttr(op, n, where, /*argument=*/false);
  if (n == kRoleAttrName) {
    auto fn = llvm::dyn_cast<FunctionOpInterface>(op);
    return verifyRoleAttr(op, attr, fn ? fn.getResultTypes()[resultIndex] : Type(), where);
  }
  return verifyNameAttr(op, attr, where);
}

LogicalResult PZDialect::verifyOperationAttribute(Operation *op,
                                                  NamedAttribute attr) {
  if (attr.getName().getValue() == kLRScheduleAttrName) {
    if (!llvm::isa<LRScheduleAttr>(attr.getValue()) || !llvm::isa<FunctionOpInterface>(op))
      return op->emitOpError() << "'" << kLRScheduleAttrName
                               << "' must be a #pz.lr_schedule on a function";
    return success();
  }
  if (attr.getName().getValue() == kLossScalingAttrName) {
    if (!llvm::isa<LossScalingAttr>(attr.getValue()) || !llvm::isa<ModuleOp>(op))
      return op->emitOpError() << "'" << kLossScalingAttrName
                               << "' must be a #pz.loss_scaling on the module";
    return success();
  }
  // A collective's reason (#pzrt.reason<kind, source>) and the gradients of
  // a bucket, set by the plan passes (pz-data-parallel).
  if (attr.getName().getValue() == "pz.comm") {
    if (attr.getValue().getDialect().getNamespace() != "pzrt")
      return op->emitOpError() << "'pz.comm' must be a #pzrt.reason<kind, source>";
    return success();
  }
  if (attr.getName().getValue() == kVocabAttrName) {
    auto v = llvm::dyn_cast<IntegerAttr>(attr.getValue());
    if (!v || v.getInt() <= 0 || !llvm::isa<FunctionOpInterface>(op))
      return op->emitOpError() << "'" << kVocabAttrName
                               << "' must be a positive integer on a function";
    return success();
  }
  if (attr.getName().getValue() == kSavedActivationBytesAttrName) {
    auto v = llvm::dyn_cast<IntegerAttr>(attr.getValue());
    if (!v || v.getInt() < 0 || !llvm::isa<FunctionOpInterface>(op))
      return op->emitOpError() << "'" << kSavedActivationBytesAttrName
                               << "' must be a non-negative integer on a function";
    return success();
  }
  if (attr.getName().getValue() == kRecomputedBytesAttrName) {
    if (!llvm::isa<IntegerAttr>(attr.getValue()) || !llvm::isa<ModuleOp>(op))
      return op->emitOpError() << "'" << kRecomputedBytesAttrName
                               << "' must be an integer on a module";
    return success();
  }
  if (attr.getName().getValue() == kRecomputedBytesByLayerAttrName) {
    auto d = llvm::dyn_cast<DictionaryAttr>(attr.getValue());
    if (!d || !llvm::isa<ModuleOp>(op) || !llvm::all_of(d, [](NamedAttribute e) {
          return llvm::isa<IntegerAttr>(e.getValue());
        }))
      return op->emitOpError() << "'" << kRecomputedBytesByLayerAttrName
                               << "' must be a dictionary of layer names to integers on a "
                                  "module";
    return success();
  }
  if (attr.getName().getValue() == kSplitGroupsAttrName) {
    auto d = llvm::dyn_cast<DictionaryAttr>(attr.getValue());
    if (!d || !llvm::isa<ModuleOp>(op) || !llvm::all_of(d, [](NamedAttribute e) {
          auto g = llvm::dyn_cast<DenseI64ArrayAttr>(e.getValue());
          return g && g.size() == 2 && g[0] >= 2 && g[1] >= 0;
        }))
      return op->emitOpError() << "'" << kSplitGroupsAttrName
                               << "' must be a dictionary of parameter names to [groups, dim] "
                                  "(groups at least 2) on the module";
    return success();
  }
  if (attr.getName().getValue() == kStageAttrName) {
    auto d = llvm::dyn_cast<DictionaryAttr>(attr.getValue());
    auto index = d ? d.getAs<IntegerAttr>("index") : IntegerAttr();
    if (!index || index.getInt() < 0 || !llvm::isa<ModuleOp>(op))
      return op->emitOpError() << "'" << kStageAttrName
                               << "' must be a dictionary with a non-negative 'index' on a module";
    return success();
  }
  if (attr.getName().getValue() == kTiedStagesAttrName) {
    auto d = llvm::dyn_cast<DictionaryAttr>(attr.getValue());
    if (!d || !llvm::isa<ModuleOp>(op) || !llvm::all_of(d, [](NamedAttribute e) {
          auto m = llvm::dyn_cast<IntegerAttr>(e.getValue());
          return m && llvm::popcount(static_cast<uint64_t>(m.getInt())) >= 2;
        }))
      return op->emitOpError() << "'" << kTiedStagesAttrName
                               << "' must be a dictionary of parameter names to stage masks "
                                  "(two stages or more) on a module";
    return success();
  }
  if (attr.getName().getValue() == "pz.bucket") {
    auto names = llvm::dyn_cast<ArrayAttr>(attr.getValue());
    if (!names || names.empty() ||
        !llvm::all_of(names, [](Attribute a) { return llvm::isa<StringAttr>(a); }))
      return op->emitOpError() << "'pz.bucket' must be a non-empty array of gradient names";
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

DictionaryAttr mlir::pz::withRole(DictionaryAttr attrs, Role role) {
  NamedAttrList list(attrs);
  list.set(PZDialect::kRoleAttrName, RoleAttr::get(attrs.getContext(), role));
  return list.getDictionary(attrs.getContext());
}

std::optional<Role> mlir::pz::argRole(Operation *op, unsigned i) {
  auto fn = llvm::cast<FunctionOpInterface>(op);
  if (auto r = fn.getArgAttrOfType<RoleAttr>(i, PZDialect::kRoleAttrName))
    return r.getValue();
  return std::nullopt;
}

std::optional<Role> mlir::pz::resultRole(Operation *op, unsigned i) {
  auto fn = llvm::cast<FunctionOpInterface>(op);
  if (auto r = fn.getResultAttrOfType<RoleAttr>(i, PZDialect::kRoleAttrName))
    return r.getValue();
  return std::nullopt;
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
