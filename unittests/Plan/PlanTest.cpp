//===- PlanTest.cpp - plan validation and plan.yaml -----------------------===//

#include "pz/Plan/Plan.h"
#include "pz/Support/Limits.h"
#include "pz/Support/NestingDepth.h"

#include "llvm/Support/Error.h"
#include "gtest/gtest.h"

#include <algorithm>

using namespace mlir::pz;

namespace {

std::string errorOf(llvm::StringRef yaml) {
  auto plan = parsePlanYAML(yaml, "plan.yaml");
  if (plan)
    return "";
  return llvm::toString(plan.takeError());
}

TEST(Plan, DefaultsAreValidAndSingleRank) {
  Plan p;
  EXPECT_TRUE(validatePlan(p).empty());
  EXPECT_EQ(p.worldSize(), 1);
}

TEST(Plan, WorldSizeIsTheProductOfTheAxes) {
  Plan p;
  p.dpReplicate = 2;
  p.dpShard = 3;
  p.zero = 1;
  p.tp = 4;
  p.cp = 5;
  p.pp = 7;
  EXPECT_EQ(p.worldSize(), 2 * 3 * 4 * 5 * 7);
}

TEST(Plan, FlagNamesFollowKeys) {
  EXPECT_EQ(flagForKey("dp_replicate"), "--dp-replicate");
  EXPECT_EQ(flagForKey("virtual_stages"), "--virtual-stages");
  EXPECT_EQ(flagForKey("tp"), "--tp");
}

TEST(Plan, ParsesEveryKey) {
  auto plan = parsePlanYAML("dp_replicate: 2\n"
                            "dp_shard: 2\n"
                            "zero: 3\n"
                            "tp: 2\n"
                            "sp: true\n"
                            "cp: 1\n"
                            "pp: 2\n"
                            "schedule: interleaved\n"
                            "grad_accum: 4\n"
                            "virtual_stages: 2\n"
                            "recompute: selective\n"
                            "precision: bf16\n",
                            "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(plan)) << llvm::toString(plan.takeError());
  EXPECT_EQ(plan->dpReplicate, 2);
  EXPECT_EQ(plan->dpShard, 2);
  EXPECT_EQ(plan->zero, 3);
  EXPECT_EQ(plan->tp, 2);
  EXPECT_TRUE(plan->sp);
  EXPECT_EQ(plan->pp, 2);
  EXPECT_EQ(plan->schedule, Schedule::Interleaved);
  EXPECT_EQ(plan->gradAccum, 4);
  EXPECT_EQ(plan->virtualStages, 2);
  EXPECT_EQ(plan->recompute, Recompute::Selective);
  EXPECT_EQ(plan->precision, Precision::BF16);
  EXPECT_EQ(plan->worldSize(), 16);
}

TEST(Plan, BucketMbDefaultsTo25AndReadsBack) {
  EXPECT_EQ(Plan().bucketMb, 25);
  auto plan = parsePlanYAML("dp_replicate: 2\nbucket_mb: 0\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(plan)) << llvm::toString(plan.takeError());
  EXPECT_EQ(plan->bucketMb, 0);
  EXPECT_EQ(getPlanKey(*plan, "bucket_mb"), "0");
  Plan p;
  p.bucketMb = 7;
  auto back = parsePlanYAML(printPlanYAML(p), "out.yaml");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_EQ(back->bucketMb, 7);
  EXPECT_TRUE(*back == p);
  EXPECT_FALSE(*back == Plan());
}

TEST(Plan, MicrobatchesIsAnAliasOfGradAccum) {
  auto plan = parsePlanYAML("microbatches: 8\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(plan)) << llvm::toString(plan.takeError());
  EXPECT_EQ(plan->gradAccum, 8);
  EXPECT_NE(errorOf("microbatches: 8\ngrad_accum: 4\n")
                .find("plan key 'microbatches': is an alias of grad_accum"),
            std::string::npos);
}

TEST(Plan, PrintedYAMLReadsBack) {
  Plan p;
  p.tp = 2;
  p.sp = true;
  p.pp = 4;
  p.schedule = Schedule::GPipe;
  p.gradAccum = 8;
  p.recompute = Recompute::Full;
  p.precision = Precision::FP16;
  auto back = parsePlanYAML(printPlanYAML(p), "out.yaml");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(*back == p);
}

TEST(Plan, StageBoundariesReadAsASequenceOrACommaList) {
  auto flow = parsePlanYAML("pp: 3\nstage_boundaries: [h.2, \"h.5\"]\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(flow)) << llvm::toString(flow.takeError());
  EXPECT_EQ(flow->stageBoundaries, (std::vector<std::string>{"h.2", "h.5"}));
  auto block = parsePlanYAML("pp: 3\nstage_boundaries:\n  - h.2\n  - h.5\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(block)) << llvm::toString(block.takeError());
  EXPECT_TRUE(*block == *flow);
  auto scalar = parsePlanYAML("pp: 3\nstage_boundaries: h.2, h.5\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(scalar)) << llvm::toString(scalar.takeError());
  EXPECT_TRUE(*scalar == *flow);
  EXPECT_EQ(getPlanKey(*flow, "stage_boundaries"), "h.2,h.5");
  // Empty forms are the default.
  for (const char *empty : {"stage_boundaries: []\n", "stage_boundaries:\n",
                            "stage_boundaries: ''\n"}) {
    auto plan = parsePlanYAML(empty, "plan.yaml");
    ASSERT_TRUE(static_cast<bool>(plan)) << empty << llvm::toString(plan.takeError());
    EXPECT_TRUE(plan->stageBoundaries.empty()) << empty;
    EXPECT_TRUE(*plan == Plan()) << empty;
  }
}

TEST(Plan, StageBoundariesSetFromText) {
  Plan p;
  EXPECT_FALSE(setPlanKey(p, "stage_boundaries", "h.2, h.5 ,h.7"));
  EXPECT_EQ(p.stageBoundaries, (std::vector<std::string>{"h.2", "h.5", "h.7"}));
  EXPECT_FALSE(setPlanKey(p, "stage_boundaries", ""));
  EXPECT_TRUE(p.stageBoundaries.empty());
  EXPECT_TRUE(isListPlanKey("stage_boundaries"));
  EXPECT_FALSE(isListPlanKey("pp"));
  EXPECT_EQ(flagForKey("stage_boundaries"), "--stage-boundaries");
}

TEST(Plan, StageBoundariesReadBack) {
  Plan p;
  p.pp = 5;
  p.stageBoundaries = {"h.2", "layers/3", "odd name: \"x\"", "~"};
  std::string yaml = printPlanYAML(p);
  EXPECT_NE(yaml.find("virtual_stages: 1\nstage_boundaries: [h.2, layers/3, "
                      "\"odd name: \\\"x\\\"\", \"~\"]\nrecompute: none\n"),
            std::string::npos)
      << yaml;
  auto back = parsePlanYAML(yaml, "out.yaml");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(*back == p);
  EXPECT_NE(printPlanYAML(Plan()).find("stage_boundaries: []\n"), std::string::npos);
  p.stageBoundaries = {"a", "b", "c", "d"};
  EXPECT_FALSE(*back == p);
}

TEST(PlanYAML, StageBoundaryItemsMustBeScalars) {
  EXPECT_EQ(errorOf("pp: 2\nstage_boundaries: [[h.2]]\n"),
            "plan.yaml:2:21: an item of plan key 'stage_boundaries' must be a "
            "single value, got a sequence");
  EXPECT_EQ(errorOf("pp: 2\nstage_boundaries: {h: 2}\n"),
            "plan.yaml:2:20: plan key 'stage_boundaries' must be a single value, "
            "got a mapping");
  // Other keys still refuse a sequence.
  EXPECT_EQ(errorOf("pp: [2]\n"),
            "plan.yaml:1:6: plan key 'pp' must be a single value, got a sequence");
  std::string err = errorOf("pp: 2\nstage_boundaries: [" +
                            std::string(100000, '[') + "\n");
  EXPECT_NE(err.find("nested deeper than 256 levels"), std::string::npos) << err;
}

TEST(Plan, StageBoundariesValidation) {
  Plan p;
  p.stageBoundaries = {"fc2"};
  std::vector<PlanError> errors = validatePlan(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "stage_boundaries");
  EXPECT_EQ(errors[0].message,
            "names the layers that start pipeline stages and needs pp > 1, got pp = 1");
  p.pp = 2;
  EXPECT_TRUE(validatePlan(p).empty());
  p.pp = 3;
  errors = validatePlan(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message,
            "names 1 layer; pp x virtual_stages = 3 x 1 stages need 2");
  // Interleaved: pp x virtual_stages chunks.
  p.pp = 2;
  p.virtualStages = 2;
  p.schedule = Schedule::Interleaved;
  p.gradAccum = 2;
  p.stageBoundaries = {"h.1", "h.2", "h.3"};
  EXPECT_TRUE(validatePlan(p).empty());
}

TEST(Plan, StageBoundaryErrorsNameTheKeyInYAML) {
  EXPECT_EQ(errorOf("pp: 2\nstage_boundaries: [fc1, fc2]\n"),
            "plan.yaml:2:1: plan key 'stage_boundaries': names 2 layers; pp x "
            "virtual_stages = 2 x 1 stages need 1");
  EXPECT_EQ(errorOf("stage_boundaries: [fc2]\n"),
            "plan.yaml:1:1: plan key 'stage_boundaries': names the layers that start "
            "pipeline stages and needs pp > 1, got pp = 1");
  EXPECT_EQ(errorOf("pp: 3\nstage_boundaries: [h.2, h.2]\n"),
            "plan.yaml:2:1: plan key 'stage_boundaries': 'h.2' is named twice "
            "(items 1 and 2)");
  EXPECT_EQ(errorOf("pp: 3\nstage_boundaries: [h.2, '']\n"),
            "plan.yaml:2:1: plan key 'stage_boundaries': item 2 is empty; each "
            "item names a layer");
  EXPECT_EQ(errorOf("pp: 4\nstage_boundaries: h.2,,h.5\n"),
            "plan.yaml:2:1: plan key 'stage_boundaries': item 2 is empty; each "
            "item names a layer");
  EXPECT_EQ(errorOf("pp: 2\nstage_boundaries: [\"a,b\"]\n"),
            "plan.yaml:2:1: plan key 'stage_boundaries': 'a,b' holds a comma; a "
            "layer name cannot (the flag separates names by commas)");
  // A million empty names are one error, not a million.
  std::string many = "pp: 2\nstage_boundaries: [";
  for (int i = 0; i < 100000; ++i)
    many += "'',";
  many += "'']\n";
  std::string err = errorOf(many);
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err.substr(0, 500);
}

TEST(Plan, RecomputeLayersReadAsASequenceOrACommaList) {
  auto flow = parsePlanYAML("recompute: [h.0, \"h.2\"]\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(flow)) << llvm::toString(flow.takeError());
  EXPECT_EQ(flow->recompute, Recompute::Layers);
  EXPECT_EQ(flow->recomputeLayers, (std::vector<std::string>{"h.0", "h.2"}));
  auto block = parsePlanYAML("recompute:\n  - h.0\n  - h.2\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(block)) << llvm::toString(block.takeError());
  EXPECT_TRUE(*block == *flow);
  auto scalar = parsePlanYAML("recompute: h.0, h.2\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(scalar)) << llvm::toString(scalar.takeError());
  EXPECT_TRUE(*scalar == *flow);
  EXPECT_EQ(getPlanKey(*flow, "recompute"), "h.0,h.2");
  // One name is a list of one; a mode is a mode.
  auto one = parsePlanYAML("recompute: h.1\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(one)) << llvm::toString(one.takeError());
  EXPECT_EQ(one->recomputeLayers, (std::vector<std::string>{"h.1"}));
  auto mode = parsePlanYAML("recompute: [full]\n", "plan.yaml");
  EXPECT_FALSE(static_cast<bool>(mode));
  llvm::consumeError(mode.takeError());
  // The empty list recomputes nothing: none.
  auto empty = parsePlanYAML("recompute: []\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(empty)) << llvm::toString(empty.takeError());
  EXPECT_TRUE(*empty == Plan());
  EXPECT_TRUE(isListPlanKey("recompute"));
}

TEST(Plan, RecomputeSetFromText) {
  Plan p;
  EXPECT_FALSE(setPlanKey(p, "recompute", "h.0, layers.3 ,h.7"));
  EXPECT_EQ(p.recompute, Recompute::Layers);
  EXPECT_EQ(p.recomputeLayers, (std::vector<std::string>{"h.0", "layers.3", "h.7"}));
  EXPECT_TRUE(validatePlan(p).empty());
  EXPECT_FALSE(setPlanKey(p, "recompute", "selective"));
  EXPECT_EQ(p.recompute, Recompute::Selective);
  EXPECT_TRUE(p.recomputeLayers.empty());
  EXPECT_EQ(getPlanKey(p, "recompute"), "selective");
  std::optional<PlanError> err = setPlanKey(p, "recompute", " ");
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->key, "recompute");
}

TEST(Plan, RecomputeLayersReadBack) {
  Plan p;
  p.pp = 2;
  p.recompute = Recompute::Layers;
  p.recomputeLayers = {"h.0", "model/layers 3", "~"};
  std::string yaml = printPlanYAML(p);
  EXPECT_NE(yaml.find("\nrecompute: [h.0, \"model/layers 3\", \"~\"]\nprecision: fp32\n"),
            std::string::npos)
      << yaml;
  auto back = parsePlanYAML(yaml, "out.yaml");
  ASSERT_TRUE(static_cast<bool>(back)) << llvm::toString(back.takeError());
  EXPECT_TRUE(*back == p);
  p.recomputeLayers = {"h.0"};
  EXPECT_FALSE(*back == p);
}

TEST(Plan, RecomputeLayersValidation) {
  Plan p;
  p.recompute = Recompute::Layers;
  std::vector<PlanError> errors = validatePlan(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "recompute");
  EXPECT_EQ(errors[0].message, "names no layer; give none, selective, full or layer names");
  p.recomputeLayers = {"h.0"};
  p.recompute = Recompute::Full;
  errors = validatePlan(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "is 'full' and also names layers");
  // With and without pipeline stages.
  p.recompute = Recompute::Layers;
  EXPECT_TRUE(validatePlan(p).empty());
  p.pp = 4;
  EXPECT_TRUE(validatePlan(p).empty());
}

TEST(Plan, RecomputeLayerErrorsNameTheKeyInYAML) {
  EXPECT_EQ(errorOf("recompute: [h.2, h.0, h.2]\n"),
            "plan.yaml:1:1: plan key 'recompute': 'h.2' is named twice "
            "(items 1 and 3)");
  EXPECT_EQ(errorOf("recompute: h.2,,h.5\n"),
            "plan.yaml:1:1: plan key 'recompute': item 2 is empty; each "
            "item names a layer");
  EXPECT_EQ(errorOf("recompute: [h.0, none]\n"),
            "plan.yaml:1:1: plan key 'recompute': 'none' is a mode, not a layer "
            "name; give it alone");
  EXPECT_EQ(errorOf("recompute: [\"a,b\"]\n"),
            "plan.yaml:1:1: plan key 'recompute': 'a,b' holds a comma; a "
            "layer name cannot (the flag separates names by commas)");
  EXPECT_EQ(errorOf("recompute: [[h.2]]\n"),
            "plan.yaml:1:14: an item of plan key 'recompute' must be a "
            "single value, got a sequence");
}

TEST(Plan, ErrorsNameFileLineColumnAndKey) {
  std::string err = errorOf("tp: 2\npp: 0\n");
  EXPECT_EQ(err, "plan.yaml:2:1: plan key 'pp': must be a positive integer, "
                 "got 0");
}

TEST(Plan, BadValuesNameTheKey) {
  EXPECT_EQ(errorOf("tp: two\n"),
            "plan.yaml:1:1: plan key 'tp': expected an integer, got 'two'");
  EXPECT_EQ(errorOf("schedule: 2f2b\n"),
            "plan.yaml:1:1: plan key 'schedule': expected one of gpipe, 1f1b, "
            "interleaved, zb, got '2f2b'");
  EXPECT_EQ(errorOf("sp: maybe\n"),
            "plan.yaml:1:1: plan key 'sp': expected true or false, got "
            "'maybe'");
  EXPECT_EQ(errorOf("precision: fp8\n"),
            "plan.yaml:1:1: plan key 'precision': expected one of fp32, bf16, "
            "fp16, got 'fp8'");
  // A recompute value that is not a mode names layers (pz-recompute
  // refuses a name no layer has); an empty one is neither.
  EXPECT_EQ(errorOf("recompute: ''\n"),
            "plan.yaml:1:1: plan key 'recompute': expected none, selective, "
            "full or layer names, got ''");
}

TEST(Plan, UnknownKeyListsTheKnownOnes) {
  std::string err = errorOf("tp: 2\ntensor_parallel: 2\n");
  EXPECT_NE(err.find("plan.yaml:2:1: plan key 'tensor_parallel': unknown plan "
                     "key; the keys are dp_replicate"),
            std::string::npos)
      << err;
}

TEST(Plan, AllErrorsAreReportedAtOnce) {
  std::string err = errorOf("tp: 0\npp: -1\n");
  EXPECT_NE(err.find("plan key 'tp'"), std::string::npos) << err;
  EXPECT_NE(err.find("plan key 'pp'"), std::string::npos) << err;
}

TEST(Plan, MalformedYAMLIsAnError) {
  EXPECT_NE(errorOf("tp: [1, 2\n"), "");
  EXPECT_NE(errorOf("- 1\n- 2\n"), "");
  EXPECT_NE(errorOf(""), "");
  EXPECT_NE(errorOf("tp: 2\ntp: 3\n"), "");
}

TEST(Plan, AxesAreBounded) {
  EXPECT_NE(errorOf("tp: 65537\n").find("plan key 'tp': must be at most 65536"),
            std::string::npos);
  EXPECT_NE(errorOf("grad_accum: 1048577\n")
                .find("plan key 'grad_accum': must be at most 1048576"),
            std::string::npos);
  // Digits beyond int64 get the bound, not "not an integer".
  EXPECT_NE(errorOf("pp: 99999999999999999999\n").find("must be at most 65536"),
            std::string::npos);
  EXPECT_TRUE(static_cast<bool>(parsePlanYAML("tp: 65536\ngrad_accum: 1048576\n", "p.yaml")));
}

TEST(Plan, WorldSizeIsCheckedAndBounded) {
  Plan p;
  p.dpReplicate = int64_t(1) << 32;
  p.tp = int64_t(1) << 32;
  EXPECT_FALSE(p.checkedWorldSize()); // 2^64 does not fit int64_t
  p.dpReplicate = 1024;
  p.tp = 2048;
  ASSERT_TRUE(p.checkedWorldSize());
  EXPECT_EQ(*p.checkedWorldSize(), int64_t(1) << 21);
  std::vector<PlanError> errors = validatePlan(p);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].key, "tp");
  EXPECT_NE(errors[0].message.find("= 2097152 exceeds 1048576 ranks"), std::string::npos)
      << errors[0].message;
  p.tp = 1024;
  EXPECT_TRUE(validatePlan(p).empty());
  EXPECT_EQ(p.worldSize(), int64_t(1) << 20);
}

TEST(PlanYAML, DeepNestingIsAnErrorNotARecursion) {
  std::string err = errorOf(std::string(100000, '['));
  EXPECT_NE(err.find("plan.yaml:1:"), std::string::npos) << err;
  EXPECT_NE(err.find("nested deeper than 256 levels"), std::string::npos) << err;
  std::string dashes;
  for (int i = 0; i < 50000; ++i)
    dashes += "- ";
  err = errorOf(dashes + "x\n");
  EXPECT_NE(err.find("nested deeper than 256 levels"), std::string::npos) << err;
  err = errorOf("? " + std::string(100000, '[') + "\n: 1\n"); // an explicit key
  EXPECT_NE(err.find("nested deeper than 256 levels"), std::string::npos) << err;
}

TEST(PlanYAML, ValuesAndKeysMustBeScalars) {
  EXPECT_EQ(errorOf("tp: [2]\n"),
            "plan.yaml:1:6: plan key 'tp' must be a single value, got a sequence");
  EXPECT_EQ(errorOf("tp: {a: 1}\n"),
            "plan.yaml:1:6: plan key 'tp' must be a single value, got a mapping");
  EXPECT_EQ(errorOf("[tp]: 2\n"),
            "plan.yaml:1:2: a plan key must be a single value, got a sequence");
}

TEST(PlanYAML, ErrorsStopAtTwenty) {
  std::string yaml;
  for (int i = 0; i < 1000; ++i)
    yaml += "k" + std::to_string(i) + ": 1\n";
  std::string err = errorOf(yaml);
  size_t lines = std::count(err.begin(), err.end(), '\n') + 1;
  EXPECT_EQ(lines, kMaxPlanErrors + 1) << err;
  EXPECT_NE(err.find("plan.yaml:20:1: plan key 'k19'"), std::string::npos) << err;
  EXPECT_EQ(err.find("'k20'"), std::string::npos) << err;
  EXPECT_NE(err.find("plan.yaml: ... and 980 more errors"), std::string::npos) << err;
}

TEST(PlanYAML, OneDocumentOnly) {
  EXPECT_EQ(errorOf("tp: 2\n---\npp: 2\n"),
            "plan.yaml:2:1: a second YAML document; a plan file holds one document");
  EXPECT_EQ(errorOf("---\n---\ntp: 2\n"),
            "plan.yaml:2:1: a second YAML document; a plan file holds one document");
  EXPECT_EQ(errorOf("tp: 2\n...\n# done\npp: 2\n"),
            "plan.yaml:4:1: a second YAML document; a plan file holds one document");
  auto plan = parsePlanYAML("%YAML 1.2\n--- # plan\ntp: 2\n...\n# end\n", "plan.yaml");
  ASSERT_TRUE(static_cast<bool>(plan)) << llvm::toString(plan.takeError());
  EXPECT_EQ(plan->tp, 2);
  // A block scalar's text may hold '---' indented: not a document marker.
  EXPECT_NE(errorOf("schedule: |\n  ---\n").find("plan key 'schedule': expected one of"),
            std::string::npos);
}

TEST(PlanYAML, KeysGivenTwice) {
  EXPECT_EQ(errorOf("tp: 2\npp: 2\ntp: 4\n"),
            "plan.yaml:3:1: plan key 'tp': given twice (first at 1:1)");
}

TEST(Limits, ElementCountsAreBounded) {
  EXPECT_EQ(boundedElementCount({}), 1);
  EXPECT_EQ(boundedElementCount({2, 3, 4}), 24);
  EXPECT_EQ(boundedElementCount({int64_t(1) << 24, int64_t(1) << 24}), int64_t(1) << 48);
  EXPECT_FALSE(boundedElementCount({int64_t(1) << 24, (int64_t(1) << 24) + 1}));
  EXPECT_FALSE(boundedElementCount({int64_t(1) << 62, 32})); // overflows int64
  // A zero dim makes the count 0 but does not lift the bound on the others.
  EXPECT_EQ(boundedElementCount({0, 5}), 0);
  EXPECT_FALSE(boundedElementCount({0, int64_t(1) << 40, int64_t(1) << 40}));
  EXPECT_EQ(boundedBytes(int64_t(1) << 48, 8), int64_t(1) << 51);
  EXPECT_FALSE(boundedBytes(int64_t(1) << 48, 16));
  EXPECT_FALSE(boundedTotal(kMaxTotalBytes, 1));
  EXPECT_FALSE(boundedTotalProduct(int64_t(1) << 40, int64_t(1) << 40));
}

TEST(NestingDepth, CountsBracketsOutsideStringsAndComments) {
  EXPECT_EQ(findDeepMLIRNesting("[[[", 3), llvm::StringRef::npos);
  EXPECT_EQ(findDeepMLIRNesting("[[[[", 3), 3u);
  EXPECT_EQ(findDeepMLIRNesting("([{<x>}])([{<", 4), llvm::StringRef::npos);
  EXPECT_EQ(findDeepMLIRNesting("a<b<c<d<", 3), 7u);
  // Closed brackets do not count; strings, comments and '->' are skipped.
  EXPECT_EQ(findDeepMLIRNesting("[][][][][]", 1), llvm::StringRef::npos);
  EXPECT_EQ(findDeepMLIRNesting("\"[[[[\\\"[[\" // [[[[\n[", 1), llvm::StringRef::npos);
  EXPECT_EQ(findDeepMLIRNesting("(a) -> (b) -> (c)", 1), llvm::StringRef::npos);
  EXPECT_EQ(findDeepMLIRNesting("(->(", 1), 3u);
  // A closer that matches nothing does not lower the count.
  EXPECT_EQ(findDeepMLIRNesting("[(]((", 3), 4u);
  std::string deep(100000, '[');
  EXPECT_EQ(findDeepMLIRNesting(deep), static_cast<size_t>(kMaxNestingDepth));
}

// LLVM's YAML I/O crashed (a null node) on a document whose root is an
// alias; found by the plan-yaml fuzz target.
TEST(Plan, AliasAsTheDocumentIsAnError) {
  std::string err = errorOf("*a=scaral &a4\n");
  EXPECT_NE(err.find("plan.yaml:1:1: the plan must be a mapping of plan keys"),
            std::string::npos)
      << err;
  EXPECT_NE(errorOf("*a\n"), "");
  EXPECT_NE(errorOf("tp: *a\n"), "");
  EXPECT_NE(errorOf("*a : 2\n"), "");
  // A control character is the parser's error, reported first.
  err = errorOf("*a=scar\naha\016 4;");
  EXPECT_NE(err.find("plan.yaml:2:4: "), std::string::npos) << err;
  // The alias node's source range lies past it (here past the text): the
  // location comes from its name.
  err = errorOf("\n  *b\n");
  EXPECT_NE(err.find("plan.yaml:2:3: the plan must be a mapping"),
            std::string::npos)
      << err;
  err = errorOf("recompute: *a=full");
  EXPECT_NE(err.find("plan.yaml:1:12: "), std::string::npos) << err;
}

struct RuleCase {
  const char *yaml;
  const char *key;
  const char *fragment;
};

class PlanRules : public ::testing::TestWithParam<RuleCase> {};

TEST_P(PlanRules, RejectsWithKeyAndReason) {
  const RuleCase &c = GetParam();
  std::string err = errorOf(c.yaml);
  EXPECT_NE(err.find(std::string("plan key '") + c.key + "'"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(c.fragment), std::string::npos) << err;
}

INSTANTIATE_TEST_SUITE_P(
    Validation, PlanRules,
    ::testing::Values(
        RuleCase{"dp_replicate: 0\n", "dp_replicate", "positive integer"},
        RuleCase{"tp: -2\n", "tp", "positive integer"},
        RuleCase{"cp: 0\n", "cp", "positive integer"},
        RuleCase{"grad_accum: 0\n", "grad_accum", "positive integer"},
        RuleCase{"bucket_mb: -1\n", "bucket_mb", "0 (a bucket per gradient) or a positive"},
        RuleCase{"bucket_mb: 1048577\n", "bucket_mb", "must be at most 1048576"},
        RuleCase{"zero: 4\ndp_shard: 2\n", "zero", "must be 0, 1, 2 or 3"},
        RuleCase{"zero: 2\n", "zero", "dp_shard axis, which is 1"},
        RuleCase{"dp_shard: 4\n", "dp_shard", "needs zero 1, 2 or 3"},
        RuleCase{"sp: true\n", "sp", "needs tp > 1"},
        RuleCase{"schedule: interleaved\nvirtual_stages: 2\n", "schedule",
                 "needs pp > 1"},
        RuleCase{"schedule: zb\n", "schedule", "needs pp > 1"},
        RuleCase{"pp: 2\nschedule: interleaved\ngrad_accum: 2\n",
                 "virtual_stages", "needs virtual_stages >= 2"},
        RuleCase{"pp: 2\nvirtual_stages: 2\ngrad_accum: 2\n", "virtual_stages",
                 "needs schedule 'interleaved'"},
        RuleCase{"pp: 2\nschedule: interleaved\nvirtual_stages: 2\n"
                 "grad_accum: 3\n",
                 "grad_accum", "must be a multiple of pp (2)"}));

} // namespace
