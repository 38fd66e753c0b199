// Thread-local error messages and the fatal-error path.
#include "pzrt/error.h"

#include "core/internal.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <mutex>
#include <thread>
#include <unistd.h>
#include <vector>

namespace pzrt {
namespace {
thread_local std::string lastError;

std::mutex &hookMutex() {
  static std::mutex m;
  return m;
}
std::vector<void (*)()> &hooks() {
  static std::vector<void (*)()> h;
  return h;
}
std::atomic<void (*)(int)> terminateHandler{nullptr};
std::atomic<bool> inFatal{false};
} // namespace

std::string vformat(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return fmt;
  std::string out(static_cast<size_t>(n) + 1, '\0');
  std::vsnprintf(out.data(), out.size(), fmt, ap);
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string format(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string s = vformat(fmt, ap);
  va_end(ap);
  return s;
}

int fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  lastError = vformat(fmt, ap);
  va_end(ap);
  return -1;
}

int failStr(const std::string &msg) {
  lastError = msg;
  return -1;
}

void addFatalHook(void (*hook)()) {
  std::lock_guard<std::mutex> lock(hookMutex());
  for (auto h : hooks())
    if (h == hook)
      return;
  hooks().push_back(hook);
}

void setTerminateHandler(void (*handler)(int)) { terminateHandler = handler; }

namespace {
std::mutex &fatalMutex() {
  static std::mutex m;
  return m;
}
std::string &fatalText() {
  static std::string s;
  return s;
}
} // namespace

namespace {
thread_local bool tInFatal = false;
} // namespace

bool inFatalHere() { return tInFatal; }

std::string fatalMessage() {
  std::lock_guard<std::mutex> lock(fatalMutex());
  return fatalText();
}

void fatal(int exitCode, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vformat(fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "pzrt: %s\n", msg.c_str());
  std::fflush(stderr);
  if (!inFatal.exchange(true)) {
    tInFatal = true;
    {
      std::lock_guard<std::mutex> lock(fatalMutex());
      fatalText() = msg;
    }
    std::vector<void (*)()> hs;
    {
      std::lock_guard<std::mutex> lock(hookMutex());
      hs = hooks();
    }
    for (auto h : hs)
      h();
    if (auto handler = terminateHandler.load())
      handler(exitCode);
  } else if (!tInFatal) {
    // Another thread is ending the process (its hooks, its handler telling
    // the peers): let it finish rather than cut it short, within bounds.
    for (int i = 0; i < 300; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::fflush(nullptr);
  _exit(exitCode);
}

} // namespace pzrt

extern "C" const char *pzrt_last_error(void) {
  return pzrt::lastError.c_str();
}

extern "C" void pzrt_clear_error(void) { pzrt::lastError.clear(); }

extern "C" int pzrt_set_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = pzrt::vformat(fmt, ap);
  va_end(ap);
  return pzrt::failStr(msg);
}
