// Chrome trace-event writer whose file is valid JSON after every flush.
#include "pzrt/trace.h"

#include "core/internal.h"
#include "io/json.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <mutex>
#include <set>
#include <unistd.h>

using pzrt::fail;
namespace json = pzrt::json;

namespace {
const char kHead[] = "{\"traceEvents\":[\n";
const char kTail[] = "\n],\"displayTimeUnit\":\"ms\"}\n";
constexpr size_t kFlushBytes = 1 << 16;
constexpr double kFlushIntervalUs = 500000.0;
} // namespace

struct pzrt_trace {
  std::mutex mu;
  int fd = -1;
  std::string path;
  int rank = 0;
  std::string pending; // events not yet on disk, each preceded by ",\n"
  off_t end = 0;       // where the tail starts in the file
  double lastFlushUs = 0;

  int flushLocked() {
    if (fd < 0)
      return -1;
    std::string buf = pending + kTail;
    const char *p = buf.data();
    size_t left = buf.size();
    off_t at = end;
    while (left > 0) {
      ssize_t n = pwrite(fd, p, left, at);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return fail("trace: cannot write '%s': %s", path.c_str(), std::strerror(errno));
      p += n;
      at += n;
      left -= static_cast<size_t>(n);
    }
    end += static_cast<off_t>(pending.size());
    pending.clear();
    lastFlushUs = pzrt_trace_now_us();
    return 0;
  }
  void add(const std::string &ev) {
    std::lock_guard<std::mutex> lock(mu);
    pending += ",\n";
    pending += ev;
    if (pending.size() > kFlushBytes || pzrt_trace_now_us() - lastFlushUs > kFlushIntervalUs)
      flushLocked();
  }
};

namespace {

struct Registry {
  std::mutex mu;
  std::set<pzrt_trace *> open;
};
Registry &registry() {
  static Registry *r = new Registry(); // leaked on purpose: used from atexit
  return *r;
}

void flushAll() {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  for (pzrt_trace *t : r.open) {
    std::lock_guard<std::mutex> tl(t->mu);
    t->flushLocked();
  }
}

void registerTrace(pzrt_trace *t) {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(flushAll);
    pzrt::addFatalHook(flushAll);
  });
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.open.insert(t);
}

std::string metaEvent(const char *what, int pid, int tid, const char *name) {
  std::string e = "{\"name\":\"";
  e += what;
  e += "\",\"ph\":\"M\",\"pid\":" + std::to_string(pid) + ",\"tid\":" + std::to_string(tid) +
       ",\"args\":{\"name\":";
  json::appendString(e, name);
  return e + "}}";
}

} // namespace

extern "C" {

double pzrt_trace_now_us(void) {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

pzrt_trace *pzrt_trace_open(const char *path, int rank) {
  if (!path) {
    fail("trace: path is NULL");
    return nullptr;
  }
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail("trace: cannot create '%s': %s", path, std::strerror(errno));
    return nullptr;
  }
  auto *t = new pzrt_trace();
  t->fd = fd;
  t->path = path;
  t->rank = rank;
  std::string first = kHead + metaEvent("process_name", rank, 0,
                                        ("rank " + std::to_string(rank)).c_str());
  t->pending = first;
  if (t->flushLocked()) {
    ::close(fd);
    delete t;
    return nullptr;
  }
  registerTrace(t);
  return t;
}

void pzrt_trace_event(pzrt_trace *t, const char *name, const char *cat, int tid, double ts_us,
                      double dur_us, const char *args_json) {
  if (!t)
    return;
  std::string e = "{\"name\":";
  json::appendString(e, name ? name : "");
  e += ",\"cat\":";
  json::appendString(e, cat ? cat : "");
  e += ",\"ph\":\"X\",\"ts\":";
  json::appendNumber(e, ts_us);
  e += ",\"dur\":";
  json::appendNumber(e, dur_us < 0 ? 0 : dur_us);
  e += ",\"pid\":" + std::to_string(t->rank) + ",\"tid\":" + std::to_string(tid);
  if (args_json) {
    json::Value args;
    std::string err;
    if (json::parse(args_json, args, err) && args.isObject())
      e += ",\"args\":" + json::dump(args);
  }
  e += "}";
  t->add(e);
}

void pzrt_trace_thread_name(pzrt_trace *t, int tid, const char *name) {
  if (t)
    t->add(metaEvent("thread_name", t->rank, tid, name ? name : ""));
}

int pzrt_trace_flush(pzrt_trace *t) {
  if (!t)
    return fail("trace_flush: trace is NULL");
  std::lock_guard<std::mutex> lock(t->mu);
  return t->flushLocked();
}

void pzrt_trace_close(pzrt_trace *t) {
  if (!t)
    return;
  {
    Registry &r = registry();
    std::lock_guard<std::mutex> lock(r.mu);
    r.open.erase(t);
  }
  {
    std::lock_guard<std::mutex> lock(t->mu);
    t->flushLocked();
    ::close(t->fd);
    t->fd = -1;
  }
  delete t;
}

} // extern "C"
