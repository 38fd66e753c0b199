// A randomized differential test of the host communicators: the same
// pseudo-random program of a few hundred operations runs on MPI (under
// mpirun) and on TCP (under scripts/launch-local.py), and every rank checks
// every output element against a result it computes itself, without the
// communicator.
//
// The program. Every rank seeds the same std::mt19937_64 (the seed is rank
// 0's, broadcast first) and draws the same sequence: which operation, its
// element type, count, reduction, root, tags, peers, which communicator, and
// for splits every rank's color and key. Nothing drawn depends on the rank,
// so the ranks stay in step; a rank only chooses its own part afterwards
// (its group, its peers). The operations: all_reduce (sum, max; F32, I64,
// BF16, F16; in place and not), reduce_scatter, all_gather, all_to_all (each
// also in place: NCCL's forms for the first two, send == recv for the third;
// comm.cpp copies an overlapping send buffer aside for the host
// communicators), broadcast from random roots with sizes around the TCP
// broadcast's 1 MiB pieces, barrier,
// sendrecv over random permutations, blocking send/recv between random
// pairs, batches of isends to several peers on several communicators whose
// receives are posted in another order, isends and collectives interleaved
// on two communicators with the same tag (and broadcasts and all_reduces
// between isends and their receives), and re-splitting of three
// communicator slots from the world or from each other (random colors and
// keys, ties, negative keys, nested splits). Counts run from 0 and 1 through
// counts around (smaller than, not divisible by) the communicator size up to
// a few MiB.
//
// The values. Element i of what world rank w contributes to operation k is a
// hash of (seed, k, w, purpose, i), so any rank can compute any other rank's
// input. Sums use values whose every partial sum is exact (F32: multiples of
// 1/4, |sum| <= 2^22; BF16: halves, |sum| <= 128; F16: quarters,
// |sum| <= 512; I64: below 2^40 in magnitude), so the result does not depend
// on the order of the additions and is compared bit for bit; maxima use any
// finite or infinite value except NaN and -0 (max of +0 and -0 is either).
// Moves (gather, all_to_all, broadcast, messages) use raw random bits. Every
// output element is compared; so are the 64 bytes either side of every
// buffer (nothing written out of bounds) and the send buffers (unchanged).
//
// Reproducing a failure: each failure names the seed and the operation index;
// PZRT_TEST_RANDOM_SEED=<seed> reruns that program (PZRT_TEST_RANDOM_OPS
// changes the number of operations, default 500; PZRT_TEST_RANDOM_VERBOSE=1
// prints every operation as each rank runs it).
#include "mpi_common.h"

#include "pzrt/error.h"
#include "pzrt/types.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

constexpr uint64_t kDefaultSeed = 20240521;
constexpr int kDefaultOps = 500;

