// Entry point of pzrt-mpi-tests (run under mpirun). Every rank runs every
// test; rank 0 prints the usual report, other ranks print only failures. The
// exit status is non-zero if any rank failed.
#include "mpi_common.h"

#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cstdio>

pzrt_comm *gWorld = nullptr;

namespace {
class FailurePrinter : public ::testing::EmptyTestEventListener {
public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult &r) override {
    if (r.failed())
      std::fprintf(stderr, "[rank %d] %s:%d: Failure\n%s\n", rank_,
                   r.file_name() ? r.file_name() : "?", r.line_number(), r.summary());
  }

private:
  int rank_;
};
} // namespace

int main(int argc, char **argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // MPI under mpirun; the TCP communicator under scripts/launch-local.py.
  gWorld = pzrt_comm_create_auto();
  if (!gWorld) {
    std::fprintf(stderr, "pzrt-mpi-tests: %s\n", pzrt_last_error());
    return 2;
  }
  pzrt_comm_set_timeout(gWorld, 120.0); // a failed test on one rank must not hang the others
  int rank = pzrt_comm_rank(gWorld);
  if (rank != 0) {
    auto &listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  int64_t rc = RUN_ALL_TESTS();
  pzrt_all_reduce(gWorld, &rc, &rc, 1, PZRT_I64, PZRT_REDUCE_MAX);
  if (rank == 0 && rc != 0)
    std::fprintf(stderr, "pzrt-mpi-tests: a test failed on at least one rank\n");
  pzrt_comm_destroy(gWorld);
  pzrt_comm_finalize();
  return static_cast<int>(rc);
}
