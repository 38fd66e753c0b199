// ZeRO flat sharding in the training driver: the shard placement over the
// grid, the checks of flat-sharded specs, initial weights and checkpoints of
// flat shards (saved by several ranks as threads, reloaded under other
// layouts), a whole run that saves flat optimizer states and resumes
// unsharded and back, and pzrt_chunk_on.
#include "pzrt/exec.h"
#include "train/train_internal.h"

#include "thread_comm.h"
#include "train_test_models.h"

namespace {

namespace tr = pzrt::train;

// ------------------------------------------------------------ placement

TEST(ZeroPlacement, CoordinatesFollowTheGridOrder) {
  pzrt_program m{};
  const int32_t grid[PZRT_AXIS_COUNT] = {1, 2, 3, 1, 2}; // pp, rep, shard, cp, tp: 12 ranks
  std::copy(grid, grid + PZRT_AXIS_COUNT, m.grid);
  const uint32_t shard = 1u << PZRT_AXIS_DP_SHARD;
  const uint32_t repTp = (1u << PZRT_AXIS_DP_REPLICATE) | (1u << PZRT_AXIS_TP);
  // Rank r = ((rep * 3 + shard) * 2 + tp): the last axis varies fastest.
  const int64_t byShard[12] = {0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2};
  const int64_t byRepTp[12] = {0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3};
  for (int r = 0; r < 12; ++r) {
    EXPECT_EQ(tr::axesCoord(&m, shard, r), byShard[r]) << "rank " << r;
    EXPECT_EQ(tr::axesCoord(&m, repTp, r), byRepTp[r]) << "rank " << r;
  }
  EXPECT_EQ(tr::axesSize(&m, shard), 3);
  EXPECT_EQ(tr::axesSize(&m, repTp), 4);
  m.grid[PZRT_AXIS_PP] = 0; // 0 counts as 1
  EXPECT_EQ(tr::axesSize(&m, 1u << PZRT_AXIS_PP), 1);
}

// A flat-sharded spec of `global` shape over the axes in `mask`, chunk c.
pzrt_tensor_spec flatSpec(const char *name, pzrt_dtype dt, const std::vector<int64_t> &global,
                          uint32_t mask, int64_t c) {
  pzrt_tensor_spec s = spec(name, dt, {c});
  s.global_shape = global.data();
  s.global_ndim = static_cast<int32_t>(global.size());
  s.shard_axes = mask;
  return s;
}

const uint32_t kShard = 1u << PZRT_AXIS_DP_SHARD;

TEST(ZeroPlacement, FlatRangesSplitThePaddedTensor) {
  pzrt_program m{};
  m.grid[PZRT_AXIS_DP_SHARD] = 4;
  static const std::vector<int64_t> g = {5, 7}; // N = 35, c = 9
  pzrt_tensor_spec s = flatSpec("w", PZRT_F32, g, kShard, 9);
  const int64_t expected[4][2] = {{0, 9}, {9, 18}, {18, 27}, {27, 35}};
  for (int r = 0; r < 4; ++r) {
    tr::FlatRange f = tr::flatRange(&m, s, r);
    EXPECT_EQ(f.begin, expected[r][0]) << "rank " << r;
    EXPECT_EQ(f.end, expected[r][1]) << "rank " << r;
    EXPECT_EQ(f.chunk, 9);
  }
  // N = 5 over 4: c = 2, and the last rank holds only padding.
  static const std::vector<int64_t> five = {5};
  tr::FlatRange last = tr::flatRange(&m, flatSpec("v", PZRT_F32, five, kShard, 2), 3);
  EXPECT_EQ(last.begin, 5);
  EXPECT_EQ(last.end, 5);
}

// ------------------------------------------------------------ spec checks

class ZeroTrainTest : public TrainTest {};

std::string validateError(const pzrt_program &m) {
  try {
    tr::validateModel(&m);
  } catch (const tr::Failure &f) {
    return f.message;
  }
  return "(accepted)";
}

TEST_F(ZeroTrainTest, ValidateChecksFlatSpecs) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 1, false);
  t.model.world_size = 3;
  t.model.grid[PZRT_AXIS_DP_REPLICATE] = 1;
  t.model.grid[PZRT_AXIS_DP_SHARD] = 3;
  static const std::vector<int64_t> g = {16, 16}; // 256 elements: c = ceil(256 / 3) = 86
  t.states[0] = flatSpec("exp_avg:emb", PZRT_F32, g, kShard, 86);
  EXPECT_EQ(validateError(t.model), "(accepted)");
  t.states[0].shape[0] = 85;
  EXPECT_NE(validateError(t.model).find(
                "optimizer state 'exp_avg:emb' of global shape [16, 16] (256 elements) is "
                "flat-sharded over 3 ranks (axis mask 0x4): its chunk must be ceil(256 / 3) = "
                "86 elements, but its local shape is [85]"),
            std::string::npos)
      << validateError(t.model);
  t.states[0].shape[0] = 86;
  static const int64_t offsets[2] = {0, 0};
  t.states[0].offsets = offsets;
  EXPECT_NE(validateError(t.model).find("'exp_avg:emb' is flat-sharded, so it needs a "
                                        "global_shape of global_ndim (0..8) dimensions and no "
                                        "offsets"),
            std::string::npos)
      << validateError(t.model);
  t.states[0].offsets = nullptr;
  t.states[0].ndim = 2;
  t.states[0].shape[1] = 1;
  EXPECT_NE(validateError(t.model).find("its local shape must be 1-D"), std::string::npos)
      << validateError(t.model);
  t.states[0].ndim = 1;
  t.states[0].shard_axes = 1u << 7;
  EXPECT_NE(validateError(t.model).find("axis mask 0x80, which names axes beyond"),
            std::string::npos)
      << validateError(t.model);
  t.states[0].shard_axes = kShard;
  t.inputs[0].shard_axes = kShard;
  EXPECT_NE(validateError(t.model).find("input 0 ('input_ids') is flat-sharded"), std::string::npos)
      << validateError(t.model);
}

