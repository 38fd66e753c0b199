// The TCP host communicator: pzrt's communicator for launches without MPI
// (torchrun-style environments), over the connections of tcp_mesh.h.
//
// Collectives use the ring algorithms whose bytes comm.h counts: all_reduce
// is a ring reduce-scatter and a ring all-gather over n chunks of nearly
// equal size (chunk c is elements [c*count/n, (c+1)*count/n)), and
// reduce_scatter and all_gather are those rings alone, so the payload each
// rank writes equals the counters' formula summed over the ranks. Chunk c is
// summed in ring order starting after rank c: every rank gets the same bits,
// the same in every run. 16-bit types are reduced in fp32 and rounded once,
// as on MPI (their reductions then move fp32). Broadcast is a pipelined
// chain from the root in 1 MiB pieces; all_to_all posts every exchange at
// once; a barrier is a one-element all_reduce.
#include "comm/comm_impl.h"
#include "comm/half_words.h"
#include "comm/tcp_mesh.h"
#include "core/internal.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

using pzrt::fail;

namespace {

using pzrt::tcp::Mesh;
using pzrt::tcp::Op;
using pzrt::tcp::WaitInfo;

using pzrt::tcp::kCollectiveTag;
constexpr size_t kBroadcastPiece = 1u << 20;

using pzrt::isHalf;
using pzrt::reduceInFp32;

// acc[i] = acc[i] (op) in[i]: what came down the ring, then this rank's.
template <typename T> void fold(T *acc, const T *in, size_t n, pzrt_reduce_op op) {
  if (op == PZRT_REDUCE_MAX)
    for (size_t i = 0; i < n; ++i)
      acc[i] = std::max(acc[i], in[i]);
  else
    for (size_t i = 0; i < n; ++i)
      acc[i] += in[i];
}

void foldAny(void *acc, const void *in, size_t n, pzrt_dtype d, pzrt_reduce_op op) {
  if (d == PZRT_I64)
    fold(static_cast<int64_t *>(acc), static_cast<const int64_t *>(in), n, op);
  else
    fold(static_cast<float *>(acc), static_cast<const float *>(in), n, op);
}

uint64_t fnv(uint64_t h, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 1099511628211ull;
  }
  return h;
}

struct TcpComm final : pzrt_comm {
  std::shared_ptr<Mesh> mesh;
  std::vector<int> members; // world rank of each rank of this communicator
  uint64_t id = 1;
  uint64_t splits = 0;
  // The reduce-scatter's receive buffers, kept between calls (fresh memory
  // costs a page fault a page on every call).
  std::unique_ptr<char[]> scratch;
  size_t scratchBytes = 0;

  char *scratchOf(size_t bytes) {
    if (bytes > scratchBytes) {
      scratch.reset(new char[bytes]);
      scratchBytes = bytes;
    }
    return scratch.get();
  }

  bool isMpi() const override { return false; }
  bool callableFromAnyThread() const override { return true; }

  // Every operation holds the mesh's lock: one thread at a time.
  std::unique_lock<std::recursive_timed_mutex> hold() const {
    return std::unique_lock<std::recursive_timed_mutex>(mesh->mutex());
  }

  WaitInfo info(const char *op, size_t count, pzrt_dtype dtype) const {
    WaitInfo w;
    w.op = op;
    w.commName = &name;
    w.commRank = rank;
    w.commSize = size;
    w.count = count;
    w.dtype = dtype;
    w.timeoutS = timeoutS;
    return w;
  }

  Op makeOp(bool isSend, int commPeer, uint32_t tag, const void *buf, size_t bytes,
            size_t elemSize = 1) const {
    Op op;
    op.commPeer = commPeer;
    op.elemSize = elemSize;
    op.isSend = isSend;
    op.peer = members[static_cast<size_t>(commPeer)];
    op.comm = id;
    op.tag = tag;
    op.buf = static_cast<char *>(const_cast<void *>(buf));
    op.bytes = bytes;
    return op;
  }

