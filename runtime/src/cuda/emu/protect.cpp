// The CUDA host emulator's device memory: cudaMalloc's allocations are whole
// pages of their own (mmap) that host code cannot touch (PROT_NONE) except
// while the emulator itself runs device work on them (a kernel, a copy, a
// fill, a cuBLASLt call: pz_emu::enqueue's ops). A host dereference of a
// device pointer, which works by accident on host memory but faults on a
// GPU, then dies with SIGSEGV under emulation too. Managed and pinned host
// memory (cudaMallocManaged, cudaMallocHost) stay reachable, as on a GPU.
//
// All device memory comes from one reserved span of address space (first
// fit over whole pages, freed pages returned to the system), so opening and
// closing it is one mprotect of the span in use, whatever the number of
// allocations. Cost per launch: two mprotect calls over that span (the
// kernel rewrites the page-table entries of its touched pages, and flushes
// the TLB); nested work (a graph's ops) changes nothing.
// PZRT_EMU_PROTECT=0 turns it off (device memory is then ordinary host
// memory, as before).
#include "cuda/emu/emu.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace pz_emu {
namespace {

struct DeviceMemory {
  std::mutex mutex;
  char *base = nullptr;             // the reserved span (NULL: not yet)
  size_t reserved = 0;
  size_t used = 0;                  // the pages below it were ever handed out
  std::map<size_t, size_t> free;    // offset -> bytes, coalesced, below `used`
  std::map<void *, size_t> mapped;  // allocation -> its bytes (whole pages)
  size_t bytes = 0;                 // requested bytes of the live allocations
  int depth = 0;                    // device work in progress (any thread)
};
DeviceMemory &memory() {
  static DeviceMemory *m = new DeviceMemory; // never destroyed: used at exit
  return *m;
}

size_t pageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// The span is backed by transparent huge pages where the system allows
// (madvise mode): mprotect then rewrites one entry per 2 MiB instead of one
// per 4 KiB page, which is most of the cost. It toggles whole huge pages.
constexpr size_t kHuge = size_t(2) << 20;

// Opens or closes [base, base + used rounded up to kHuge) (m.mutex held).
void setAccess(DeviceMemory &m, bool open) {
  if (!m.used)
    return;
  const size_t span = std::min(m.reserved, (m.used + kHuge - 1) / kHuge * kHuge);
  if (mprotect(m.base, span, open ? PROT_READ | PROT_WRITE : PROT_NONE) != 0) {
    std::perror("pzrt CUDA emulator: mprotect of device memory");
    std::abort();
  }
}

} // namespace

bool protectEnabled() {
  static const bool on = [] {
    const char *env = std::getenv("PZRT_EMU_PROTECT");
    return !(env && env[0] == '0' && env[1] == '\0');
  }();
  return on;
}

void *deviceAlloc(size_t size, size_t &bytesInUse) {
  const size_t page = pageSize();
  const size_t need = (size + page - 1) / page * page;
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (!m.base) {
    // Address space only (no memory is committed until touched).
    // Reserved kHuge-aligned (the alignment's slack stays reserved).
    m.reserved = (globalMemory() + kHuge - 1) / kHuge * kHuge;
    void *p = mmap(nullptr, m.reserved + kHuge,
                   protectEnabled() ? PROT_NONE : PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return nullptr;
    m.base = reinterpret_cast<char *>((reinterpret_cast<uintptr_t>(p) + kHuge - 1) / kHuge * kHuge);
    madvise(m.base, m.reserved, MADV_HUGEPAGE); // a hint; fine if refused
  }
  size_t at = m.used;
  for (auto it = m.free.begin(); it != m.free.end(); ++it)
    if (it->second >= need) {
      at = it->first;
      if (it->second > need)
        m.free[at + need] = it->second - need;
      m.free.erase(it);
      break;
    }
  if (at == m.used) {
    if (m.reserved - m.used < need)
      return nullptr;
    m.used += need;
    // The new pages take the span's current state.
    if (protectEnabled() && m.depth > 0)
      setAccess(m, true);
  }
  void *p = m.base + at;
  m.mapped[p] = need;
  m.bytes += size;
  bytesInUse = m.bytes;
  return p;
}

bool deviceFree(void *p, size_t requested) {
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  auto it = m.mapped.find(p);
  if (it == m.mapped.end())
    return false;
  size_t at = static_cast<size_t>(static_cast<char *>(p) - m.base), len = it->second;
  m.mapped.erase(it);
  m.bytes -= requested;
  // Back to the system: the pages read as zeros when handed out again.
  madvise(p, len, MADV_DONTNEED);
  auto next = m.free.find(at + len);
  if (next != m.free.end()) {
    len += next->second;
    m.free.erase(next);
  }
  auto prev = m.free.lower_bound(at);
  if (prev != m.free.begin() && (--prev)->first + prev->second == at) {
    at = prev->first;
    len += prev->second;
  }
  m.free[at] = len;
  return true;
}

size_t deviceBytes() {
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  return m.bytes;
}

DeviceAccess::DeviceAccess() {
  if (!protectEnabled())
    return;
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.depth++ == 0)
    setAccess(m, true);
}

DeviceAccess::~DeviceAccess() {
  if (!protectEnabled())
    return;
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (--m.depth == 0)
    setAccess(m, false);
}

} // namespace pz_emu
