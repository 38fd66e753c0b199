// Shared libraries the runtime loads at run time rather than at startup:
// cuBLASLt (the CUDA device) and MPI (only when an MPI launcher started the
// process).
//
// cuBLASLt and NCCL ship as shared libraries only, so a compiled program
// carries copies in OUTDIR/lib and opens them here
// (docs/design/0018-cuda-backend.md, decision 4); MPI is opened only under
// an MPI launcher, so a program runs without MPI installed otherwise. A
// library that cannot be opened, or lacks a symbol, is an error naming it
// and the places searched, not a loader message at startup.
#ifndef PZRT_SRC_CORE_DYNLIB_H
#define PZRT_SRC_CORE_DYNLIB_H

#include <string>

namespace pzrt {

// Opens `name` (a file name such as "libcublasLt.so.13", or a path): first
// <directory of the executable>/lib/<name>, then dlopen's own search.
// Returns the handle, or NULL with a pzrt error naming the library, each
// place searched and dlerror's text. `global`: RTLD_GLOBAL, for a library
// whose own plugins resolve its symbols (Open MPI's components).
void *openLibrary(const std::string &name, bool global = false);

// The address of `symbol` in `lib` (opened as `name`), or NULL with a pzrt
// error naming both.
void *librarySymbol(void *lib, const std::string &name, const char *symbol);

} // namespace pzrt

#endif // PZRT_SRC_CORE_DYNLIB_H
