// comm_nccl.cpp on the CUDA host emulator, against the fake NCCL that moves
// data between MPI ranks (src/cuda/emu/fake_nccl.cpp); run under mpirun with
// 2 and 4 ranks. Buffers are emulated device memory (cudaMalloc, host pages
// kept PROT_NONE outside device work), read back with cudaMemcpy. Expected
// values are computed here on the host, independently of the fake.
#include "comm/comm_impl.h"
#include "nccl/nccl_checks.h"

#include "pzrt/comm.h"
#include "pzrt/error.h"
#include "pzrt/types.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>
#include <nccl.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace {

using pzrt::test::DeviceVec;

pzrt_comm *gMpi = nullptr;  // MPI_COMM_WORLD on host memory, for the test's own traffic
pzrt_comm *gNccl = nullptr; // pzrt::createNcclComm(): comm_nccl.cpp over the fake
ncclComm_t gRaw = nullptr;  // a world communicator of the fake, used directly

class NcclEmu : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(pzrt_barrier(gMpi), 0);
    n = pzrt_comm_size(gNccl);
    r = pzrt_comm_rank(gNccl);
  }
  int n = 0, r = 0;
};

// Every rank's value of x, by rank, over the MPI communicator.
std::vector<int64_t> everyRanks(int64_t x) {
  std::vector<int64_t> all(pzrt_comm_size(gMpi));
  EXPECT_EQ(pzrt_all_gather(gMpi, &x, all.data(), 1, PZRT_I64), 0);
  return all;
}

TEST_F(NcclEmu, WorldMatchesMpi) {
  EXPECT_GE(n, 2);
  EXPECT_EQ(n, pzrt_comm_size(gMpi));
  EXPECT_EQ(r, pzrt_comm_rank(gMpi));
  EXPECT_EQ(pzrt_comm_is_mpi(gNccl), 0);
}

// comm.h's collectives through comm_nccl.cpp (test/nccl/nccl_checks.h: all
// the dtypes, in-place forms, all_to_all, broadcast, barrier, sendrecv ring,
// send/recv, a split into two parity groups with an all_reduce in each).
TEST_F(NcclEmu, EveryCollectiveOfCommH) { EXPECT_EQ(pzrt::test::Checker(gNccl).run(), ""); }

TEST_F(NcclEmu, AllReduceMaxF32Bf16AndSumI64) {
  const size_t k = 300;
  std::vector<float> f(k), fMax(k);
  std::vector<uint16_t> b(k), bMax(k);
  std::vector<int64_t> l(k), lSum(k);
  for (size_t i = 0; i < k; ++i) {
    int owner = static_cast<int>(i % n); // the rank that holds the maximum
    f[i] = r == owner ? 1000.0f + static_cast<float>(i) : -static_cast<float>(r + 1);
    fMax[i] = 1000.0f + static_cast<float>(i);
    b[i] = pzrt_f32_to_bf16(-static_cast<float>((r + 1) * (1 + i % 5))); // exact in bf16
    bMax[i] = pzrt_f32_to_bf16(-static_cast<float>(1 + i % 5));          // rank 0's
    l[i] = (int64_t{1} << 58) * (r + 1) - static_cast<int64_t>(i);
    lSum[i] = (int64_t{1} << 58) * (n * (n + 1) / 2) - n * static_cast<int64_t>(i);
  }
  DeviceVec<float> fd(f), fo(k);
  DeviceVec<uint16_t> bd(b);
  DeviceVec<int64_t> ld(l), lo(k);
  ASSERT_EQ(pzrt_all_reduce(gNccl, fd.get(), fo.get(), k, PZRT_F32, PZRT_REDUCE_MAX), 0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_all_reduce(gNccl, bd.get(), bd.get(), k, PZRT_BF16, PZRT_REDUCE_MAX), 0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_all_reduce(gNccl, ld.get(), lo.get(), k, PZRT_I64, PZRT_REDUCE_SUM), 0)
      << pzrt_last_error();
  EXPECT_EQ(fo.host(), fMax);
  EXPECT_EQ(bd.host(), bMax);
  EXPECT_EQ(lo.host(), lSum);
  EXPECT_EQ(fd.host(), f); // an out-of-place send buffer stays as it was
}