// ------------------------------------------------------------ initial weights

std::vector<float> iota(int64_t n, float base) {
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i)
    v.push_back(base + static_cast<float>(i));
  return v;
}

// Buffers of a program's params and states, filled with 0xff bytes (a NaN
// pattern) so that what the driver does not write shows.
void allocGarbage(const pzrt_program &m, tr::Buffers &b) {
  auto one = [](const pzrt_tensor_spec &s) {
    void *p = pzrt_mem_alloc(bytesOf(s), PZRT_MEM_WORKSPACE);
    std::memset(p, 0xff, bytesOf(s));
    return p;
  };
  for (int i = 0; i < m.num_params; ++i)
    b.params.push_back(one(m.params[i]));
  for (int i = 0; i < m.num_states; ++i)
    b.states.push_back(one(m.states[i]));
}

std::vector<float> floats(const void *p, int64_t n) {
  const float *f = static_cast<const float *>(p);
  return std::vector<float>(f, f + n);
}

TEST_F(ZeroTrainTest, InitFileFillsFlatShardsAndZerosThePadding) {
  static const std::vector<int64_t> gw = {5, 7}, gh = {3};
  std::vector<pzrt_tensor_spec> params = {flatSpec("w", PZRT_F32, gw, kShard, 9),
                                          flatSpec("h", PZRT_BF16, gh, kShard, 1)};
  pzrt_program m{};
  m.grid[PZRT_AXIS_DP_SHARD] = 4;
  m.num_params = 2;
  m.params = params.data();
  std::vector<float> w = iota(35, 100), h = {1, 2, 3};
  std::vector<pzrt::StTensor> ts(2);
  ts[0] = {"w", PZRT_F32, {5, 7}, 0, 0, w.data()};
  ts[1] = {"h", PZRT_F32, {3}, 0, 0, h.data()}; // F32 into a bf16 parameter
  std::string path = dir_.file("init.safetensors");
  ASSERT_EQ(pzrt::writeSafetensors(path, ts, {}), 0);
  m.init_file = path.c_str();
  for (int rank : {1, 3}) {
    tr::Buffers b;
    allocGarbage(m, b);
    ASSERT_NO_THROW(tr::loadInitFile(&m, b, rank)) << "rank " << rank;
    std::vector<float> want = rank == 1 ? iota(9, 109) : iota(8, 127);
    if (rank == 3)
      want.push_back(0.0f); // element 35 of the padded 36
    EXPECT_EQ(floats(b.params[0], 9), want) << "rank " << rank;
    // h: c = 1; rank 1 holds element 1 (2.0 = bf16 0x4000), rank 3 only padding.
    EXPECT_EQ(*static_cast<const uint16_t *>(b.params[1]), rank == 1 ? 0x4000 : 0) << rank;
  }
}

// ------------------------------------------------------------ checkpoints

