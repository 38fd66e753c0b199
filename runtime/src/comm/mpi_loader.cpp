// Opening Open MPI at run time (see mpi_api.h).
#include "comm/mpi_api.h"

#include "core/dynlib.h"
#include "core/internal.h"

#include "pzrt/error.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <string>

namespace pzrt::mpi {

namespace {

// Open MPI 3, 4 and 5 keep this soname.
constexpr const char *kLibrary = "libmpi.so.40";

std::mutex gMutex;
void *gLib = nullptr;
std::string gName;
// Resolved when the library opens, not through symbol(): fatal()'s hooks
// call them, and a lookup that fails inside symbol() must not recurse into
// the lookup it is part of.
int (*gInitialized)(int *) = nullptr;
int (*gFinalized)(int *) = nullptr;

// Opens the library and resolves what the fatal path needs; on a failure
// nothing is kept (the hooks then see no MPI) and pzrt_last_error() says why.
void *openChecked(const std::string &name) {
  void *lib = openLibrary(name, /*global=*/true);
  if (!lib)
    return nullptr;
  void *init = librarySymbol(lib, name, "MPI_Initialized");
  void *fin = init ? librarySymbol(lib, name, "MPI_Finalized") : nullptr;
  void *abort = fin ? librarySymbol(lib, name, "MPI_Abort") : nullptr;
  if (!abort) {
    dlclose(lib);
    return nullptr;
  }
  gInitialized = reinterpret_cast<int (*)(int *)>(init);
  gFinalized = reinterpret_cast<int (*)(int *)>(fin);
  return lib;
}

void *library() {
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!gLib) {
      const char *path = std::getenv("PZRT_MPI_LIBRARY");
      gName = path && *path ? path : kLibrary;
      // Global: Open MPI's components (dlopened by libmpi) resolve its
      // symbols.
      gLib = openChecked(gName);
    }
    if (gLib)
      return gLib;
  }
  // Outside the lock: fatal's hooks ask MPI_Initialized.
  fatal(1, "MPI is needed (an MPI launcher started this process) but %s; install Open MPI 4 "
           "or set PZRT_MPI_LIBRARY to its libmpi.so.40",
        pzrt_last_error());
}

bool isOpen() {
  std::lock_guard<std::mutex> lock(gMutex);
  return gLib != nullptr;
}

} // namespace

void *symbol(const char *name) {
  void *lib = library();
  void *address = librarySymbol(lib, gName, name);
  if (!address)
    fatal(1, "%s", pzrt_last_error());
  return address;
}

int initialized(int *flag) {
  if (!isOpen()) {
    *flag = 0;
    return MPI_SUCCESS;
  }
  return gInitialized(flag);
}

int finalized(int *flag) {
  if (!isOpen()) {
    *flag = 0;
    return MPI_SUCCESS;
  }
  return gFinalized(flag);
}

} // namespace pzrt::mpi
