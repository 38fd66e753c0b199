// Collectives of an NCCL communicator checked against values computed on the
// host, through the C API on device buffers. Shared by the 1-rank GPU test
// and the probe that the multi-rank GPU tests start once per rank.
#ifndef PZRT_TEST_NCCL_NCCL_CHECKS_H
#define PZRT_TEST_NCCL_NCCL_CHECKS_H

#include "pzrt/comm.h"
#include "pzrt/error.h"
#include "pzrt/types.h"

#include <cuda_runtime_api.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace pzrt::test {

// A device copy of a host vector, freed on destruction.
template <typename T> class DeviceVec {
public:
  explicit DeviceVec(const std::vector<T> &host) : n_(host.size()) {
    cudaMalloc(reinterpret_cast<void **>(&p_), bytes() ? bytes() : 1);
    if (bytes())
      cudaMemcpy(p_, host.data(), bytes(), cudaMemcpyHostToDevice);
  }
  explicit DeviceVec(size_t n) : DeviceVec(std::vector<T>(n)) {}
  ~DeviceVec() { cudaFree(p_); }
  DeviceVec(const DeviceVec &) = delete;
  DeviceVec &operator=(const DeviceVec &) = delete;
  T *get() { return p_; }
  std::vector<T> host() const {
    std::vector<T> h(n_);
    if (bytes())
      cudaMemcpy(h.data(), p_, bytes(), cudaMemcpyDeviceToHost);
    return h;
  }

private:
  size_t bytes() const { return n_ * sizeof(T); }
  T *p_ = nullptr;
  size_t n_;
};

class Checker {
public:
  explicit Checker(pzrt_comm *c) : c_(c), r_(pzrt_comm_rank(c)), n_(pzrt_comm_size(c)) {}

  // Runs every check; "" when all passed, else what failed (the first few).
  std::string run();

private:
  template <typename T> void expectEq(const char *what, const std::vector<T> &got,
                                      const std::vector<T> &want) {
    for (size_t i = 0; i < want.size(); ++i) {
      if (i >= got.size() || !(got[i] == want[i])) {
        std::ostringstream os;
        os << what << " on rank " << r_ << " of " << n_ << ": element " << i << " is "
           << (i < got.size() ? +got[i] : T()) << ", expected " << +want[i] << "\n";
        fail(os.str());
        return;
      }
    }
  }
  void expectOk(const char *what, int rc) {
    if (rc != 0)
      fail(std::string(what) + " on rank " + std::to_string(r_) + " failed: " + pzrt_last_error() +
           "\n");
  }
  void fail(const std::string &s) {
    if (failures_++ < 8)
      report_ += s;
  }

  void allReduce();
  void halves();
  void gatherScatter();
  void allToAll();
  void broadcast();
  void pointToPoint();
  void split();
  void refusals();

  pzrt_comm *c_;
  int r_, n_;
  int failures_ = 0;
  std::string report_;
};

inline void Checker::allReduce() {
  const size_t k = 1000;
  std::vector<float> f(k);
  std::vector<float> fSum(k);
  for (size_t i = 0; i < k; ++i) {
    f[i] = static_cast<float>(r_ + 1) + 0.5f * static_cast<float>(i);
    fSum[i] = static_cast<float>(n_ * (n_ + 1) / 2) + 0.5f * static_cast<float>(i) * n_;
  }
  DeviceVec<float> fs(f), fr(k);
  expectOk("all_reduce f32", pzrt_all_reduce(c_, fs.get(), fr.get(), k, PZRT_F32, PZRT_REDUCE_SUM));
  expectEq("all_reduce sum f32", fr.host(), fSum);

  std::vector<double> d(k), dMax(k);
  for (size_t i = 0; i < k; ++i) {
    d[i] = (r_ == n_ - 1 ? 1e300 : -1.0) * static_cast<double>(i + 1);
    dMax[i] = 1e300 * static_cast<double>(i + 1); // the last rank's
  }
  DeviceVec<double> dd(d);
  expectOk("all_reduce f64 in place",
           pzrt_all_reduce(c_, dd.get(), dd.get(), k, PZRT_F64, PZRT_REDUCE_MAX));
  expectEq("all_reduce max f64 in place", dd.host(), dMax);

  std::vector<int64_t> l(k), lMax(k);
  std::vector<int32_t> w(k), wSum(k);
  std::vector<uint8_t> b(k), bSum(k);
  for (size_t i = 0; i < k; ++i) {
    l[i] = int64_t(r_) * (int64_t(1) << 40) + int64_t(i);
    lMax[i] = int64_t(n_ - 1) * (int64_t(1) << 40) + int64_t(i);
    w[i] = r_ * 1000 - int32_t(i);
    wSum[i] = 1000 * n_ * (n_ - 1) / 2 - n_ * int32_t(i);
    b[i] = static_cast<uint8_t>(r_ + 1 + i % 7);
    bSum[i] = static_cast<uint8_t>(n_ * (n_ + 1) / 2 + n_ * (i % 7));
  }
  DeviceVec<int64_t> ls(l), lr(k);
  DeviceVec<int32_t> ws(w), wr(k);
  DeviceVec<uint8_t> bs(b), br(k);
  expectOk("all_reduce i64", pzrt_all_reduce(c_, ls.get(), lr.get(), k, PZRT_I64, PZRT_REDUCE_MAX));
  expectEq("all_reduce max i64", lr.host(), lMax);
  expectOk("all_reduce i32", pzrt_all_reduce(c_, ws.get(), wr.get(), k, PZRT_I32, PZRT_REDUCE_SUM));
  expectEq("all_reduce sum i32", wr.host(), wSum);
  expectOk("all_reduce u8", pzrt_all_reduce(c_, bs.get(), br.get(), k, PZRT_U8, PZRT_REDUCE_SUM));
  expectEq("all_reduce sum u8", br.host(), bSum);
}