  // Sends to one peer and receives from another at once (either may be
  // absent: its peer < 0), and waits for both.
  int exchange(int to, const void *sendBuf, size_t sendBytes, int from, void *recvBuf,
               size_t recvBytes, uint32_t tag, const WaitInfo &w, size_t elemSize = 1) {
    Op ops[2];
    Op *list[2];
    size_t n = 0;
    if (from >= 0)
      ops[n] = makeOp(false, from, tag, recvBuf, recvBytes, elemSize), list[n] = &ops[n], ++n;
    if (to >= 0)
      ops[n] = makeOp(true, to, tag, sendBuf, sendBytes), list[n] = &ops[n], ++n;
    for (size_t i = 0; i < n; ++i)
      mesh->post(list[i]);
    return mesh->wait(list, n, w);
  }

  size_t chunkOff(size_t c, size_t count) const { return c * count / static_cast<size_t>(size); }

  // Ring reduce-scatter of `local` (count elements of F32 or I64, in n
  // chunks): this rank's complete chunk goes to `out`.
  int ringReduceScatter(const void *local, void *out, size_t count, pzrt_dtype d,
                        pzrt_reduce_op op, const WaitInfo &w) {
    const size_t n = static_cast<size_t>(size), r = static_cast<size_t>(rank);
    const size_t es = pzrt_dtype_size(d);
    const char *in = static_cast<const char *>(local);
    size_t maxChunk = 0;
    for (size_t c = 0; c < n; ++c)
      maxChunk = std::max(maxChunk, chunkOff(c + 1, count) - chunkOff(c, count));
    char *scratch[2] = {scratchOf(2 * maxChunk * es), nullptr};
    scratch[1] = scratch[0] + maxChunk * es;
    const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    const char *cur = nullptr;
    for (size_t s = 0; s + 1 < n; ++s) {
      size_t sendIdx = (r + 2 * n - s - 1) % n, recvIdx = (r + 2 * n - s - 2) % n;
      size_t sendLen = chunkOff(sendIdx + 1, count) - chunkOff(sendIdx, count);
      size_t recvLen = chunkOff(recvIdx + 1, count) - chunkOff(recvIdx, count);
      const char *src = s == 0 ? in + chunkOff(sendIdx, count) * es : cur;
      char *dst = scratch[s % 2];
      if (exchange(next, src, sendLen * es, prev, dst, recvLen * es, kCollectiveTag, w, es))
        return -1;
      foldAny(dst, in + chunkOff(recvIdx, count) * es, recvLen, d, op);
      cur = dst;
    }
    size_t len = chunkOff(r + 1, count) - chunkOff(r, count);
    std::memmove(out, n == 1 ? in : cur, len * es); // n == 1 in place: out is in
    return 0;
  }

  // Ring all-gather in place: chunk `rank` of buf (count elements, n
  // chunks) is this rank's; every other chunk arrives.
  int ringAllGather(void *buf, size_t count, size_t es, const WaitInfo &w) {
    const size_t n = static_cast<size_t>(size), r = static_cast<size_t>(rank);
    char *b = static_cast<char *>(buf);
    const int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    for (size_t s = 0; s + 1 < n; ++s) {
      size_t sendIdx = (r + n - s) % n, recvIdx = (r + 2 * n - s - 1) % n;
      size_t sendOff = chunkOff(sendIdx, count), recvOff = chunkOff(recvIdx, count);
      if (exchange(next, b + sendOff * es, (chunkOff(sendIdx + 1, count) - sendOff) * es, prev,
                   b + recvOff * es, (chunkOff(recvIdx + 1, count) - recvOff) * es, kCollectiveTag, w,
                   es))
        return -1;
    }
    return 0;
  }

  int ringAllReduce(const void *send, void *recv, size_t count, pzrt_dtype d, pzrt_reduce_op op,
                    const WaitInfo &w) {
    const size_t es = pzrt_dtype_size(d);
    // In place too: the reduce-scatter reads this rank's chunks and writes
    // only its scratch until its last step has read chunk `rank`, which it
    // then writes; the all-gather writes the other chunks after that.
    char *out = static_cast<char *>(recv) + chunkOff(static_cast<size_t>(rank), count) * es;
    if (ringReduceScatter(send, out, count, d, op, w))
      return -1;
    return ringAllGather(recv, count, es, w);
  }

  // Every rank passes the same count: a collective of nothing moves nothing.
  int allReduce(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                pzrt_reduce_op op) override {
    if (count == 0)
      return 0;
    auto lock = hold();
    WaitInfo w = info("all_reduce", count, dtype);
    if (!isHalf(dtype))
      return ringAllReduce(send, recv, count, dtype, op, w);
    return reduceInFp32(send, count, recv, count, dtype, [&](const float *in, float *out) {
      return ringAllReduce(in, out, count, PZRT_F32, op, w);
    });
  }

