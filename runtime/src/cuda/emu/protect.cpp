// The CUDA host emulator's device memory: cudaMalloc's allocations are whole
// pages of their own (mmap) that host code cannot touch (PROT_NONE) except
// while the emulator itself runs device work on them (a kernel, a copy, a
// fill, a cuBLASLt call: pz_emu::enqueue's ops). A host dereference of a
// device pointer, which works by accident on host memory but faults on a
// GPU, then dies with SIGSEGV under emulation too. Managed and pinned host
// memory (cudaMallocManaged, cudaMallocHost) stay reachable, as on a GPU.
//
// Cost: entering and leaving device work changes the protection of every
// live device allocation (two mprotect calls each, and the kernel updates
// the page tables of their touched pages), so a launch costs O(allocations +
// touched pages) more; nested work (a graph's ops) changes nothing.
// PZRT_EMU_PROTECT=0 turns it off (then device memory is ordinary host
// memory, as before).
#include "cuda/emu/emu.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>

namespace pz_emu {
namespace {

struct DeviceMemory {
  std::mutex mutex;
  std::map<void *, size_t> mapped; // device allocation -> its mapped bytes
  size_t bytes = 0;                // requested bytes of the live allocations
  int depth = 0;                   // device work in progress (any thread)
};
DeviceMemory &memory() {
  static DeviceMemory *m = new DeviceMemory; // never destroyed: used at exit
  return *m;
}

size_t pageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

void setAccess(void *p, size_t mapped, bool open) {
  if (mprotect(p, mapped, open ? PROT_READ | PROT_WRITE : PROT_NONE) != 0) {
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
  const size_t mapped = (size + pageSize() - 1) / pageSize() * pageSize();
  void *p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return nullptr;
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (protectEnabled() && m.depth == 0)
    setAccess(p, mapped, false);
  m.mapped[p] = mapped;
  m.bytes += size;
  bytesInUse = m.bytes;
  return p;
}

bool deviceFree(void *p, size_t requested) {
  DeviceMemory &m = memory();
  size_t mapped = 0;
  {
    std::lock_guard<std::mutex> lock(m.mutex);
    auto it = m.mapped.find(p);
    if (it == m.mapped.end())
      return false;
    mapped = it->second;
    m.mapped.erase(it);
    m.bytes -= requested;
  }
  munmap(p, mapped);
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
    for (auto &[p, mapped] : m.mapped)
      setAccess(p, mapped, true);
}

DeviceAccess::~DeviceAccess() {
  if (!protectEnabled())
    return;
  DeviceMemory &m = memory();
  std::lock_guard<std::mutex> lock(m.mutex);
  if (--m.depth == 0)
    for (auto &[p, mapped] : m.mapped)
      setAccess(p, mapped, false);
}

} // namespace pz_emu