// Sums that round: the fake's documented order (rank 0, 1, ..., n-1, each
// addition rounded to the type: fp32, and bf16 through fp32) reproduced
// here, and the same bits on every rank (a per-rank order would differ).
TEST_F(NcclEmu, RoundingSumsAreRankOrderedAndEqualOnEveryRank) {
  const size_t k = 257;
  auto fval = [](int q, size_t i) {
    return (q % 2 ? 3.0e7f : 0.7f) * (1.0f + static_cast<float>(i) / 7.0f) + 0.1f * q;
  };
  auto bval = [](int q, size_t i) {
    return pzrt_f32_to_bf16((q % 2 ? 300.0f : 1.3f) + 0.37f * static_cast<float>(i * (q + 1)));
  };
  std::vector<float> f(k), fWant(k);
  std::vector<uint16_t> b(k), bWant(k);
  for (size_t i = 0; i < k; ++i) {
    f[i] = fval(r, i);
    b[i] = bval(r, i);
    float fa = fval(0, i);
    uint16_t ba = bval(0, i);
    for (int q = 1; q < n; ++q) {
      fa = fa + fval(q, i);
      ba = pzrt_f32_to_bf16(pzrt_bf16_to_f32(ba) + pzrt_bf16_to_f32(bval(q, i)));
    }
    fWant[i] = fa;
    bWant[i] = ba;
  }
  DeviceVec<float> fd(f);
  DeviceVec<uint16_t> bd(b), bo(k);
  ASSERT_EQ(pzrt_all_reduce(gNccl, fd.get(), fd.get(), k, PZRT_F32, PZRT_REDUCE_SUM), 0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_all_reduce(gNccl, bd.get(), bo.get(), k, PZRT_BF16, PZRT_REDUCE_SUM), 0)
      << pzrt_last_error();
  std::vector<float> fGot = fd.host();
  std::vector<uint16_t> bGot = bo.host();
  EXPECT_EQ(fGot, fWant);
  EXPECT_EQ(bGot, bWant);
  // A digest of the result bits, compared across ranks.
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < k; ++i) {
    uint32_t bits;
    std::memcpy(&bits, &fGot[i], 4);
    h = (h ^ bits ^ (uint64_t{bGot[i]} << 32)) * 1099511628211ull;
  }
  for (int64_t other : everyRanks(static_cast<int64_t>(h)))
    EXPECT_EQ(other, static_cast<int64_t>(h));
}

// Sends and receives in nested groups: two messages each way between both
// neighbours, all posted before any completes (a blocking send would
// deadlock: 128 KiB is above Open MPI's eager limits), matched in posting
// order.
TEST_F(NcclEmu, NestedGroupExchangesWithBothNeighbours) {
  const size_t k = 32768;
  int next = (r + 1) % n, prev = (r + n - 1) % n;
  auto msg = [k](int from, int to, int which) {
    std::vector<int32_t> v(k);
    for (size_t i = 0; i < k; ++i)
      v[i] = 1000000 * from + 10000 * to + 1000 * which + static_cast<int32_t>(i);
    return v;
  };
  DeviceVec<int32_t> toNext0(msg(r, next, 0)), toNext1(msg(r, next, 1)), toPrev(msg(r, prev, 2));
  DeviceVec<int32_t> fromPrev0(k), fromPrev1(k), fromNext(k);
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  EXPECT_EQ(ncclSend(toNext0.get(), k, ncclInt32, next, gRaw, nullptr), ncclSuccess);
  EXPECT_EQ(ncclRecv(fromNext.get(), k, ncclInt32, next, gRaw, nullptr), ncclSuccess);
  EXPECT_EQ(ncclGroupEnd(), ncclSuccess); // inner: nothing may run yet
  EXPECT_EQ(ncclRecv(fromPrev0.get(), k, ncclInt32, prev, gRaw, nullptr), ncclSuccess);
  EXPECT_EQ(ncclSend(toNext1.get(), k, ncclInt32, next, gRaw, nullptr), ncclSuccess);
  EXPECT_EQ(ncclRecv(fromPrev1.get(), k, ncclInt32, prev, gRaw, nullptr), ncclSuccess);
  EXPECT_EQ(ncclSend(toPrev.get(), k, ncclInt32, prev, gRaw, nullptr), ncclSuccess);
  ASSERT_EQ(ncclGroupEnd(), ncclSuccess) << ncclGetLastError(gRaw);
  // With 2 ranks next == prev: the messages from that rank arrive in the
  // order it posted them (toNext0, toNext1, toPrev) into our receives in
  // the order we posted them (fromNext, fromPrev0, fromPrev1).
  if (n == 2) {
    EXPECT_EQ(fromNext.host(), msg(next, r, 0));
    EXPECT_EQ(fromPrev0.host(), msg(prev, r, 1));
    EXPECT_EQ(fromPrev1.host(), msg(prev, r, 2));
  } else {
    EXPECT_EQ(fromPrev0.host(), msg(prev, r, 0));
    EXPECT_EQ(fromPrev1.host(), msg(prev, r, 1));
    EXPECT_EQ(fromNext.host(), msg(next, r, 2));
  }
}