// bf16 and fp16 on small integers and halves: exact in both, so the sum is
// exact whatever order NCCL adds in.
inline void Checker::halves() {
  const size_t k = 256;
  for (pzrt_dtype dt : {PZRT_BF16, PZRT_F16}) {
    auto enc = [dt](float x) { return dt == PZRT_BF16 ? pzrt_f32_to_bf16(x) : pzrt_f32_to_f16(x); };
    std::vector<uint16_t> x(k), want(k);
    for (size_t i = 0; i < k; ++i) {
      float v = static_cast<float>(i % 16) * 0.5f;
      x[i] = enc(v + static_cast<float>(r_));
      want[i] = enc(v * n_ + static_cast<float>(n_ * (n_ - 1) / 2));
    }
    DeviceVec<uint16_t> s(x), r(k);
    expectOk("all_reduce 16-bit", pzrt_all_reduce(c_, s.get(), r.get(), k, dt, PZRT_REDUCE_SUM));
    expectEq(dt == PZRT_BF16 ? "all_reduce sum bf16" : "all_reduce sum f16", r.host(), want);
  }
}

inline void Checker::gatherScatter() {
  const size_t k = 33;
  std::vector<float> mine(k), all(k * n_);
  for (size_t i = 0; i < k; ++i)
    mine[i] = static_cast<float>(r_ * 100) + static_cast<float>(i);
  for (int p = 0; p < n_; ++p)
    for (size_t i = 0; i < k; ++i)
      all[p * k + i] = static_cast<float>(p * 100) + static_cast<float>(i);
  DeviceVec<float> s(mine), g(k * n_);
  expectOk("all_gather", pzrt_all_gather(c_, s.get(), g.get(), k, PZRT_F32));
  expectEq("all_gather f32", g.host(), all);
  // In place: this rank's block of the result is the send buffer.
  std::vector<float> staged(k * n_, -1.0f);
  std::memcpy(&staged[r_ * k], mine.data(), k * sizeof(float));
  DeviceVec<float> ip(staged);
  expectOk("all_gather in place", pzrt_all_gather(c_, ip.get() + r_ * k, ip.get(), k, PZRT_F32));
  expectEq("all_gather f32 in place", ip.host(), all);

  // reduce_scatter: rank r sends r + 1000 p + i for block p.
  std::vector<int64_t> send(k * n_), want(k);
  for (int p = 0; p < n_; ++p)
    for (size_t i = 0; i < k; ++i)
      send[p * k + i] = r_ + 1000 * p + int64_t(i);
  for (size_t i = 0; i < k; ++i)
    want[i] = n_ * (n_ - 1) / 2 + n_ * (1000 * r_ + int64_t(i));
  DeviceVec<int64_t> rs(send), rr(k);
  expectOk("reduce_scatter",
           pzrt_reduce_scatter(c_, rs.get(), rr.get(), k, PZRT_I64, PZRT_REDUCE_SUM));
  expectEq("reduce_scatter sum i64", rr.host(), want);
  DeviceVec<int64_t> ris(send);
  expectOk("reduce_scatter in place", pzrt_reduce_scatter(c_, ris.get(), ris.get() + r_ * k, k,
                                                          PZRT_I64, PZRT_REDUCE_SUM));
  std::vector<int64_t> got = ris.host();
  expectEq("reduce_scatter in place", std::vector<int64_t>(got.begin() + r_ * k,
                                                           got.begin() + (r_ + 1) * k),
           want);
}

inline void Checker::allToAll() {
  const size_t k = 5;
  std::vector<int32_t> send(k * n_), want(k * n_);
  for (int p = 0; p < n_; ++p)
    for (size_t i = 0; i < k; ++i) {
      send[p * k + i] = 10000 * r_ + 100 * p + int32_t(i); // to p, from r_
      want[p * k + i] = 10000 * p + 100 * r_ + int32_t(i); // from p, to r_
    }
  DeviceVec<int32_t> s(send), r(k * n_);
  expectOk("all_to_all", pzrt_all_to_all(c_, s.get(), r.get(), k, PZRT_I32));
  expectEq("all_to_all i32", r.host(), want);
}