uint64_t mix(uint64_t x) { // splitmix64's finalizer
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t envU64(const char *name, uint64_t def) {
  const char *v = std::getenv(name);
  if (!v || !*v)
    return def;
  char *end = nullptr;
  uint64_t x = std::strtoull(v, &end, 0);
  return end != v && *end == '\0' ? x : def;
}

// The shared random program: every rank draws the same numbers in the same
// order (own shuffle and ranges, not the standard library's distributions,
// so a seed means the same program everywhere).
class Draw {
public:
  explicit Draw(uint64_t seed) : g_(seed) {}
  uint64_t bits() { return g_(); }
  uint64_t below(uint64_t n) { return n ? g_() % n : 0; }
  bool coin(unsigned percent) { return below(100) < percent; }
  template <typename T> void shuffle(std::vector<T> &v) {
    for (size_t i = v.size(); i > 1; --i)
      std::swap(v[i - 1], v[below(i)]);
  }
  // About log-uniform in [lo, hi].
  size_t logUniform(size_t lo, size_t hi) {
    if (hi <= lo)
      return lo;
    int a = 63 - __builtin_clzll(std::max<size_t>(lo, 1)), b = 63 - __builtin_clzll(hi);
    int e = a + static_cast<int>(below(static_cast<uint64_t>(b - a + 1)));
    size_t v = (size_t(1) << e) + below(size_t(1) << e);
    return std::min(std::max(v, lo), hi);
  }

private:
  std::mt19937_64 g_;
};

const pzrt_dtype kTypes[] = {PZRT_F32, PZRT_I64, PZRT_BF16, PZRT_F16};

enum class Fill { Raw, Sum, Max };

uint64_t maskOf(size_t es) { return es >= 8 ? ~uint64_t(0) : (uint64_t(1) << (8 * es)) - 1; }
// Elements are read and written as the low es bytes of a word (little endian).
uint64_t readWord(const uint8_t *p, size_t i, size_t es) {
  uint64_t w = 0;
  std::memcpy(&w, p + i * es, es);
  return w;
}
void writeWord(uint8_t *p, size_t i, size_t es, uint64_t w) { std::memcpy(p + i * es, &w, es); }

float f32Of(uint64_t w) {
  uint32_t b = static_cast<uint32_t>(w);
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
uint64_t bitsOf(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}
double valueOf(pzrt_dtype d, uint64_t w) {
  switch (d) {
  case PZRT_F32:
    return f32Of(w);
  case PZRT_BF16:
    return pzrt_bf16_to_f32(static_cast<uint16_t>(w));
  case PZRT_F16:
    return pzrt_f16_to_f32(static_cast<uint16_t>(w));
  default:
    return static_cast<double>(static_cast<int64_t>(w));
  }
}
std::string showWord(pzrt_dtype d, uint64_t w) {
  char buf[96];
  if (d == PZRT_I64)
    std::snprintf(buf, sizeof buf, "%" PRId64, static_cast<int64_t>(w));
  else
    std::snprintf(buf, sizeof buf, "0x%0*" PRIx64 " (%.9g)", d == PZRT_F32 ? 8 : 4, w,
                  valueOf(d, w));
  return buf;
}

// Element values: element i of stream s (one world rank's contribution to
// one operation, for one purpose) comes from at(s, i).
struct Values {
  uint64_t seed = 0;
  int worldSize = 1;

  uint64_t stream(uint64_t op, int worldRank, uint64_t purpose) const {
    return mix(mix(mix(seed) + op) ^ (purpose << 24) ^ static_cast<uint64_t>(worldRank));
  }
  static uint64_t at(uint64_t s, size_t i) { return mix(s ^ (i * 0xD1B54A32D192ED03ull)); }

  // A sum's terms are integers in [-B, B] of a unit that keeps every partial
  // sum of up to worldSize terms exact: F32 2^24 quarters (24-bit
  // significand), BF16 256 halves (8 bits), F16 2048 quarters (11 bits).
  int64_t bound(pzrt_dtype d) const {
    switch (d) {
    case PZRT_F32:
      return (int64_t(1) << 24) / worldSize;
    case PZRT_BF16:
      return 256 / worldSize;
    case PZRT_F16:
      return 2048 / worldSize;
    default:
      return int64_t(1) << 40;
    }
  }
  int64_t units(pzrt_dtype d, uint64_t h) const {
    int64_t b = bound(d);
    return static_cast<int64_t>(h % static_cast<uint64_t>(2 * b + 1)) - b;
  }
  static uint64_t encode(pzrt_dtype d, int64_t k) {
    switch (d) {
    case PZRT_F32:
      return bitsOf(static_cast<float>(k) * 0.25f);
    case PZRT_BF16:
      return pzrt_f32_to_bf16(static_cast<float>(k) * 0.5f);
    case PZRT_F16:
      return pzrt_f32_to_f16(static_cast<float>(k) * 0.25f);
    default:
      return static_cast<uint64_t>(k);
    }
  }
  // Any bits but NaN (cleared to a finite value) and -0 (made +0).
  static uint64_t forMax(pzrt_dtype d, uint64_t h) {
    switch (d) {
    case PZRT_F32: {
      uint64_t b = h & 0xFFFFFFFFu;
      if ((b & 0x7F800000u) == 0x7F800000u && (b & 0x7FFFFFu))
        b &= ~uint64_t(0x40000000u);
      return b == 0x80000000u ? 0 : b;
    }
    case PZRT_BF16:
    case PZRT_F16: {
      uint64_t b = h & 0xFFFF;
      uint64_t exp = d == PZRT_BF16 ? 0x7F80 : 0x7C00, man = d == PZRT_BF16 ? 0x7F : 0x3FF;
      if ((b & exp) == exp && (b & man))
        b &= ~uint64_t(0x4000);
      return b == 0x8000 ? 0 : b;
    }
    default:
      return h;
    }
  }
  uint64_t word(pzrt_dtype d, Fill f, uint64_t h) const {
    if (f == Fill::Sum)
      return encode(d, units(d, h));
    if (f == Fill::Max)
      return forMax(d, h);
    return h & maskOf(pzrt_dtype_size(d));
  }
  // The reduction of element i of the streams, as it must come out.
  uint64_t reduced(pzrt_dtype d, Fill f, const std::vector<uint64_t> &streams, size_t i) const {
    if (f == Fill::Sum) {
      int64_t s = 0;
      for (uint64_t st : streams)
        s += units(d, at(st, i));
      return encode(d, s);
    }
    uint64_t best = forMax(d, at(streams[0], i));
    for (size_t q = 1; q < streams.size(); ++q) {
      uint64_t w = forMax(d, at(streams[q], i));
      bool greater = d == PZRT_I64 ? static_cast<int64_t>(w) > static_cast<int64_t>(best)
                                   : valueOf(d, w) > valueOf(d, best);
      if (greater)
        best = w;
    }
    return best;
  }
};

// A buffer with 64 guard bytes on either side, to see writes out of bounds.
constexpr size_t kGuard = 64;
struct Buf {
  std::vector<uint8_t> mem;
  size_t bytes;
  explicit Buf(size_t b) : mem(b + 2 * kGuard, 0xCD), bytes(b) {
    for (size_t i = 0; i < kGuard; ++i)
      mem[i] = mem[kGuard + b + i] = static_cast<uint8_t>(0xA5 ^ i);
  }
  uint8_t *p() { return mem.data() + kGuard; }
  const uint8_t *p() const { return mem.data() + kGuard; }
  bool guardsIntact() const {
    for (size_t i = 0; i < kGuard; ++i)
      if (mem[i] != static_cast<uint8_t>(0xA5 ^ i) ||
          mem[kGuard + bytes + i] != static_cast<uint8_t>(0xA5 ^ i))
        return false;
    return true;
  }
};

// Which ranks a communicator slot holds: its groups (world ranks in
// communicator rank order), and each world rank's group and rank in it.
struct Layout {
  std::vector<std::vector<int>> groups;
  std::vector<int> groupOf, rankIn;

  void index(int n) {
    groupOf.assign(static_cast<size_t>(n), -1);
    rankIn.assign(static_cast<size_t>(n), -1);
    for (size_t g = 0; g < groups.size(); ++g)
      for (size_t i = 0; i < groups[g].size(); ++i) {
        groupOf[static_cast<size_t>(groups[g][i])] = static_cast<int>(g);
        rankIn[static_cast<size_t>(groups[g][i])] = static_cast<int>(i);
      }
  }
};

struct Slot {
  pzrt_comm *comm = nullptr; // this rank's communicator of the slot
  bool owned = false;
  Layout lay;
  std::string what; // how it was made
};

class Program {
public:
  Program(uint64_t seed, int ops, pzrt_comm *world)
      : seed_(seed), ops_(ops), draw_(seed), world_(world) {
    n_ = pzrt_comm_size(world);
    r_ = pzrt_comm_rank(world);
    vals_.seed = seed;
    vals_.worldSize = n_;
    slots_.resize(4);
    slots_[0].comm = world;
    slots_[0].lay.groups.emplace_back();
    for (int w = 0; w < n_; ++w)
      slots_[0].lay.groups[0].push_back(w);
    slots_[0].lay.index(n_);
    slots_[0].what = "world";
  }
  ~Program() {
    for (Slot &s : slots_)
      if (s.owned)
        pzrt_comm_destroy(s.comm);
  }

  // Runs the program; false once an operation returned an error (then the
  // ranks may be out of step, and the program stops).
  bool run() {
    for (op_ = 0; op_ < static_cast<uint64_t>(ops_) && !stopped_; ++op_) {
      step();
      if (verbose_)
        std::printf("[rank %d] #%" PRIu64 " %s\n", r_, op_, desc_.c_str());
    }
    return !stopped_;
  }
  int failures() const { return failures_; }

private:
  void step() {
    desc_.clear();
    if (op_ < 3) { // three split slots to begin with, the third nested
      resplit(static_cast<int>(op_) + 1, op_ == 2 ? 1 : 0);
      return;
    }
    {
      uint64_t k = draw_.below(100);
      if (k < 24)
        allReduce();
      else if (k < 34)
        reduceScatter();
      else if (k < 44)
        allGather();
      else if (k < 53)
        allToAll();
      else if (k < 64)
        broadcast();
      else if (k < 67)
        barrier();
      else if (k < 77)
        sendRecv();
      else if (k < 85)
        isendBatch();
      else if (k < 93)
        interleaved();
      else {
        int s = 1 + static_cast<int>(draw_.below(3));
        int parent = static_cast<int>(draw_.below(4));
        resplit(s, parent == s ? 0 : parent);
      }
    }
  }

  // ---- reporting ----
  void report(const std::string &what) {
    ++failures_;
    if (failures_ > 30)
      return;
    std::ostringstream os;
    os << "seed " << seed_ << " (rerun with PZRT_TEST_RANDOM_SEED=" << seed_ << "), operation #"
       << op_ << " of " << ops_ << ", " << n_ << " ranks, "
       << (pzrt_comm_is_mpi(world_) ? "MPI" : "TCP") << ", world rank " << r_ << ": " << desc_
       << ": " << what;
    ADD_FAILURE() << os.str();
    if (failures_ == 30)
      ADD_FAILURE() << "further failures not reported";
  }
  // An error return: the program cannot go on in step.
  void callFailed(const char *call) {
    std::string msg = std::string(call) + " returned -1: " + pzrt_last_error();
    report(msg);
    std::fprintf(stderr, "[rank %d] CommRandom: seed %" PRIu64 " op #%" PRIu64 " (%s): %s\n", r_,
                 seed_, op_, desc_.c_str(), msg.c_str());
    stopped_ = true;
  }
  bool ok(int rc, const char *call) {
    if (rc != 0)
      callFailed(call);
    return rc == 0;
  }
  template <typename F>
  void expectWords(const uint8_t *p, size_t count, pzrt_dtype d, const std::string &what,
                   F &&expected) {
    const size_t es = pzrt_dtype_size(d);
    const uint64_t mask = maskOf(es);
    size_t bad = 0;
    for (size_t i = 0; i < count; ++i) {
      uint64_t want = expected(i) & mask, got = readWord(p, i, es);
      if (got != want && bad++ < 3)
        report(what + " element " + std::to_string(i) + " of " + std::to_string(count) +
               ": expected " + showWord(d, want) + ", got " + showWord(d, got));
    }
    if (bad > 3)
      report(what + ": " + std::to_string(bad) + " of " + std::to_string(count) +
             " elements differ");
  }
  void expectGuards(const Buf &b, const std::string &what) {
    if (!b.guardsIntact())
      report(what + ": written outside the buffer");
  }

  // ---- drawing ----
  pzrt_dtype dtype() { return kTypes[draw_.below(4)]; }
  // 0, 1, around the world size (smaller than it, not divisible by it), then
  // log-uniform up to maxBytes. Depends on nothing rank-specific.
  size_t count(size_t es, size_t maxBytes) {
    size_t most = std::max<size_t>(1, maxBytes / es), v;
    uint64_t c = draw_.below(100);
    if (c < 6)
      v = 0;
    else if (c < 12)
      v = 1;
    else if (c < 30)
      v = 2 + draw_.below(3 * static_cast<uint64_t>(n_));
    else if (c < 65)
      v = draw_.logUniform(2, 4096);
    else if (c < 88)
      v = draw_.logUniform(4096, 64 << 10);
    else
      v = draw_.logUniform(64 << 10, most);
    return std::min(v, most);
  }
  // The world half the time, else one of the split slots.
  int slot() { return draw_.coin(50) ? 0 : 1 + static_cast<int>(draw_.below(3)); }

  // ---- this rank's view of a slot ----
  const std::vector<int> &group(int s) const {
    const Layout &l = slots_[static_cast<size_t>(s)].lay;
    return l.groups[static_cast<size_t>(l.groupOf[static_cast<size_t>(r_)])];
  }
  int me(int s) const { return slots_[static_cast<size_t>(s)].lay.rankIn[static_cast<size_t>(r_)]; }
  pzrt_comm *comm(int s) const { return slots_[static_cast<size_t>(s)].comm; }
  std::string where(int s) const {
    std::ostringstream os;
    os << "on slot " << s << " '" << pzrt_comm_name(comm(s)) << "' ("
       << slots_[static_cast<size_t>(s)].what << "; this rank's group {";
    const auto &g = group(s);
    for (size_t i = 0; i < g.size(); ++i)
      os << (i ? "," : "") << g[i];
    os << "}, rank " << me(s) << ")";
    return os.str();
  }
  std::vector<uint64_t> streamsOf(const std::vector<int> &g, uint64_t purpose) const {
    std::vector<uint64_t> s;
    for (int w : g)
      s.push_back(vals_.stream(op_, w, purpose));
    return s;
  }
  void fill(Buf &b, size_t offsetBytes, pzrt_dtype d, Fill f, uint64_t stream, size_t count,
            size_t first = 0) const {
    const size_t es = pzrt_dtype_size(d);
    for (size_t i = 0; i < count; ++i)
      writeWord(b.p() + offsetBytes, i, es, vals_.word(d, f, Values::at(stream, first + i)));
  }

  // ---- operations ----
  void allReduce() {
    const int s = slot();
    const pzrt_dtype d = dtype();
    const bool isMax = draw_.coin(40), inPlace = draw_.coin(40);
    const size_t es = pzrt_dtype_size(d), cnt = count(es, 3u << 20);
    const Fill f = isMax ? Fill::Max : Fill::Sum;
    desc_ = std::string("all_reduce ") + (isMax ? "max " : "sum ") + pzrt_dtype_name(d) +
            " count " + std::to_string(cnt) + (inPlace ? " in place " : " ") + where(s);
    const auto &g = group(s);
    const auto streams = streamsOf(g, 0);
    const uint64_t mine = vals_.stream(op_, r_, 0);
    Buf in(cnt * es), out(cnt * es);
    fill(in, 0, d, f, mine, cnt);
    Buf &res = inPlace ? in : out;
    if (!ok(pzrt_all_reduce(comm(s), in.p(), res.p(), cnt, d,
                            isMax ? PZRT_REDUCE_MAX : PZRT_REDUCE_SUM),
            "pzrt_all_reduce"))
      return;
    expectWords(res.p(), cnt, d, "result",
                [&](size_t i) { return vals_.reduced(d, f, streams, i); });
    if (!inPlace)
      expectWords(in.p(), cnt, d, "send buffer (must not change)",
                  [&](size_t i) { return vals_.word(d, f, Values::at(mine, i)); });
    expectGuards(in, "send buffer");
    expectGuards(out, "receive buffer");
  }

  void reduceScatter() {
    const int s = slot();
    const pzrt_dtype d = dtype();
    const bool isMax = draw_.coin(40), inPlace = draw_.coin(30);
    const size_t es = pzrt_dtype_size(d), per = count(es, (3u << 20) / static_cast<size_t>(n_));
    const Fill f = isMax ? Fill::Max : Fill::Sum;
    desc_ = std::string("reduce_scatter ") + (isMax ? "max " : "sum ") + pzrt_dtype_name(d) +
            " recv_count " + std::to_string(per) +
            (inPlace ? " in place (recv = own block of send) " : " ") + where(s);
    const auto &g = group(s);
    const size_t gs = g.size(), m = static_cast<size_t>(me(s));
    const auto streams = streamsOf(g, 0);
    Buf in(gs * per * es), out(per * es);
    fill(in, 0, d, f, vals_.stream(op_, r_, 0), gs * per);
    uint8_t *recv = inPlace ? in.p() + m * per * es : out.p();
    if (!ok(pzrt_reduce_scatter(comm(s), in.p(), recv, per, d,
                                isMax ? PZRT_REDUCE_MAX : PZRT_REDUCE_SUM),
            "pzrt_reduce_scatter"))
      return;
    expectWords(recv, per, d, "this rank's block",
                [&](size_t i) { return vals_.reduced(d, f, streams, m * per + i); });
    expectGuards(in, "send buffer");
    expectGuards(out, "receive buffer");
  }

  void allGather() {
    const int s = slot();
    const pzrt_dtype d = dtype();
    const bool inPlace = draw_.coin(30);
    const size_t es = pzrt_dtype_size(d), per = count(es, (2u << 20) / static_cast<size_t>(n_));
    desc_ = std::string("all_gather ") + pzrt_dtype_name(d) + " send_count " + std::to_string(per) +
            (inPlace ? " in place (send = own block of recv) " : " ") + where(s);
    const auto &g = group(s);
    const size_t gs = g.size(), m = static_cast<size_t>(me(s));
    const auto streams = streamsOf(g, 0);
    Buf in(per * es), out(gs * per * es);
    const uint8_t *send = in.p();
    if (inPlace) {
      fill(out, m * per * es, d, Fill::Raw, streams[m], per);
      send = out.p() + m * per * es;
    } else {
      fill(in, 0, d, Fill::Raw, streams[m], per);
    }
    if (!ok(pzrt_all_gather(comm(s), send, out.p(), per, d), "pzrt_all_gather"))
      return;
    for (size_t q = 0; q < gs; ++q)
      expectWords(out.p() + q * per * es, per, d, "block " + std::to_string(q),
                  [&](size_t i) { return vals_.word(d, Fill::Raw, Values::at(streams[q], i)); });
    if (!inPlace)
      expectWords(in.p(), per, d, "send buffer (must not change)",
                  [&](size_t i) { return vals_.word(d, Fill::Raw, Values::at(streams[m], i)); });
    expectGuards(in, "send buffer");
    expectGuards(out, "receive buffer");
  }

  void allToAll() {
    const int s = slot();
    const pzrt_dtype d = dtype();
    const bool inPlace = draw_.coin(30);
    const size_t es = pzrt_dtype_size(d), per = count(es, (2u << 20) / static_cast<size_t>(n_));
    desc_ = std::string("all_to_all ") + pzrt_dtype_name(d) + " count " + std::to_string(per) +
            (inPlace ? " in place (send = recv) " : " ") + where(s);
    const auto &g = group(s);
    const size_t gs = g.size(), m = static_cast<size_t>(me(s));
    const auto streams = streamsOf(g, 0);
    Buf in(gs * per * es), out(gs * per * es);
    fill(in, 0, d, Fill::Raw, streams[m], gs * per);
    Buf &res = inPlace ? in : out;
    if (!ok(pzrt_all_to_all(comm(s), in.p(), res.p(), per, d), "pzrt_all_to_all"))
      return;
    // Block q came from rank q: its block m.
    for (size_t q = 0; q < gs; ++q)
      expectWords(res.p() + q * per * es, per, d, "block " + std::to_string(q), [&](size_t i) {
        return vals_.word(d, Fill::Raw, Values::at(streams[q], m * per + i));
      });
    expectGuards(in, "send buffer");
    expectGuards(out, "receive buffer");
  }

  void broadcast() {
    const int s = slot();
    const pzrt_dtype d = dtype();
    const size_t es = pzrt_dtype_size(d);
    size_t cnt;
    if (draw_.coin(35)) // k MiB and an element either side: the pieces' edges
      cnt = ((1 + draw_.below(3)) << 20) / es + draw_.below(3) - 1;
    else
      cnt = count(es, 4u << 20);
    const uint64_t rootDraw = draw_.bits();
    const auto &g = group(s);
    const int root = static_cast<int>(rootDraw % g.size());
    desc_ = std::string("broadcast ") + pzrt_dtype_name(d) + " count " + std::to_string(cnt) +
            " (" + std::to_string(cnt * es) + " bytes) root " + std::to_string(root) + " " +
            where(s);
    const uint64_t st = vals_.stream(op_, g[static_cast<size_t>(root)], 0);
    Buf b(cnt * es);
    if (me(s) == root)
      fill(b, 0, d, Fill::Raw, st, cnt);
    if (!ok(pzrt_broadcast(comm(s), b.p(), cnt, d, root), "pzrt_broadcast"))
      return;
    expectWords(b.p(), cnt, d, "buffer",
                [&](size_t i) { return vals_.word(d, Fill::Raw, Values::at(st, i)); });
    expectGuards(b, "buffer");
  }

  void barrier() {
    const int s = slot();
    desc_ = "barrier " + where(s);
    ok(pzrt_barrier(comm(s)), "pzrt_barrier");
  }

  // Within each group of a slot, a random permutation: every rank sends to
  // perm[me] and receives from perm^-1[me] in one sendrecv (a fixed point,
  // or a count of 0, skips that side); or random pairs, one sending first
  // with pzrt_send and then receiving with pzrt_recv, the other the reverse.
  void sendRecv() {
    const int s = slot();
    const pzrt_dtype d = dtype();
    const size_t es = pzrt_dtype_size(d);
    const bool pairs = draw_.coin(35);
    const int tag = static_cast<int>(draw_.below(32768));
    const Layout &lay = slots_[static_cast<size_t>(s)].lay;
    std::vector<std::vector<int>> perms;
    for (const auto &gr : lay.groups) {
      std::vector<int> p(gr.size());
      for (size_t i = 0; i < p.size(); ++i)
        p[i] = static_cast<int>(i);
      draw_.shuffle(p);
      perms.push_back(p);
    }
    std::vector<size_t> cnt; // what each world rank sends
    for (int w = 0; w < n_; ++w)
      cnt.push_back(count(es, 1u << 20));
    std::vector<bool> sendFirst;
    for (int w = 0; w < n_; ++w)
      sendFirst.push_back(draw_.coin(50));
    desc_ = std::string(pairs ? "send/recv pairs " : "sendrecv permutation ") + pzrt_dtype_name(d) +
            " tag " + std::to_string(tag) + " " + where(s);
    const auto &g = group(s);
    const auto &perm = perms[static_cast<size_t>(lay.groupOf[static_cast<size_t>(r_)])];
    const int m = me(s);
    int dst = -1, src = -1;
    if (pairs) {
      size_t pos = static_cast<size_t>(std::find(perm.begin(), perm.end(), m) - perm.begin());
      size_t other = pos ^ 1;
      if (other >= perm.size())
        return; // the odd one out
      dst = src = perm[other];
    } else {
      dst = perm[static_cast<size_t>(m)];
      src = static_cast<int>(std::find(perm.begin(), perm.end(), m) - perm.begin());
      if (dst == m)
        return; // a fixed point: src is m too
    }
    const int srcWorld = g[static_cast<size_t>(src)];
    const size_t sendCount = cnt[static_cast<size_t>(r_)],
                 recvCount = cnt[static_cast<size_t>(srcWorld)];
    desc_ += " to " + std::to_string(dst) + " (" + std::to_string(sendCount) + ") from " +
             std::to_string(src) + " (" + std::to_string(recvCount) + ")";
    const uint64_t mine = vals_.stream(op_, r_, 0), theirs = vals_.stream(op_, srcWorld, 0);
    Buf out(sendCount * es), in(recvCount * es);
    fill(out, 0, d, Fill::Raw, mine, sendCount);
    if (pairs) {
      // The lower rank of the pair decides, by its draw, who sends first.
      const bool iFirst = sendFirst[static_cast<size_t>(std::min(r_, srcWorld))] == (r_ < srcWorld);
      if (iFirst) {
        if (!ok(pzrt_send(comm(s), out.p(), sendCount, d, dst, tag), "pzrt_send") ||
            !ok(pzrt_recv(comm(s), in.p(), recvCount, d, src, tag), "pzrt_recv"))
          return;
      } else {
        if (!ok(pzrt_recv(comm(s), in.p(), recvCount, d, src, tag), "pzrt_recv") ||
            !ok(pzrt_send(comm(s), out.p(), sendCount, d, dst, tag), "pzrt_send"))
          return;
      }
    } else if (!ok(pzrt_sendrecv(comm(s), out.p(), sendCount, dst, in.p(), recvCount, src, d, tag),
                   "pzrt_sendrecv")) {
      return;
    }
    expectWords(in.p(), recvCount, d, "received",
                [&](size_t i) { return vals_.word(d, Fill::Raw, Values::at(theirs, i)); });
    expectWords(out.p(), sendCount, d, "send buffer (must not change)",
                [&](size_t i) { return vals_.word(d, Fill::Raw, Values::at(mine, i)); });
    expectGuards(in, "receive buffer");
    expectGuards(out, "send buffer");
  }

  // Messages between random pairs of world ranks, on the world or on a split
  // slot where both are in one group, tags often equal: every rank posts its
  // isends in one random order, receives in another (messages of the same
  // (communicator, source, destination, tag) in the order sent: the
  // non-overtaking rule), then waits for its sends in a third.
  struct Msg {
    int src, dst, slot, tag;
    pzrt_dtype d;
    size_t count;
  };
  void isendBatch() {
    const size_t nm = 1 + draw_.below(4 * static_cast<uint64_t>(n_));
    std::vector<Msg> msgs;
    for (size_t k = 0; k < nm; ++k) {
      Msg m;
      m.src = static_cast<int>(draw_.below(static_cast<uint64_t>(n_)));
      m.dst = static_cast<int>(draw_.below(static_cast<uint64_t>(n_ - 1)));
      if (m.dst >= m.src)
        ++m.dst;
      m.slot = slot();
      const Layout &l = slots_[static_cast<size_t>(m.slot)].lay;
      if (l.groupOf[static_cast<size_t>(m.src)] != l.groupOf[static_cast<size_t>(m.dst)])
        m.slot = 0;
      m.tag = static_cast<int>(draw_.coin(50) ? draw_.below(3) : draw_.below(32768));
      m.d = dtype();
      m.count = count(pzrt_dtype_size(m.d), 256u << 10);
      msgs.push_back(m);
    }
    std::vector<size_t> sendOrder(nm), recvOrder(nm), waitOrder(nm);
    for (size_t k = 0; k < nm; ++k)
      sendOrder[k] = recvOrder[k] = waitOrder[k] = k;
    draw_.shuffle(sendOrder);
    draw_.shuffle(recvOrder);
    draw_.shuffle(waitOrder);
    // Same key: receive in send order, at the positions the shuffle gave them.
    std::vector<size_t> sentAt(nm);
    for (size_t i = 0; i < nm; ++i)
      sentAt[sendOrder[i]] = i;
    std::map<std::tuple<int, int, int, int>, std::vector<size_t>> byKey; // positions in recvOrder
    for (size_t i = 0; i < nm; ++i) {
      const Msg &m = msgs[recvOrder[i]];
      byKey[std::make_tuple(m.slot, m.src, m.dst, m.tag)].push_back(i);
    }
    for (auto &kv : byKey) {
      std::vector<size_t> ks;
      for (size_t pos : kv.second)
        ks.push_back(recvOrder[pos]);
      std::sort(ks.begin(), ks.end(), [&](size_t a, size_t b) { return sentAt[a] < sentAt[b]; });
      for (size_t i = 0; i < ks.size(); ++i)
        recvOrder[kv.second[i]] = ks[i];
    }
    // Sometimes a world all_reduce between the isends and the receives.
    const bool between = draw_.coin(30);
    const size_t betweenCount = count(8, 256u << 10);
    int mineOut = 0, mineIn = 0;
    for (const Msg &m : msgs)
      mineOut += m.src == r_, mineIn += m.dst == r_;
    desc_ = "isend batch of " + std::to_string(nm) + " messages (" + std::to_string(mineOut) +
            " from this rank, " + std::to_string(mineIn) + " to it)" +
            (between ? ", a world all_reduce of " + std::to_string(betweenCount) +
                           " I64 between the isends and the receives"
                     : std::string());
    auto peerIn = [&](const Msg &m, int w) {
      return slots_[static_cast<size_t>(m.slot)].lay.rankIn[static_cast<size_t>(w)];
    };
    auto msgDesc = [&](size_t k) {
      const Msg &m = msgs[k];
      return "message " + std::to_string(k) + " (" + pzrt_dtype_name(m.d) + " count " +
             std::to_string(m.count) + " world " + std::to_string(m.src) + " -> " +
             std::to_string(m.dst) + " slot " + std::to_string(m.slot) + " '" +
             pzrt_comm_name(comm(m.slot)) + "' tag " + std::to_string(m.tag) + ")";
    };
    std::vector<std::unique_ptr<Buf>> bufs(nm);
    std::vector<pzrt_send_request *> reqs(nm, nullptr);
    for (size_t k : sendOrder) {
      const Msg &m = msgs[k];
      if (m.src != r_)
        continue;
      bufs[k].reset(new Buf(m.count * pzrt_dtype_size(m.d)));
      fill(*bufs[k], 0, m.d, Fill::Raw, vals_.stream(op_, r_, 100 + k), m.count);
      if (!ok(pzrt_isend(comm(m.slot), bufs[k]->p(), m.count, m.d, peerIn(m, m.dst), m.tag,
                         &reqs[k]),
              "pzrt_isend"))
        return;
      if ((reqs[k] == nullptr) != (m.count == 0))
        report(msgDesc(k) + ": isend returned " + (reqs[k] ? "a request" : "no request"));
    }
    if (between) {
      Buf x(betweenCount * 8);
      fill(x, 0, PZRT_I64, Fill::Sum, vals_.stream(op_, r_, 5), betweenCount);
      if (!ok(pzrt_all_reduce(world_, x.p(), x.p(), betweenCount, PZRT_I64, PZRT_REDUCE_SUM),
              "pzrt_all_reduce (world, between)"))
        return;
      const auto streams = streamsOf(slots_[0].lay.groups[0], 5);
      expectWords(x.p(), betweenCount, PZRT_I64, "world all_reduce between",
                  [&](size_t i) { return vals_.reduced(PZRT_I64, Fill::Sum, streams, i); });
    }
    for (size_t k : recvOrder) {
      const Msg &m = msgs[k];
      if (m.dst != r_)
        continue;
      Buf in(m.count * pzrt_dtype_size(m.d));
      if (!ok(pzrt_recv(comm(m.slot), in.p(), m.count, m.d, peerIn(m, m.src), m.tag), "pzrt_recv"))
        return;
      const uint64_t st = vals_.stream(op_, m.src, 100 + k);
      expectWords(in.p(), m.count, m.d, msgDesc(k) + " received",
                  [&](size_t i) { return vals_.word(m.d, Fill::Raw, Values::at(st, i)); });
      expectGuards(in, msgDesc(k) + " receive buffer");
    }
    for (size_t k : waitOrder) {
      if (msgs[k].src != r_)
        continue;
      if (!ok(pzrt_send_wait(reqs[k]), "pzrt_send_wait"))
        return;
      const uint64_t st = vals_.stream(op_, r_, 100 + k);
      expectWords(bufs[k]->p(), msgs[k].count, msgs[k].d, msgDesc(k) + " send buffer",
                  [&](size_t i) { return vals_.word(msgs[k].d, Fill::Raw, Values::at(st, i)); });
    }
  }

  // Two slots at once, the same tag on both: an isend to the next rank of
  // this rank's group in A and one to the previous in B, then an all_reduce
  // or a broadcast on A and an all_gather on B while they are in flight, then
  // the receives (B's first), then the waits.
  void interleaved() {
    const int a = static_cast<int>(draw_.below(4));
    const int b = (a + 1 + static_cast<int>(draw_.below(3))) % 4;
    const int tag = static_cast<int>(draw_.below(32768));
    const pzrt_dtype da = dtype(), db = dtype(), dr = dtype(), dg = dtype();
    const size_t esA = pzrt_dtype_size(da), esB = pzrt_dtype_size(db), esR = pzrt_dtype_size(dr),
                 esG = pzrt_dtype_size(dg);
    std::vector<size_t> ca, cb;
    for (int w = 0; w < n_; ++w)
      ca.push_back(count(esA, 512u << 10)), cb.push_back(count(esB, 512u << 10));
    const size_t cr = count(esR, 1u << 20), cg = count(esG, (1u << 20) / static_cast<size_t>(n_));
    const bool rMax = draw_.coin(40);
    // A's collective: an in-place all_reduce, or a broadcast (then often
    // over 1 MiB: pieces of it wait at the receivers beside the messages).
    const bool bcast = draw_.coin(35);
    const size_t cbc =
        bcast && draw_.coin(50) ? ((1 + draw_.below(2)) << 20) / esR + draw_.below(3) - 1 : cr;
    const uint64_t rootDraw = draw_.bits();
    const std::string collA = bcast ? std::string("broadcast ") + pzrt_dtype_name(dr) + " count " +
                                          std::to_string(cbc) + " root " +
                                          std::to_string(rootDraw % group(a).size())
                                    : std::string("all_reduce ") + (rMax ? "max " : "sum ") +
                                          pzrt_dtype_name(dr) + " count " + std::to_string(cr);
    desc_ = "interleaved: isend " + std::string(pzrt_dtype_name(da)) + " on slot " +
            std::to_string(a) + " and " + pzrt_dtype_name(db) + " on slot " + std::to_string(b) +
            " tag " + std::to_string(tag) + ", " + collA + " on " + std::to_string(a) +
            ", all_gather " + pzrt_dtype_name(dg) + " count " + std::to_string(cg) + " on " +
            std::to_string(b) + "; " + where(a) + ", " + where(b);
    const auto &ga = group(a), &gb = group(b);
    const int na = static_cast<int>(ga.size()), nb = static_cast<int>(gb.size());
    const int ma = me(a), mb = me(b);
    const int toA = (ma + 1) % na, fromA = (ma + na - 1) % na;
    const int toB = (mb + nb - 1) % nb, fromB = (mb + 1) % nb;
    Buf outA(ca[static_cast<size_t>(r_)] * esA), outB(cb[static_cast<size_t>(r_)] * esB);
    pzrt_send_request *qa = nullptr, *qb = nullptr;
    if (na > 1) {
      fill(outA, 0, da, Fill::Raw, vals_.stream(op_, r_, 1), ca[static_cast<size_t>(r_)]);
      if (!ok(pzrt_isend(comm(a), outA.p(), ca[static_cast<size_t>(r_)], da, toA, tag, &qa),
              "pzrt_isend (A)"))
        return;
    }
    if (nb > 1) {
      fill(outB, 0, db, Fill::Raw, vals_.stream(op_, r_, 2), cb[static_cast<size_t>(r_)]);
      if (!ok(pzrt_isend(comm(b), outB.p(), cb[static_cast<size_t>(r_)], db, toB, tag, &qb),
              "pzrt_isend (B)"))
        return;
    }
    if (bcast) { // broadcast on A
      const int root = static_cast<int>(rootDraw % ga.size());
      const uint64_t st = vals_.stream(op_, ga[static_cast<size_t>(root)], 3);
      Buf x(cbc * esR);
      if (ma == root)
        fill(x, 0, dr, Fill::Raw, st, cbc);
      if (!ok(pzrt_broadcast(comm(a), x.p(), cbc, dr, root), "pzrt_broadcast (A)"))
        return;
      expectWords(x.p(), cbc, dr, "broadcast on A",
                  [&](size_t i) { return vals_.word(dr, Fill::Raw, Values::at(st, i)); });
      expectGuards(x, "broadcast buffer on A");
    } else { // all_reduce on A, in place
      const Fill f = rMax ? Fill::Max : Fill::Sum;
      Buf x(cr * esR);
      fill(x, 0, dr, f, vals_.stream(op_, r_, 3), cr);
      if (!ok(pzrt_all_reduce(comm(a), x.p(), x.p(), cr, dr,
                              rMax ? PZRT_REDUCE_MAX : PZRT_REDUCE_SUM),
              "pzrt_all_reduce (A)"))
        return;
      const auto streams = streamsOf(ga, 3);
      expectWords(x.p(), cr, dr, "all_reduce on A",
                  [&](size_t i) { return vals_.reduced(dr, f, streams, i); });
      expectGuards(x, "all_reduce buffer on A");
    }
    { // all_gather on B
      Buf x(cg * esG), y(cg * esG * static_cast<size_t>(nb));
      fill(x, 0, dg, Fill::Raw, vals_.stream(op_, r_, 4), cg);
      if (!ok(pzrt_all_gather(comm(b), x.p(), y.p(), cg, dg), "pzrt_all_gather (B)"))
        return;
      const auto streams = streamsOf(gb, 4);
      for (size_t q = 0; q < static_cast<size_t>(nb); ++q)
        expectWords(y.p() + q * cg * esG, cg, dg, "all_gather on B block " + std::to_string(q),
                    [&](size_t i) { return vals_.word(dg, Fill::Raw, Values::at(streams[q], i)); });
      expectGuards(y, "all_gather buffer on B");
    }
    if (nb > 1) {
      const int w = gb[static_cast<size_t>(fromB)];
      const size_t c = cb[static_cast<size_t>(w)];
      Buf in(c * esB);
      if (!ok(pzrt_recv(comm(b), in.p(), c, db, fromB, tag), "pzrt_recv (B)"))
        return;
      const uint64_t st = vals_.stream(op_, w, 2);
      expectWords(in.p(), c, db, "message on B from world rank " + std::to_string(w),
                  [&](size_t i) { return vals_.word(db, Fill::Raw, Values::at(st, i)); });
    }
    if (na > 1) {
      const int w = ga[static_cast<size_t>(fromA)];
      const size_t c = ca[static_cast<size_t>(w)];
      Buf in(c * esA);
      if (!ok(pzrt_recv(comm(a), in.p(), c, da, fromA, tag), "pzrt_recv (A)"))
        return;
      const uint64_t st = vals_.stream(op_, w, 1);
      expectWords(in.p(), c, da, "message on A from world rank " + std::to_string(w),
                  [&](size_t i) { return vals_.word(da, Fill::Raw, Values::at(st, i)); });
    }
    if (!ok(pzrt_send_wait(qa), "pzrt_send_wait (A)") ||
        !ok(pzrt_send_wait(qb), "pzrt_send_wait (B)"))
      return;
  }

  // Replaces slot s by a split of slot `parent` (the world or another slot):
  // every world rank's color (1 to 3 colors) and key (ties, negative) drawn.
  void resplit(int s, int parent) {
    const int colors = 1 + static_cast<int>(draw_.below(3));
    std::vector<int> color, key;
    for (int w = 0; w < n_; ++w) {
      color.push_back(static_cast<int>(draw_.below(static_cast<uint64_t>(colors))));
      key.push_back(static_cast<int>(draw_.below(5)) - 2);
    }
    Slot &sl = slots_[static_cast<size_t>(s)];
    const Slot &par = slots_[static_cast<size_t>(parent)];
    Layout lay;
    for (const auto &pg : par.lay.groups) // in parent rank order
      for (int c = 0; c < colors; ++c) {
        std::vector<int> members;
        for (int w : pg)
          if (color[static_cast<size_t>(w)] == c)
            members.push_back(w);
        std::stable_sort(members.begin(), members.end(), [&](int x, int y) {
          return key[static_cast<size_t>(x)] < key[static_cast<size_t>(y)];
        });
        if (!members.empty())
          lay.groups.push_back(members);
      }
    lay.index(n_);
    std::ostringstream what;
    what << "split #" << op_ << " of slot " << parent << ", colors/keys by world rank";
    for (int w = 0; w < n_; ++w)
      what << (w ? " " : " ") << color[static_cast<size_t>(w)] << "/"
           << key[static_cast<size_t>(w)];
    desc_ = "split of slot " + std::to_string(parent) + " into slot " + std::to_string(s) + " (" +
            what.str() + ")";
    if (sl.owned)
      pzrt_comm_destroy(sl.comm);
    sl.comm = nullptr;
    sl.owned = false;
    const std::string name = "rand.s" + std::to_string(s) + ".op" + std::to_string(op_);
    pzrt_comm *c = pzrt_comm_split(par.comm, color[static_cast<size_t>(r_)],
                                   key[static_cast<size_t>(r_)], name.c_str());
    if (!c) {
      callFailed("pzrt_comm_split");
      return;
    }
    sl.comm = c;
    sl.owned = true;
    sl.lay = lay;
    sl.what = what.str();
    const auto &g = group(s);
    if (pzrt_comm_size(c) != static_cast<int>(g.size()) || pzrt_comm_rank(c) != me(s) ||
        pzrt_comm_world_rank(c) != r_) {
      report("split gave rank " + std::to_string(pzrt_comm_rank(c)) + " of " +
             std::to_string(pzrt_comm_size(c)) + " (world rank " +
             std::to_string(pzrt_comm_world_rank(c)) + "), expected rank " + std::to_string(me(s)) +
             " of " + std::to_string(g.size()));
      stopped_ = true; // the layout is wrong: the ranks cannot stay in step
    }
  }

  uint64_t seed_;
  int ops_;
  Draw draw_;
  pzrt_comm *world_;
  int n_ = 1, r_ = 0;
  Values vals_;
  std::vector<Slot> slots_; // 0: the world; 1-3: splits
  uint64_t op_ = 0;
  std::string desc_;
  int failures_ = 0;
  bool stopped_ = false;
  // PZRT_TEST_RANDOM_VERBOSE=1: every rank prints each operation it ran.
  bool verbose_ = envU64("PZRT_TEST_RANDOM_VERBOSE", 0) != 0;
};

class CommRandom : public ::testing::Test {
protected:
  void SetUp() override { ASSERT_EQ(pzrt_barrier(gWorld), 0) << pzrt_last_error(); }
};

// The program of PZRT_TEST_RANDOM_SEED (default kDefaultSeed), on MPI or TCP.
TEST_F(CommRandom, ProgramMatchesLocalReference) {
  // Rank 0's seed and length, so that every rank runs the same program even
  // if the environment differs between ranks.
  int64_t params[2] = {static_cast<int64_t>(envU64("PZRT_TEST_RANDOM_SEED", kDefaultSeed)),
                       static_cast<int64_t>(envU64("PZRT_TEST_RANDOM_OPS", kDefaultOps))};
  ASSERT_EQ(pzrt_broadcast(gWorld, params, 2, PZRT_I64, 0), 0) << pzrt_last_error();
  const uint64_t seed = static_cast<uint64_t>(params[0]);
  const int ops = static_cast<int>(params[1]);
  const int rank = pzrt_comm_rank(gWorld), size = pzrt_comm_size(gWorld);
  if (rank == 0)
    std::printf("CommRandom: seed %" PRIu64 " (PZRT_TEST_RANDOM_SEED), %d operations on %d ranks "
                "(%s)\n",
                seed, ops, size, pzrt_comm_is_mpi(gWorld) ? "MPI" : "TCP");
  auto t0 = std::chrono::steady_clock::now();
  Program prog(seed, ops, gWorld);
  bool finished = prog.run();
  ASSERT_TRUE(finished) << "seed " << seed << ": an operation returned an error (above)";
  // Every rank ends together, and learns whether any other one failed.
  int64_t bad = prog.failures();
  ASSERT_EQ(pzrt_all_reduce(gWorld, &bad, &bad, 1, PZRT_I64, PZRT_REDUCE_SUM), 0)
      << pzrt_last_error();
  if (rank == 0)
    std::printf("CommRandom: %d operations in %.2f s, %" PRId64 " failed checks on all ranks\n",
                ops, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                bad);
  EXPECT_EQ(bad, 0) << "seed " << seed << " (PZRT_TEST_RANDOM_SEED=" << seed
                    << "): the failures are reported by the ranks that saw them";
}

} // namespace