// An all_reduce issued on a capturing stream is recorded, not run, and runs
// at each launch of the graph on the buffers' contents then.
TEST_F(NcclEmu, CapturedAllReduceRunsAtEachReplayOnly) {
  const size_t k = 100;
  DeviceVec<float> send(std::vector<float>(k, static_cast<float>(r + 1)));
  DeviceVec<float> recv(std::vector<float>(k, -7.0f));
  cudaStream_t s = nullptr;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(ncclAllReduce(send.get(), recv.get(), k, ncclFloat32, ncclSum, gRaw, s), ncclSuccess);
  cudaGraph_t g = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s, &g), cudaSuccess);
  EXPECT_EQ(recv.host(), std::vector<float>(k, -7.0f)) << "the capture ran the all_reduce";
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, g, 0), cudaSuccess);
  const float tri = static_cast<float>(n * (n + 1) / 2);
  for (float scale : {1.0f, 10.0f}) {
    std::vector<float> x(k, scale * static_cast<float>(r + 1));
    ASSERT_EQ(cudaMemcpy(send.get(), x.data(), k * sizeof(float), cudaMemcpyHostToDevice),
              cudaSuccess);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    EXPECT_EQ(recv.host(), std::vector<float>(k, scale * tri)) << "replay with scale " << scale;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(g);
  cudaStreamDestroy(s);
}

// A group that sends to this rank itself and receives it (legal in NCCL):
// the host communicator has no connection to itself (TCP matches it in
// place), and the message must arrive intact beside a neighbour exchange.
TEST_F(NcclEmu, SendToSelfInAGroup) {
  const size_t k = 16;
  std::vector<float> mine(k), toNext(k);
  for (size_t i = 0; i < k; ++i) {
    mine[i] = static_cast<float>(100 * r + static_cast<int>(i));
    toNext[i] = static_cast<float>(-100 * r - static_cast<int>(i));
  }
  DeviceVec<float> a(mine), b(k), c(toNext), d(k);
  const int next = (r + 1) % n, prev = (r + n - 1) % n;
  ASSERT_EQ(ncclGroupStart(), ncclSuccess);
  ASSERT_EQ(ncclRecv(b.get(), k, ncclFloat32, r, gRaw, nullptr), ncclSuccess);
  ASSERT_EQ(ncclSend(c.get(), k, ncclFloat32, next, gRaw, nullptr), ncclSuccess);
  ASSERT_EQ(ncclSend(a.get(), k, ncclFloat32, r, gRaw, nullptr), ncclSuccess);
  ASSERT_EQ(ncclRecv(d.get(), k, ncclFloat32, prev, gRaw, nullptr), ncclSuccess);
  ASSERT_EQ(ncclGroupEnd(), ncclSuccess);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  EXPECT_EQ(b.host(), mine);
  std::vector<float> fromPrev(k);
  for (size_t i = 0; i < k; ++i)
    fromPrev[i] = static_cast<float>(-100 * prev - static_cast<int>(i));
  EXPECT_EQ(d.host(), fromPrev);
}

// Rank 0 leaves a split (NCCL_SPLIT_NOCOLOR); the others reduce without it.
TEST_F(NcclEmu, SplitWithNoColor) {
  ncclComm_t sub = reinterpret_cast<ncclComm_t>(&gRaw); // must be overwritten
  ASSERT_EQ(ncclCommSplit(gRaw, r == 0 ? NCCL_SPLIT_NOCOLOR : 5, n - r, &sub, nullptr),
            ncclSuccess);
  if (r == 0) {
    EXPECT_EQ(sub, nullptr);
    return;
  }
  ASSERT_NE(sub, nullptr);
  int subRank = -1, subSize = -1;
  EXPECT_EQ(ncclCommUserRank(sub, &subRank), ncclSuccess);
  EXPECT_EQ(ncclCommCount(sub, &subSize), ncclSuccess);
  EXPECT_EQ(subSize, n - 1);
  EXPECT_EQ(subRank, n - 1 - r); // keys n - r: the highest rank first
  DeviceVec<int64_t> x(std::vector<int64_t>{r, 1}), y(2);
  EXPECT_EQ(ncclAllReduce(x.get(), y.get(), 2, ncclInt64, ncclSum, sub, nullptr), ncclSuccess);
  EXPECT_EQ(y.host(), (std::vector<int64_t>{n * (n - 1) / 2, n - 1}));
  EXPECT_EQ(ncclCommDestroy(sub), ncclSuccess);
}