  int reduceScatter(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                    pzrt_reduce_op op) override {
    if (count == 0)
      return 0;
    auto lock = hold();
    WaitInfo w = info("reduce_scatter", count, dtype);
    const size_t total = count * static_cast<size_t>(size);
    if (!isHalf(dtype))
      return ringReduceScatter(send, recv, total, dtype, op, w);
    return reduceInFp32(send, total, recv, count, dtype, [&](const float *in, float *out) {
      return ringReduceScatter(in, out, total, PZRT_F32, op, w);
    });
  }

  int allGather(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    if (count == 0)
      return 0;
    auto lock = hold();
    const size_t es = pzrt_dtype_size(dtype);
    std::memmove(static_cast<char *>(recv) + static_cast<size_t>(rank) * count * es, send,
                 count * es);
    return ringAllGather(recv, count * static_cast<size_t>(size), es,
                         info("all_gather", count, dtype));
  }

  int allToAll(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    if (count == 0)
      return 0;
    auto lock = hold();
    const size_t bytes = count * pzrt_dtype_size(dtype);
    const char *s = static_cast<const char *>(send);
    char *d = static_cast<char *>(recv);
    std::memcpy(d + static_cast<size_t>(rank) * bytes, s + static_cast<size_t>(rank) * bytes,
                bytes);
    std::vector<Op> ops;
    ops.reserve(2 * static_cast<size_t>(size));
    for (int p = 0; p < size; ++p)
      if (p != rank)
        ops.push_back(makeOp(false, p, kCollectiveTag, d + static_cast<size_t>(p) * bytes, bytes));
    for (int p = 0; p < size; ++p)
      if (p != rank)
        ops.push_back(makeOp(true, p, kCollectiveTag, s + static_cast<size_t>(p) * bytes, bytes));
    std::vector<Op *> list;
    for (Op &op : ops) {
      list.push_back(&op);
      mesh->post(&op);
    }
    return mesh->wait(list.data(), list.size(), info("all_to_all", count, dtype));
  }

  int broadcast(void *buf, size_t count, pzrt_dtype dtype, int root) override {
    auto lock = hold();
    if (size == 1)
      return 0;
    const size_t es = pzrt_dtype_size(dtype), bytes = count * es;
    const size_t piece = std::max<size_t>(es, kBroadcastPiece / es * es);
    const int pos = (rank - root + size) % size;
    const int prev = pos == 0 ? -1 : (rank + size - 1) % size;
    const int next = pos == size - 1 ? -1 : (rank + 1) % size;
    char *b = static_cast<char *>(buf);
    const size_t pieces = (bytes + piece - 1) / piece;
    std::vector<Op> recvs(pieces), sends(pieces);
    WaitInfo w = info("broadcast", count, dtype);
    auto len = [&](size_t k) { return std::min(piece, bytes - k * piece); };
    // One piece's receive is posted at a time, the next as soon as the one
    // before arrives (pieces sent ahead wait in the peer's queue): after a
    // piece of another length, no receive of this broadcast is left posted
    // to take a later collective's message.
    auto postRecv = [&](size_t k) {
      recvs[k] = makeOp(false, prev, kCollectiveTag, b + k * piece, len(k), es);
      mesh->post(&recvs[k]);
    };
    if (prev >= 0 && pieces > 0)
      postRecv(0);
    std::vector<Op *> sent;
    for (size_t k = 0; k < pieces; ++k) {
      Op *got = &recvs[k];
      if (prev >= 0 && mesh->wait(&got, 1, w)) {
        // Nothing posted may outlive this call.
        mesh->cancel(sent.data(), sent.size(), w);
        return -1;
      }
      if (prev >= 0 && k + 1 < pieces)
        postRecv(k + 1);
      if (next >= 0) {
        sends[k] = makeOp(true, next, kCollectiveTag, b + k * piece, len(k));
        mesh->post(&sends[k]);
        sent.push_back(&sends[k]);
      }
    }
    return mesh->wait(sent.data(), sent.size(), w);
  }

