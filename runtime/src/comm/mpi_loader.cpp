// Opening Open MPI at run time (see mpi_api.h).
#include "comm/mpi_api.h"

#include "core/dynlib.h"
#include "core/internal.h"

#include "pzrt/error.h"

#include <cstdlib>
#include <mutex>
#include <string>

namespace pzrt::mpi {

namespace {

// Open MPI 3, 4 and 5 keep this soname.
constexpr const char *kLibrary = "libmpi.so.40";

std::mutex gMutex;
void *gLib = nullptr;
std::string gName;

void *library() {
  {
    std::lock_guard<std::mutex> lock(gMutex);
    if (!gLib) {
      const char *path = std::getenv("PZRT_MPI_LIBRARY");
      gName = path && *path ? path : kLibrary;
      // Global: Open MPI's components (dlopened by libmpi) resolve its
      // symbols.
      gLib = openLibrary(gName, /*global=*/true);
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

// The real entry points, not this file's stand-ins.
#undef MPI_Initialized
#undef MPI_Finalized

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
  return PZRT_MPI_FUNCTION(MPI_Initialized)(flag);
}

int finalized(int *flag) {
  if (!isOpen()) {
    *flag = 0;
    return MPI_SUCCESS;
  }
  return PZRT_MPI_FUNCTION(MPI_Finalized)(flag);
}

} // namespace pzrt::mpi