// Params "w" [5, 7] and states "m" [10] (flat over `shards` ranks of
// dp_shard, or plain when shards == 0) and "s" [2] (never sharded).
struct ZeroModel {
  std::vector<int64_t> gw = {5, 7}, gm = {10};
  std::vector<pzrt_tensor_spec> params, states;
  pzrt_program m{};
  explicit ZeroModel(int shards) {
    if (shards > 0) {
      params = {flatSpec("w", PZRT_F32, gw, kShard, (35 + shards - 1) / shards)};
      states = {flatSpec("m", PZRT_F32, gm, kShard, (10 + shards - 1) / shards),
                spec("s", PZRT_F32, {2})};
      m.grid[PZRT_AXIS_DP_SHARD] = shards;
    } else {
      params = {spec("w", PZRT_F32, gw)};
      states = {spec("m", PZRT_F32, gm), spec("s", PZRT_F32, {2})};
    }
    m.num_params = 1;
    m.params = params.data();
    m.num_states = 2;
    m.states = states.data();
    m.name = "zero";
    m.grad_accum = 1;
  }
};

// The elements of spec s that rank r holds: its flat range, or all of them.
tr::FlatRange heldBy(const ZeroModel &z, const pzrt_tensor_spec &s, int r) {
  if (s.shard_axes)
    return tr::flatRange(&z.m, s, r);
  int64_t n = 1;
  for (int d = 0; d < s.ndim; ++d)
    n *= s.shape[d];
  return {0, n, n};
}

// Fills rank r's buffers of a ZeroModel: element i of w is 100 + i, of m
// 200 + i, s is {7, 8}; the padding keeps its garbage.
void fillRank(const ZeroModel &z, tr::Buffers &b, int r) {
  tr::FlatRange fw = heldBy(z, z.params[0], r), fm = heldBy(z, z.states[0], r);
  std::vector<float> w = iota(fw.end - fw.begin, 100.0f + fw.begin);
  std::vector<float> m = iota(fm.end - fm.begin, 200.0f + fm.begin);
  std::memcpy(b.params[0], w.data(), w.size() * 4);
  std::memcpy(b.states[0], m.data(), m.size() * 4);
  const float s[2] = {7, 8};
  std::memcpy(b.states[1], s, sizeof(s));
}

// Saves the ZeroModel from `ranks` threads; m[nanAtM] is a NaN (if >= 0).
// Returns the ranks' errors, concatenated.
std::string saveFromRanks(const ZeroModel &z, int ranks, const std::string &dir,
                          int64_t nanAtM = -1) {
  std::vector<std::string> errors(static_cast<size_t>(ranks));
  pzrt::test::runRanks(ranks, [&](int r, pzrt_comm *comm) {
    tr::Buffers b;
    allocGarbage(z.m, b);
    fillRank(z, b, r);
    tr::FlatRange fm = heldBy(z, z.states[0], r);
    if (nanAtM >= fm.begin && nanAtM < fm.end)
      static_cast<float *>(b.states[0])[nanAtM - fm.begin] = NAN;
    tr::TrainPosition pos;
    pos.step = 3;
    pzrt_loss_scaler_init_default(&pos.scaler);
    try {
      tr::saveCheckpoint(&z.m, b, dir, comm, pos, 8, 0);
    } catch (const tr::Failure &f) {
      errors[static_cast<size_t>(r)] = f.message;
    }
  });
  std::string all;
  for (const std::string &e : errors)
    all += e;
  return all;
}

std::string loadAs(const ZeroModel &z, int rank, const std::string &dir, tr::Buffers &b) {
  allocGarbage(z.m, b);
  tr::TrainPosition pos;
  std::vector<std::string> notes;
  try {
    tr::loadCheckpoint(&z.m, b, dir, pos, notes, rank);
  } catch (const tr::Failure &f) {
    return f.message;
  }
  return "";
}