// Local refusals: a result code and a message, nothing sent.
TEST_F(NcclEmu, BadArgumentsAreRefusedWithAMessage) {
  auto last = [] { return std::string(ncclGetLastError(gRaw)); };
  DeviceVec<float> x(8);
  ncclComm_t c = nullptr;
  ncclUniqueId id{};
  EXPECT_EQ(ncclCommInitRankConfig(&c, n + 1, id, r, nullptr), ncclInvalidUsage);
  EXPECT_EQ(c, nullptr);
  EXPECT_NE(last().find("only its bootstrap communicator's world"), std::string::npos) << last();
  EXPECT_EQ(ncclAllReduce(x.get(), x.get(), 8, ncclNumTypes, ncclSum, gRaw, nullptr),
            ncclInvalidArgument);
  EXPECT_NE(last().find("ncclAllReduce: invalid data type"), std::string::npos) << last();
  EXPECT_EQ(ncclAllReduce(x.get(), x.get(), 8, ncclFloat32, ncclAvg, gRaw, nullptr),
            ncclInvalidArgument);
  EXPECT_NE(last().find("reduction 4 is not supported"), std::string::npos) << last();
  EXPECT_EQ(ncclSend(x.get(), 8, ncclFloat32, n, gRaw, nullptr), ncclInvalidArgument);
  EXPECT_NE(last().find("ncclSend: peer"), std::string::npos) << last();
  EXPECT_EQ(ncclBroadcast(x.get(), x.get(), 8, ncclFloat32, -1, gRaw, nullptr),
            ncclInvalidArgument);
  EXPECT_EQ(ncclAllGather(x.get(), x.get(), 8, ncclFloat32, nullptr, nullptr),
            ncclInvalidArgument);
  EXPECT_EQ(ncclGroupEnd(), ncclInvalidUsage);
  ncclResult_t state = ncclInProgress;
  EXPECT_EQ(ncclCommGetAsyncError(gRaw, &state), ncclSuccess);
  EXPECT_EQ(state, ncclSuccess);
  int v = 0;
  EXPECT_EQ(ncclGetVersion(&v), ncclSuccess);
  EXPECT_EQ(v, NCCL_VERSION_CODE);
}

class FailurePrinter : public ::testing::EmptyTestEventListener {
public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult &res) override {
    if (res.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                   res.file_name() ? res.file_name() : "?", res.line_number(), res.summary());
  }

private:
  int rank_;
};

// The fake's world communicator, its id sent from rank 0 over MPI.
ncclComm_t rawWorld() {
  int64_t id[sizeof(ncclUniqueId) / sizeof(int64_t)] = {};
  if (pzrt_comm_rank(gMpi) == 0 && ncclGetUniqueId(reinterpret_cast<ncclUniqueId *>(id)))
    return nullptr;
  if (pzrt_broadcast(gMpi, id, sizeof(id) / sizeof(int64_t), PZRT_I64, 0))
    return nullptr;
  ncclUniqueId uid;
  std::memcpy(&uid, id, sizeof(uid));
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.blocking = 0;
  ncclComm_t c = nullptr;
  ncclResult_t rc = ncclCommInitRankConfig(&c, pzrt_comm_size(gMpi), uid, pzrt_comm_rank(gMpi),
                                           &cfg);
  return rc == ncclSuccess ? c : nullptr;
}

} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!(gMpi = pzrt_comm_create_auto()) || !(gNccl = pzrt::createNcclComm(-1, gMpi))) {
    std::fprintf(stderr, "pzrt-nccl-emu-tests: %s\n", pzrt_last_error());
    return 2;
  }
  if (!(gRaw = rawWorld())) {
    std::fprintf(stderr, "pzrt-nccl-emu-tests: the fake's world communicator: %s\n",
                 ncclGetLastError(nullptr));
    return 2;
  }
  int rank = pzrt_comm_rank(gMpi);
  if (rank != 0) {
    auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  int64_t rc = RUN_ALL_TESTS();
  pzrt_all_reduce(gMpi, &rc, &rc, 1, PZRT_I64, PZRT_REDUCE_MAX);
  if (rank == 0 && rc != 0)
    std::fprintf(stderr, "pzrt-nccl-emu-tests: a test failed on at least one rank\n");
  ncclCommDestroy(gRaw);
  pzrt_comm_destroy(gNccl);
  pzrt_comm_destroy(gMpi);
  pzrt_comm_finalize();
  return static_cast<int>(rc);
}
