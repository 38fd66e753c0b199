// The training driver, pzrt_run_main and pzrt/exec.h's entry points on a
// device other than the CPU (pzrt_device_hooks, core/device.h's DeviceOps),
// with a fake device of host memory that counts what is asked of it: the
// CUDA backend's host path, without CUDA.
#include "train_test_models.h"

#include "core/device.h"
#include "pzrt/exec.h"
#include "pzrt/run.h"

#include <cstdlib>

namespace {

// Work "issued" on the fake device stays pending until a synchronization,
// as kernels on a GPU stream would.
struct FakeDevice {
  pzrt_device base{};
  int opens = 0, syncs = 0, drains = 0, streamSyncs = 0, copies = 0, zeros = 0;
  int records = 0, waits = 0, streamsCreated = 0, streamsDestroyed = 0;
  bool pending = false;
  bool failOpen = false;
  // Host <-> device copies (pzrt_device_read/write) and their bytes.
  int reads = 0, writes = 0;
  uint64_t bytesRead = 0, bytesWritten = 0;
  size_t freeBytes = size_t(1) << 40; // what memInfo reports free (and total)
};
FakeDevice fake;
char fakeEvent; // the one event token the fake device hands out

int fakeSync(pzrt_device *) {
  ++fake.syncs;
  fake.drains += fake.pending;
  fake.pending = false;
  return 0;
}
int fakeRead(pzrt_device *d, void *host, const void *buffer, size_t bytes) {
  fakeSync(d); // like the CUDA device: reads see all issued work
  ++fake.reads;
  fake.bytesRead += bytes;
  std::memcpy(host, buffer, bytes);
  return 0;
}
int fakeWrite(pzrt_device *d, void *buffer, const void *host, size_t bytes) {
  fakeSync(d);
  ++fake.writes;
  fake.bytesWritten += bytes;
  std::memcpy(buffer, host, bytes);
  return 0;
}
pzrt_stream *fakeStreamCreate(pzrt_device *d) {
  ++fake.streamsCreated;
  return new pzrt_stream{d, &fake};
}
void fakeStreamDestroy(pzrt_stream *s) {
  ++fake.streamsDestroyed;
  delete s;
}
int fakeStreamSync(pzrt_stream *) {
  ++fake.streamSyncs;
  fake.pending = false;
  return 0;
}
int fakeCopy(pzrt_stream *, void *dst, const void *src, size_t bytes) {
  ++fake.copies;
  std::memmove(dst, src, bytes);
  return 0;
}
int fakeZero(pzrt_stream *, void *dst, size_t bytes) {
  ++fake.zeros;
  std::memset(dst, 0, bytes);
  return 0;
}
pzrt_event *fakeRecord(pzrt_stream *) {
  ++fake.records;
  return reinterpret_cast<pzrt_event *>(&fakeEvent);
}
int fakeWait(pzrt_stream *, pzrt_event *e) {
  ++fake.waits;
  return e == reinterpret_cast<pzrt_event *>(&fakeEvent) ? 0 : pzrt_set_error("foreign event");
}
int fakeMemInfo(pzrt_device *, size_t *freeBytes, size_t *totalBytes) {
  *freeBytes = *totalBytes = fake.freeBytes;
  return 0;
}
const pzrt::DeviceOps kFakeOps = {fakeRead,       fakeWrite,  fakeStreamCreate, fakeStreamDestroy,
                                  fakeStreamSync, fakeSync,   fakeCopy,         fakeZero,
                                  fakeRecord,     fakeWait,   fakeMemInfo};

// A counting allocator of zero-filled host memory.
struct FakeAlloc {
  int allocs = 0, frees = 0;
  uint64_t live = 0, peak = 0;
  std::map<void *, size_t> sizes;
};
FakeAlloc alloc;
void *fakeAlloc(size_t bytes, int, void *) {
  void *p = std::aligned_alloc(64, bytes);
  std::memset(p, 0, bytes);
  ++alloc.allocs;
  alloc.sizes[p] = bytes;
  alloc.live += bytes;
  alloc.peak = std::max(alloc.peak, alloc.live);
  return p;
}
void fakeFree(void *p, void *) {
  ++alloc.frees;
  alloc.live -= alloc.sizes.at(p);
  alloc.sizes.erase(p);
  std::free(p);
}
const pzrt_mem_allocator kFakeAllocator = {fakeAlloc, fakeFree, nullptr};

pzrt_device *fakeOpen(void *) {
  ++fake.opens;
  if (fake.failOpen) {
    pzrt_set_error("fake_open: no fake device");
    return nullptr;
  }
  return &fake.base;
}
const pzrt_device_hooks kHooks = {fakeOpen, &kFakeAllocator, nullptr};

// Every compiled function checks its context and leaves work pending.
constexpr int kMaxFunctions = 8;
pzrt_host_fn original[kMaxFunctions];
int32_t roles[kMaxFunctions];
int badContexts = 0, fbOnPending = 0, calls = 0;
template <size_t I> int wrapped(pzrt_step_ctx *ctx, void *const *args) {
  ++calls;
  if (ctx->device != &fake.base || ctx->num_streams != 2 || ctx->streams[0]->device != &fake.base ||
      ctx->streams[1]->device != &fake.base)
    ++badContexts;
  // The feed wrote this function's inputs from the host: the device must
  // have been synchronized since the last function.
  if (roles[I] == PZRT_FN_FORWARD_BACKWARD && fake.pending)
    ++fbOnPending;
  int rc = original[I](ctx, args);
  fake.pending = true;
  return rc;
}
template <size_t... I> void wrapAll(std::vector<pzrt_function_entry> &fns, std::index_sequence<I...>) {
  pzrt_host_fn w[] = {wrapped<I>...};
  for (size_t f = 0; f < fns.size(); ++f) {
    original[f] = fns[f].fn;
    roles[f] = fns[f].role;
    fns[f].fn = w[f];
  }
}

class TrainDeviceTest : public TrainTest {
protected:
  void SetUp() override {
    TrainTest::SetUp();
    fake = FakeDevice();
    fake.base.name = "fake";
    fake.base.ops = &kFakeOps;
    alloc = FakeAlloc();
    badContexts = fbOnPending = calls = 0;
  }
  RunResult trainOn(const pzrt_program &m, std::vector<std::string> args) {
    args.insert(args.begin(), "train");
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int rc = pzrt_train_main_on(&m, static_cast<int>(args.size()), argv.data(), &kHooks);
    RunResult r{rc, ::testing::internal::GetCapturedStdout(),
                ::testing::internal::GetCapturedStderr()};
    EXPECT_EQ(pzrt_mem_current_total(), 0u) << "the driver leaked counted memory";
    return r;
  }
};

std::vector<double> losses(const std::string &metrics) {
  std::vector<double> v;
  for (const json::Value &l : readJsonLines(metrics))
    v.push_back(num(l, "loss"));
  return v;
}

TEST_F(TrainDeviceTest, TrainsAsOnTheCPUWithEveryBufferFromTheAllocator) {
  writeRegressionData(dir_, 32);
  TestModel cpu;
  makeLinreg(cpu, 4, 2);
  ASSERT_EQ(train(cpu.model, {"--steps", "5", "--data-npy", npyArg(dir_), "--metrics",
                              dir_.file("cpu.jsonl"), "--log-every", "0"})
                .code,
            0);

  g = Hooks();
  TestModel dev;
  makeLinreg(dev, 4, 2);
  std::vector<pzrt_function_entry> fns(dev.model.functions,
                                       dev.model.functions + dev.model.num_functions);
  ASSERT_LE(fns.size(), size_t(kMaxFunctions));
  wrapAll(fns, std::make_index_sequence<kMaxFunctions>());
  dev.model.functions = fns.data();
  RunResult r = trainOn(dev.model, {"--steps", "5", "--data-npy", npyArg(dir_), "--metrics",
                                    dir_.file("dev.jsonl"), "--log-every", "0", "--save",
                                    dir_.file("ckpt")});
  ASSERT_EQ(r.code, 0) << r.err;
  // The same host code on the same data: the same losses, bit for bit.
  EXPECT_EQ(losses(dir_.file("dev.jsonl")), losses(dir_.file("cpu.jsonl")));
  // 2 micro-batches: fb, fb, accumulate... per step; all saw the device.
  EXPECT_GT(calls, 10);
  EXPECT_EQ(badContexts, 0);
  EXPECT_EQ(fbOnPending, 0);
  EXPECT_EQ(fake.opens, 1);
  EXPECT_EQ(fake.streamsCreated, 2);
  EXPECT_EQ(fake.streamsDestroyed, 2);
  EXPECT_GT(fake.drains, 0);
  EXPECT_FALSE(fake.pending) << "the buffers were freed before the device finished";
  // Every counted byte came from the allocator (sizes rounded up to 64),
  // and went back to it.
  EXPECT_GT(alloc.allocs, 0);
  EXPECT_EQ(alloc.allocs, alloc.frees);
  EXPECT_EQ(alloc.live, 0u);
  EXPECT_GE(alloc.peak, dev.model.planned_peak_bytes);
  EXPECT_LT(alloc.peak, dev.model.planned_peak_bytes + 64u * uint64_t(alloc.allocs));
  // The host allocator is back.
  EXPECT_EQ(pzrt_mem_set_allocator(nullptr), nullptr);
  // The host touched the buffers through the device's copies only: each of
  // the 10 micro-batches' data (4 rows of x [4] and y [1], f32) written,
  // the checkpoint's parameters read (nothing else is read but scalars).
  EXPECT_GE(fake.bytesWritten, 10u * 4 * (4 + 1) * 4);
  EXPECT_GT(fake.reads, 0);
}

TEST_F(TrainDeviceTest, APlanLargerThanTheFreeMemoryIsRefusedBeforeAllocating) {
  fake.freeBytes = 10; // less than the first parameter (w: 4 floats)
  TestModel t;
  makeLinreg(t, 4, 1);
  RunResult r = trainOn(t.model, {"--steps", "1", "--log-every", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("the plan's device buffers take"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("fake has 10 of its 10 bytes free"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the first buffer past the free memory is parameter 'w' (16 bytes)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(alloc.allocs, 0);
}

TEST_F(TrainDeviceTest, NoDeviceIsASetupFailureNamingIt) {
  fake.failOpen = true;
  TestModel t;
  makeLinreg(t, 4, 1);
  RunResult r = trainOn(t.model, {"--steps", "1", "--log-every", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("train: rank 0: fake_open: no fake device"), std::string::npos) << r.err;
  EXPECT_EQ(fake.opens, 1);
  EXPECT_EQ(alloc.allocs, 0);
}

TEST_F(TrainDeviceTest, HelpNeedsNoDevice) {
  TestModel t;
  makeLinreg(t, 4, 1);
  RunResult r = trainOn(t.model, {"--help"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fake.opens, 0);
}

TEST_F(TrainDeviceTest, ExecEntryPointsUseTheDevicesOperations) {
  pzrt_stream s0{&fake.base, &fake}, s1{&fake.base, &fake};
  pzrt_stream *streams[] = {&s0, &s1};
  pzrt_comm *comm = pzrt_comm_create_single();
  ASSERT_NE(comm, nullptr);
  pzrt_comm *comms[] = {comm};
  pzrt_step_ctx ctx{};
  ctx.device = &fake.base;
  ctx.num_streams = 2;
  ctx.streams = streams;
  ctx.num_comms = 1;
  ctx.comms = comms;
  float a[4] = {1, 2, 3, 4}, b[6] = {9, 9, 9, 9, 9, 9};
  ASSERT_EQ(pzrt_copy(&ctx, b, a, sizeof a), 0);
  EXPECT_EQ(fake.copies, 1);
  EXPECT_EQ(b[3], 4.0f);
  pzrt_event *e = pzrt_event_record(&ctx, 0);
  ASSERT_EQ(e, reinterpret_cast<pzrt_event *>(&fakeEvent));
  ASSERT_EQ(pzrt_stream_wait(&ctx, e, 1), 0);
  EXPECT_EQ(fake.records, 1);
  EXPECT_EQ(fake.waits, 1);
  // A stream the context does not have is an error naming the call.
  EXPECT_EQ(pzrt_event_record(&ctx, 2), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("pzrt_event_record: stream 2"), std::string::npos)
      << pzrt_last_error();
  // One rank's chunk is the first 6 floats' worth of a 4-float source:
  // 4 copied, 2 zero-filled, both on the device.
  ASSERT_EQ(pzrt_chunk_on(&ctx, 0, a, b, sizeof a, sizeof b), 0);
  EXPECT_EQ(fake.copies, 2);
  EXPECT_EQ(fake.zeros, 1);
  EXPECT_EQ(b[0], 1.0f);
  EXPECT_EQ(b[5], 0.0f);
  // Host-staged: the transfer waits for the compute stream, copies its
  // source to the host (one read of 16 bytes, in place: src = dst) and its
  // result back (one write).
  fake.pending = true;
  ASSERT_EQ(pzrt_all_reduce_on(&ctx, 0, a, a, 4, PZRT_F32, PZRT_REDUCE_SUM, "test", 1, nullptr),
            0);
  EXPECT_EQ(fake.streamSyncs, 1);
  EXPECT_FALSE(fake.pending);
  EXPECT_EQ(fake.reads, 1);
  EXPECT_EQ(fake.writes, 1);
  EXPECT_EQ(fake.bytesRead, 16u);
  EXPECT_EQ(fake.bytesWritten, 16u);
  // With a request the result reaches the device in pzrt_wait, not before.
  float c[4] = {0, 0, 0, 0};
  pzrt_request *req = nullptr;
  ASSERT_EQ(pzrt_all_reduce_on(&ctx, 0, a, c, 4, PZRT_F32, PZRT_REDUCE_SUM, "test", 1, &req), 0);
  ASSERT_NE(req, nullptr);
  EXPECT_EQ(fake.writes, 1);
  EXPECT_EQ(c[2], 0.0f);
  ASSERT_EQ(pzrt_wait(&ctx, req), 0);
  EXPECT_EQ(fake.writes, 2);
  EXPECT_EQ(c[2], 3.0f);
  // The CPU device: no operation of the fake is used.
  ctx.device = pzrt_device_cpu();
  ASSERT_EQ(pzrt_copy(&ctx, b, a, sizeof a), 0);
  ASSERT_NE(pzrt_event_record(&ctx, 0), nullptr);
  EXPECT_EQ(pzrt_device_synchronize(pzrt_device_cpu()), 0);
  EXPECT_EQ(fake.copies, 2);
  EXPECT_EQ(fake.records, 1);
  pzrt_comm_destroy(comm);
}

// z = x + 1 on the device's buffers.
int addOne(pzrt_step_ctx *ctx, void *const *args, void *const *results) {
  if (ctx->device != &fake.base || ctx->num_streams != 2)
    ++badContexts;
  const float *x = static_cast<const float *>(args[0]);
  float *z = static_cast<float *>(results[0]);
  for (int i = 0; i < 3; ++i)
    z[i] = x[i] + 1;
  fake.pending = true;
  return 0;
}

TEST_F(TrainDeviceTest, RunMainOnTheDevice) {
  static const pzrt_tensor_spec args[] = {{"x", PZRT_F32, 1, {3}}};
  static const pzrt_tensor_spec results[] = {{"z", PZRT_F32, 1, {3}}};
  const pzrt_function fn = {"add_one", 1, args, 1, results, 0, 0, addOne, nullptr};
  const float x[3] = {1.5f, -2, 0};
  const int64_t shape[1] = {3};
  ASSERT_EQ(pzrt_npy_write(dir_.file("x.npy").c_str(), PZRT_F32, 1, shape, x, 0), 0);
  std::vector<std::string> argv = {"run", "--input", "x=" + dir_.file("x.npy"), "--output-dir",
                                   dir_.file("out")};
  std::vector<char *> ptrs;
  for (auto &a : argv)
    ptrs.push_back(a.data());
  ASSERT_EQ(pzrt_run_main_on(&fn, static_cast<int>(ptrs.size()), ptrs.data(), &kHooks), 0);
  EXPECT_EQ(badContexts, 0);
  EXPECT_EQ(fake.drains, 1); // the results were synchronized once
  EXPECT_EQ(alloc.allocs, 3); // x, z and the (empty) arena
  EXPECT_EQ(alloc.allocs, alloc.frees);
  pzrt_npy *z = pzrt_npy_open(dir_.file("out/z.npy").c_str());
  ASSERT_NE(z, nullptr) << pzrt_last_error();
  const float *zv = static_cast<const float *>(pzrt_npy_data(z));
  EXPECT_EQ(zv[0], 2.5f);
  EXPECT_EQ(zv[1], -1.0f);
  EXPECT_EQ(zv[2], 1.0f);
  pzrt_npy_close(z);
}

} // namespace
