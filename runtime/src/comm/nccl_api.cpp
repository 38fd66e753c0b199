// Loading NCCL's symbol table (see nccl_api.h).
#include "comm/nccl_api.h"

#include "core/dynlib.h"
#include "core/internal.h"

#include <cstdlib>
#include <mutex>
#include <string>

namespace pzrt::nccl {
namespace {
std::mutex tableMutex;
Table table;
bool loaded = false;

int fill(Table &t) {
#if defined(PZRT_NCCL_LINKED)
  if (const char *env = std::getenv("PZRT_NCCL_LIBRARY"); !env || !*env) {
#define PZRT_NCCL_FN(name) t.name = &::name;
#include "comm/nccl_fns.def"
#undef PZRT_NCCL_FN
    return 0;
  }
#endif
  const char *env = std::getenv("PZRT_NCCL_LIBRARY");
  const std::string library = env && *env ? env : kLibrary;
  void *lib = openLibrary(library);
  if (!lib)
    return -1;
  Table loadedTable;
#define PZRT_NCCL_FN(name)                                                                        \
  loadedTable.name =                                                                             \
      reinterpret_cast<decltype(loadedTable.name)>(librarySymbol(lib, library, #name));          \
  if (!loadedTable.name)                                                                         \
    return -1;
#include "comm/nccl_fns.def"
#undef PZRT_NCCL_FN
  // The handle stays open for the process: the table points into it.
  t = loadedTable;
  return 0;
}
} // namespace

const Table *load() {
  std::lock_guard<std::mutex> lock(tableMutex);
  if (!loaded && fill(table) == 0)
    loaded = true;
  return loaded ? &table : nullptr;
}

const Table &api() { return table; }

} // namespace pzrt::nccl