inline void Checker::broadcast() {
  const size_t k = 77;
  int root = n_ - 1;
  std::vector<double> x(k, 0.0), want(k);
  for (size_t i = 0; i < k; ++i) {
    want[i] = 42.25 + static_cast<double>(i);
    if (r_ == root)
      x[i] = want[i];
  }
  DeviceVec<double> b(x);
  expectOk("broadcast", pzrt_broadcast(c_, b.get(), k, PZRT_F64, root));
  expectEq("broadcast f64", b.host(), want);
  expectOk("barrier", pzrt_barrier(c_));
}

inline void Checker::pointToPoint() {
  if (n_ < 2)
    return; // a rank cannot exchange messages with itself
  const size_t k = 19;
  int next = (r_ + 1) % n_, prev = (r_ + n_ - 1) % n_;
  std::vector<float> mine(k), want(k);
  for (size_t i = 0; i < k; ++i) {
    mine[i] = static_cast<float>(7 * r_) + static_cast<float>(i);
    want[i] = static_cast<float>(7 * prev) + static_cast<float>(i);
  }
  DeviceVec<float> s(mine), r(k);
  expectOk("sendrecv ring",
           pzrt_sendrecv(c_, s.get(), k, next, r.get(), k, prev, PZRT_F32, 3));
  expectEq("sendrecv ring f32", r.host(), want);
  // One-sided: even ranks send to the next odd one.
  if (n_ % 2 == 0) {
    DeviceVec<float> r2(k);
    if (r_ % 2 == 0) {
      expectOk("send", pzrt_send(c_, s.get(), k, PZRT_F32, r_ + 1, 4));
    } else {
      expectOk("recv", pzrt_recv(c_, r2.get(), k, PZRT_F32, r_ - 1, 4));
      expectEq("send/recv f32", r2.host(), want);
    }
  }
}

inline void Checker::split() {
  // Ranks of one parity, in reverse order.
  pzrt_comm *sub = pzrt_comm_split(c_, r_ % 2, n_ - r_, "parity");
  if (!sub) {
    fail(std::string("split failed: ") + pzrt_last_error() + "\n");
    return;
  }
  int members = 0, above = 0, sum = 0;
  for (int p = r_ % 2; p < n_; p += 2) {
    ++members;
    sum += p;
    if (p > r_)
      ++above;
  }
  if (pzrt_comm_size(sub) != members || pzrt_comm_rank(sub) != above ||
      std::string(pzrt_comm_name(sub)) != "parity" ||
      pzrt_comm_timeout(sub) != pzrt_comm_timeout(c_))
    fail("split on rank " + std::to_string(r_) + ": size " + std::to_string(pzrt_comm_size(sub)) +
         " rank " + std::to_string(pzrt_comm_rank(sub)) + ", expected " +
         std::to_string(members) + " and " + std::to_string(above) + "\n");
  DeviceVec<int32_t> x(std::vector<int32_t>{r_}), y(1);
  expectOk("all_reduce on split",
           pzrt_all_reduce(sub, x.get(), y.get(), 1, PZRT_I32, PZRT_REDUCE_SUM));
  expectEq("all_reduce on split", y.host(), std::vector<int32_t>{sum});
  pzrt_comm_destroy(sub);
}

inline void Checker::refusals() {
  DeviceVec<uint16_t> a(8), b(8);
  if (pzrt_all_reduce(c_, a.get(), b.get(), 8, PZRT_U16, PZRT_REDUCE_SUM) != -1 ||
      std::string(pzrt_last_error()).find("unsupported dtype U16") == std::string::npos)
    fail("U16 was not refused: " + std::string(pzrt_last_error()) + "\n");
  if (pzrt_all_to_all(c_, a.get(), a.get(), 1, PZRT_I32) != -1)
    fail("an overlapping all_to_all was not refused\n");
}

inline std::string Checker::run() {
  uint64_t before = pzrt_comm_calls(PZRT_COLL_ALL_REDUCE);
  allReduce();
  halves();
  gatherScatter();
  allToAll();
  broadcast();
  pointToPoint();
  split();
  refusals();
  if (pzrt_comm_calls(PZRT_COLL_ALL_REDUCE) < before + 7)
    fail("the all_reduce call counter did not advance\n");
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess && e != cudaErrorNotReady) // the communicator's event polls
    fail(std::string("CUDA error: ") + cudaGetErrorString(e) + "\n");
  if (failures_ > 8)
    report_ += "... and " + std::to_string(failures_ - 8) + " more\n";
  return report_;
}

} // namespace pzrt::test

#endif // PZRT_TEST_NCCL_NCCL_CHECKS_H