TEST_F(ZeroTrainTest, FlatShardsSaveFromFourRanksAndLoadUnderOtherLayouts) {
  ZeroModel four(4), three(3), plain(0);
  const std::string dir = dir_.file("ck");
  ASSERT_EQ(saveFromRanks(four, 4, dir), "");
  // The checkpoint holds whole tensors: w's 35 and m's 10 elements.
  EXPECT_EQ(loadCkptTensor(dir, "w"), iota(35, 100));
  EXPECT_EQ(loadCkptTensor(dir, "m"), iota(10, 200));
  EXPECT_EQ(loadCkptTensor(dir, "s"), (std::vector<float>{7, 8}));
  // Three ranks: w chunks of 12, m chunks of 4; rank 2 has padding in both.
  for (int r = 0; r < 3; ++r) {
    tr::Buffers b;
    ASSERT_EQ(loadAs(three, r, dir, b), "") << "rank " << r;
    std::vector<float> w = iota(r < 2 ? 12 : 11, 100.0f + 12 * r);
    std::vector<float> m = iota(r < 2 ? 4 : 2, 200.0f + 4 * r);
    w.resize(12, 0.0f);
    m.resize(4, 0.0f);
    EXPECT_EQ(floats(b.params[0], 12), w) << "rank " << r;
    EXPECT_EQ(floats(b.states[0], 4), m) << "rank " << r;
    EXPECT_EQ(floats(b.states[1], 2), (std::vector<float>{7, 8}));
  }
  // One rank, unsharded specs: whole tensors.
  tr::Buffers one;
  ASSERT_EQ(loadAs(plain, 0, dir, one), "");
  EXPECT_EQ(floats(one.params[0], 35), iota(35, 100));
  EXPECT_EQ(floats(one.states[0], 10), iota(10, 200));
  // And back: an unsharded checkpoint loads into flat shards.
  const std::string back = dir_.file("plain");
  ASSERT_EQ(saveFromRanks(plain, 1, back), "");
  tr::Buffers last;
  ASSERT_EQ(loadAs(four, 3, back, last), "");
  std::vector<float> w = iota(8, 127);
  w.push_back(0);
  EXPECT_EQ(floats(last.params[0], 9), w);
  EXPECT_EQ(floats(last.states[0], 3), (std::vector<float>{209, 0, 0}));
}

TEST_F(ZeroTrainTest, NanCheckOnLoadCoversTheValidRangeOnly) {
  ZeroModel four(4), three(3);
  const std::string dir = dir_.file("ck");
  ASSERT_EQ(saveFromRanks(four, 4, dir, /*nanAtM=*/7), ""); // m[7]: rank 2's [6, 9) of 4-way
  tr::Buffers b0, b1;
  EXPECT_EQ(loadAs(three, 0, dir, b0), ""); // [0, 4) of 3-way: clean
  std::string err = loadAs(three, 1, dir, b1); // [4, 8): element 3 of the slice
  EXPECT_NE(err.find("optimizer state 'm' holds a NaN or infinity (element 3 of this rank's "
                     "slice)"),
            std::string::npos)
      << err;
}

// ------------------------------------------------------------ a whole run

// The bigram model with its AdamW states flat-sharded over dp_shard (one
// rank: c = N, so the optimizer sees the same buffers).
struct FlatStates {
  std::vector<std::vector<int64_t>> shapes;
  void apply(TestModel &t) {
    shapes.clear();
    shapes.reserve(t.states.size());
    for (pzrt_tensor_spec &s : t.states) {
      shapes.emplace_back(s.shape, s.shape + s.ndim);
      int64_t n = 1;
      for (int64_t d : shapes.back())
        n *= d;
      s = flatSpec(s.name, s.dtype, shapes.back(), kShard, n);
    }
  }
};

