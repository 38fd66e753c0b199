// Shared libraries the CUDA device loads at run time (cuBLASLt; NCCL later).
//
// Only the CUDA runtime is linked (statically); cuBLASLt and NCCL ship as
// shared libraries only, so a compiled program carries copies in OUTDIR/lib
// and opens them here (docs/design/0018-cuda-backend.md, decision 4). A
// library that cannot be opened, or lacks a symbol, is an error naming it
// and the places searched, not a loader message at startup.
#ifndef PZRT_SRC_CUDA_DYNLIB_H
#define PZRT_SRC_CUDA_DYNLIB_H

#include <string>

namespace pzrt::cuda {

// Opens `name` (a file name such as "libcublasLt.so.13", or a path): first
// <directory of the executable>/lib/<name>, then dlopen's own search.
// Returns the handle, or NULL with a pzrt error naming the library, each
// place searched and dlerror's text.
void *openLibrary(const std::string &name);

// The address of `symbol` in `lib` (opened as `name`), or NULL with a pzrt
// error naming both.
void *librarySymbol(void *lib, const std::string &name, const char *symbol);

} // namespace pzrt::cuda

#endif // PZRT_SRC_CUDA_DYNLIB_H
