// NCCL's entry points, opened with dlopen (core/dynlib.h) into one table.
//
// NCCL ships as a shared library only (218 MB in CUDA 13), so a compiled
// program carries it in OUTDIR/lib, beside cuBLASLt, and opens it when it
// creates its first NCCL communicator: a CPU program or a one-rank CUDA
// program never loads it, and a missing library is an error naming it and
// the places searched, not a loader message at startup.
#ifndef PZRT_SRC_COMM_NCCL_API_H
#define PZRT_SRC_COMM_NCCL_API_H

#include <nccl.h>

namespace pzrt::nccl {

// The functions pzrt calls, typed by nccl.h's own declarations so that a
// changed signature fails to compile instead of failing at run time.
struct Table {
#define PZRT_NCCL_FN(name) decltype(&::name) name = nullptr;
#include "comm/nccl_fns.def"
#undef PZRT_NCCL_FN
};

// The default library, opened when PZRT_NCCL_LIBRARY is not set.
constexpr const char *kLibrary = "libnccl.so.2";

// The process's table, loaded on first use from PZRT_NCCL_LIBRARY or
// kLibrary; NULL with a pzrt error naming the library or the missing
// symbol. Where NCCL is linked (PZRT_NCCL_LINKED: the host fakes of the
// tests and the CUDA emulator) the table holds the linked functions.
const Table *load();

// The loaded table; only after load() succeeded (a communicator exists).
const Table &api();

} // namespace pzrt::nccl

#endif // PZRT_SRC_COMM_NCCL_API_H