  int sendRecv(const void *send, size_t sendCount, int dst, void *recv, size_t recvCount, int src,
               pzrt_dtype dtype, int tag) override {
    auto lock = hold();
    const size_t es = pzrt_dtype_size(dtype);
    const char *op = sendCount && recvCount ? "sendrecv" : (sendCount ? "send" : "recv");
    return exchange(sendCount ? dst : -1, send, sendCount * es, recvCount ? src : -1, recv,
                    recvCount * es, static_cast<uint32_t>(tag),
                    info(op, sendCount ? sendCount : recvCount, dtype), es);
  }

  // A send in flight: the operation, and what a wait's messages name.
  struct PendingSend {
    Op op;
    size_t count;
    pzrt_dtype dtype;
  };

  int isend(const void *send, size_t count, int dst, pzrt_dtype dtype, int tag,
            void **handle) override {
    auto *p = new PendingSend{makeOp(true, dst, static_cast<uint32_t>(tag), send,
                                     count * pzrt_dtype_size(dtype)),
                              count, dtype};
    auto lock = hold();
    mesh->post(&p->op);
    *handle = p;
    return 0;
  }

  int waitSend(void *handle) override {
    std::unique_ptr<PendingSend> p(static_cast<PendingSend *>(handle));
    if (!p)
      return 0;
    Op *op = &p->op;
    auto lock = hold();
    return mesh->wait(&op, 1, info("send", p->count, p->dtype));
  }

  int testSend(void *handle, bool *done) override {
    auto *p = static_cast<PendingSend *>(handle);
    *done = true;
    if (!p)
      return 0;
    auto lock = hold();
    if (!p->op.complete)
      mesh->progressNow();
    *done = p->op.complete;
    return 0;
  }

  int barrier() override {
    auto lock = hold();
    int64_t zero = 0;
    return ringAllReduce(&zero, &zero, 1, PZRT_I64, PZRT_REDUCE_SUM,
                         info("barrier", 0, PZRT_F32));
  }

  pzrt_comm *split(int color, int key, const std::string &newName) override {
    auto lock = hold();
    int64_t mine[3] = {color, key, rank};
    std::vector<int64_t> all(3 * static_cast<size_t>(size));
    std::memcpy(all.data() + 3 * static_cast<size_t>(rank), mine, sizeof(mine));
    if (ringAllGather(all.data(), all.size(), sizeof(int64_t), info("split", 3, PZRT_I64)))
      return nullptr;
    std::vector<std::pair<int64_t, int64_t>> chosen; // (key, parent rank)
    for (int p = 0; p < size; ++p)
      if (all[3 * static_cast<size_t>(p)] == color)
        chosen.push_back({all[3 * static_cast<size_t>(p) + 1], p});
    std::sort(chosen.begin(), chosen.end());
    auto *c = new TcpComm();
    c->mesh = mesh;
    for (size_t i = 0; i < chosen.size(); ++i) {
      if (chosen[i].second == rank)
        c->rank = static_cast<int>(i);
      c->members.push_back(members[static_cast<size_t>(chosen[i].second)]);
    }
    c->size = static_cast<int>(chosen.size());
    c->worldRank = worldRank;
    c->worldSize = worldSize;
    c->timeoutS = timeoutS;
    c->name = newName;
    // The same on every member: the parent, how many splits it made, the color.
    c->id = fnv(fnv(fnv(1469598103934665603ull, id), ++splits), static_cast<uint64_t>(color));
    return c;
  }
};

} // namespace

namespace pzrt {

pzrt_comm *createTcpComm() {
  RendezvousOptions opts;
  if (rendezvousOptionsFromEnv(&opts))
    return nullptr;
  std::shared_ptr<tcp::Mesh> mesh = tcp::Mesh::create(opts);
  if (!mesh)
    return nullptr;
  auto *c = new TcpComm();
  c->mesh = std::move(mesh);
  c->rank = c->worldRank = opts.rank;
  c->size = c->worldSize = opts.size;
  c->timeoutS = opts.timeoutS;
  c->name = "world";
  for (int r = 0; r < opts.size; ++r)
    c->members.push_back(r);
  return c;
}

uint64_t tcpPayloadBytesSent(const pzrt_comm *comm) {
  auto *c = dynamic_cast<const TcpComm *>(comm);
  return c ? c->mesh->payloadBytesSent() : 0;
}

} // namespace pzrt