// A: 6 plain steps. B: 3 flat steps, resumed plain (C); D: 3 plain steps,
// resumed flat (E). C and E continue A exactly.
TEST_F(ZeroTrainTest, FlatStatesSaveAndResumeAcrossLayouts) {
  TestModel plain, flat;
  makeBigram(flat, 2, 8, 16, 1, false);
  FlatStates fs;
  fs.apply(flat);
  makeBigram(plain, 2, 8, 16, 1, false);
  auto run = [&](TestModel &t, const std::string &name, std::vector<std::string> args) {
    t.tables.attach(t.model, t.fb, t.opt); // the step callbacks are global: aim them at t
    args.insert(args.end(), {"--save", dir_.file(name), "--metrics", dir_.file(name + ".jsonl"),
                             "--log-every", "0"});
    RunResult r = train(t.model, std::move(args));
    EXPECT_EQ(r.code, 0) << name << ": " << r.err;
    return readJsonLines(dir_.file(name + ".jsonl"));
  };
  auto la = run(plain, "a", {"--steps", "6", "--seed", "3"});
  run(flat, "b", {"--steps", "3", "--seed", "3"});
  auto lc = run(plain, "c", {"--load", dir_.file("b"), "--steps", "3"});
  run(plain, "d", {"--steps", "3", "--seed", "3"});
  auto le = run(flat, "e", {"--load", dir_.file("d"), "--steps", "3"});

  json::Value index;
  std::string err;
  ASSERT_TRUE(json::parse(pzrt::test::readText(dir_.file("b") + "/index.json"), index, err));
  EXPECT_EQ(index.find("version")->asInt(), 2);
  const json::Value *t = index.find("tensors");
  EXPECT_EQ(json::dump(*t->find("exp_avg:emb")->find("slices")),
            R"([{"file":"rank00000.safetensors","flat":[0,256]}])");
  EXPECT_EQ(json::dump(*t->find("emb")->find("slices")),
            R"([{"file":"rank00000.safetensors","offsets":[0,0],"extents":[16,16]}])");
  ASSERT_EQ(la.size(), 6u);
  ASSERT_EQ(lc.size(), 3u);
  ASSERT_EQ(le.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(num(la[3 + i], "loss"), num(lc[i], "loss")) << "step " << 4 + i;
    EXPECT_EQ(num(la[3 + i], "loss"), num(le[i], "loss")) << "step " << 4 + i;
  }
  for (const char *name : {"emb", "exp_avg:emb", "exp_avg_sq:emb"}) {
    std::vector<float> ta = loadCkptTensor(dir_.file("a"), name);
    EXPECT_EQ(ta.size(), 256u);
    EXPECT_EQ(ta, loadCkptTensor(dir_.file("c"), name)) << name;
    EXPECT_EQ(ta, loadCkptTensor(dir_.file("e"), name)) << name;
  }
}

// ------------------------------------------------------------ pzrt_chunk_on

// ctx with one group whose communicator is `comm`.
pzrt_step_ctx ctxWith(pzrt_comm **comm) {
  pzrt_step_ctx ctx{};
  ctx.num_comms = 1;
  ctx.comms = comm;
  return ctx;
}

std::vector<uint8_t> chunk(pzrt_step_ctx &ctx, const std::vector<uint8_t> &src, size_t dstBytes) {
  std::vector<uint8_t> dst(dstBytes, 0xAA);
  EXPECT_EQ(pzrt_chunk_on(&ctx, 0, src.data(), dst.data(), src.size(), dstBytes), 0)
      << pzrt_last_error();
  return dst;
}

TEST(ZeroChunk, RankZeroTakesTheFirstChunk) {
  pzrt_comm *single = pzrt_comm_create_single();
  pzrt_step_ctx ctx = ctxWith(&single);
  const std::vector<uint8_t> src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  pzrt_comm_reset_counters();
  EXPECT_EQ(chunk(ctx, src, 4), (std::vector<uint8_t>{1, 2, 3, 4}));
  EXPECT_EQ(chunk(ctx, {1, 2, 3}, 5), (std::vector<uint8_t>{1, 2, 3, 0, 0}));
  EXPECT_EQ(pzrt_comm_bytes_total(), 0u);
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_ALL_GATHER), 0u);
  std::vector<uint8_t> dst(2);
  EXPECT_EQ(pzrt_chunk_on(&ctx, 1, src.data(), dst.data(), 10, 2), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("chunk: communicator group 1 does not exist"),
            std::string::npos)
      << pzrt_last_error();
  pzrt_comm_destroy(single);
}

TEST(ZeroChunk, LaterRanksTakeTheirChunkAndPad) {
  const std::vector<uint8_t> src = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  pzrt::test::ThreadGroup group(4); // no collective runs: one thread is enough
  struct Case {
    int rank;
    size_t srcBytes, dstBytes;
    std::vector<uint8_t> expected;
  } cases[] = {
      {1, 10, 4, {5, 6, 7, 8}},
      {2, 10, 4, {9, 10, 0, 0}},     // the last chunk: 2 bytes and padding
      {3, 10, 4, {0, 0, 0, 0}},      // past the end: only padding
      {3, 10, 3, {10, 0, 0}},
      {2, 7, 3, {7, 0, 0}},
      {1, 0, 2, {0, 0}},
  };
  for (const Case &c : cases) {
    pzrt::test::ThreadComm comm(group, c.rank);
    pzrt_comm *p = &comm;
    pzrt_step_ctx ctx = ctxWith(&p);
    std::vector<uint8_t> s(src.begin(), src.begin() + static_cast<std::ptrdiff_t>(c.srcBytes));
    EXPECT_EQ(chunk(ctx, s, c.dstBytes), c.expected)
        << "rank " << c.rank << ", " << c.srcBytes << " -> " << c.dstBytes;
  }
}

} // namespace
