// The process's wait watch (wait_watch.h).
#include "core/wait_watch.h"

#include <atomic>

namespace pzrt {
namespace {
std::atomic<WaitWatch> gWatch{nullptr};
} // namespace

void setWaitWatch(WaitWatch watch) { gWatch.store(watch); }
WaitWatch waitWatch() { return gWatch.load(); }

} // namespace pzrt
