// The C API's rules for communicators on device buffers (NCCL), checked with
// a fake one: comm.cpp must never read the buffers on the host, must accept
// NCCL's in-place forms and refuse other overlaps, and asks the
// implementation which element types it moves.
#include "comm/comm_impl.h"

#include "pzrt/comm.h"
#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

// Rank 1 of 4; records what reached it. Its "device" addresses are never
// dereferenced (they point nowhere): a host copy in comm.cpp would crash.
struct FakeDeviceComm final : pzrt_comm {
  FakeDeviceComm() {
    rank = worldRank = 1;
    size = worldSize = 4;
    name = "fake";
  }
  bool isMpi() const override { return false; }
  bool deviceBuffers() const override { return true; }
  bool supportsDtype(pzrt_dtype d) const override {
    return d == PZRT_F32 || d == PZRT_F16 || d == PZRT_BF16 || d == PZRT_F64 || d == PZRT_I32 ||
           d == PZRT_I64 || d == PZRT_U8;
  }
  int calls = 0;
  const void *lastSend = nullptr;
  void *lastRecv = nullptr;
  int record(const void *s, void *r) {
    ++calls;
    lastSend = s;
    lastRecv = r;
    return 0;
  }
  int allReduce(const void *s, void *r, size_t, pzrt_dtype, pzrt_reduce_op) override {
    return record(s, r);
  }
  int allGather(const void *s, void *r, size_t, pzrt_dtype) override { return record(s, r); }
  int reduceScatter(const void *s, void *r, size_t, pzrt_dtype, pzrt_reduce_op) override {
    return record(s, r);
  }
  int allToAll(const void *s, void *r, size_t, pzrt_dtype) override { return record(s, r); }
  int broadcast(void *b, size_t, pzrt_dtype, int) override { return record(b, b); }
  int sendRecv(const void *s, size_t, int, void *r, size_t, int, pzrt_dtype, int) override {
    return record(s, r);
  }
  int barrier() override { return 0; }
  pzrt_comm *split(int, int, const std::string &) override { return nullptr; }
};

char *at(uintptr_t a) { return reinterpret_cast<char *>(a); }

class DeviceCommTest : public ::testing::Test {
protected:
  FakeDeviceComm c;
  std::string error() { return pzrt_last_error(); }
};

TEST_F(DeviceCommTest, MoreTypesWhenTheImplementationMovesThem) {
  for (pzrt_dtype d : {PZRT_F64, PZRT_I32, PZRT_U8}) {
    EXPECT_EQ(pzrt_all_reduce(&c, at(0x10000), at(0x20000), 8, d, PZRT_REDUCE_SUM), 0) << error();
  }
  EXPECT_EQ(c.calls, 3);
  EXPECT_EQ(pzrt_all_reduce(&c, at(0x10000), at(0x20000), 8, PZRT_U16, PZRT_REDUCE_SUM), -1);
  EXPECT_NE(error().find("unsupported dtype U16 (use F32, F16, BF16, F64, I32, I64, U8)"),
            std::string::npos)
      << error();
  // The host communicators keep their four.
  pzrt_comm *single = pzrt_comm_create_single();
  float f = 0;
  EXPECT_EQ(pzrt_all_reduce(single, &f, &f, 1, PZRT_F64, PZRT_REDUCE_SUM), -1);
  EXPECT_NE(error().find("(use F32, F16, BF16, I64)"), std::string::npos) << error();
  pzrt_comm_destroy(single);
}

TEST_F(DeviceCommTest, InPlaceFormsPassUntouched) {
  // all_reduce: send == recv.
  EXPECT_EQ(pzrt_all_reduce(&c, at(0x10000), at(0x10000), 8, PZRT_F32, PZRT_REDUCE_SUM), 0)
      << error();
  EXPECT_EQ(c.lastSend, at(0x10000));
  // all_gather: send is this rank's block of recv (rank 1, 8 floats = 32 bytes).
  EXPECT_EQ(pzrt_all_gather(&c, at(0x10000 + 32), at(0x10000), 8, PZRT_F32), 0) << error();
  EXPECT_EQ(c.lastSend, at(0x10000 + 32));
  // reduce_scatter: recv is this rank's block of send.
  EXPECT_EQ(pzrt_reduce_scatter(&c, at(0x10000), at(0x10000 + 32), 8, PZRT_F32, PZRT_REDUCE_SUM),
            0)
      << error();
  EXPECT_EQ(c.lastRecv, at(0x10000 + 32));
  EXPECT_EQ(c.calls, 3);
}

TEST_F(DeviceCommTest, OtherOverlapsAreRefused) {
  EXPECT_EQ(pzrt_all_reduce(&c, at(0x10000), at(0x10004), 8, PZRT_F32, PZRT_REDUCE_SUM), -1);
  EXPECT_NE(error().find("all_reduce on device communicator 'fake': the send and receive buffers "
                         "overlap; use separate buffers"),
            std::string::npos)
      << error();
  EXPECT_EQ(pzrt_all_gather(&c, at(0x10000), at(0x10000), 8, PZRT_F32), -1); // rank 0's block
  EXPECT_NE(error().find("overlap other than in place"), std::string::npos) << error();
  EXPECT_EQ(pzrt_reduce_scatter(&c, at(0x10000), at(0x10000 + 64), 8, PZRT_F32, PZRT_REDUCE_SUM),
            -1);
  EXPECT_NE(error().find("reduce_scatter on device communicator"), std::string::npos) << error();
  EXPECT_EQ(pzrt_all_to_all(&c, at(0x10000), at(0x10000), 8, PZRT_F32), -1);
  EXPECT_NE(error().find("all_to_all on device communicator"), std::string::npos) << error();
  EXPECT_EQ(c.calls, 0);
  // Disjoint buffers are fine.
  EXPECT_EQ(pzrt_all_to_all(&c, at(0x10000), at(0x20000), 8, PZRT_F32), 0) << error();
  EXPECT_EQ(c.calls, 1);
}

} // namespace
