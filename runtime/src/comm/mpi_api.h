// Open MPI, opened with dlopen only when an MPI launcher started the process.
//
// The runtime's MPI code includes this header instead of <mpi.h>. It keeps
// <mpi.h>'s types and constants, and turns every MPI function it calls and
// every predefined handle (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) into a
// lookup in libmpi.so.40, which is opened on the first such use. A compiled
// program therefore does not link MPI: it starts where MPI is not installed
// (one rank, or NCCL under a torchrun-style launcher), and MPI is needed
// only where mpirun/srun started it (docs/design/0018-cuda-backend.md,
// decision 4: self-contained executables).
//
// MPI_Initialized and MPI_Finalized answer "no" without opening the
// library when it is not open yet. Any other use opens it; a library or
// symbol that cannot be found ends the process with a message naming it,
// the places searched and PZRT_MPI_LIBRARY (the path to open instead).
//
// Open MPI's predefined handles are addresses of its global objects
// (OMPI_PREDEFINED_GLOBAL); that is the ABI this header relies on, and it
// refuses to compile against another MPI.
#ifndef PZRT_SRC_COMM_MPI_API_H
#define PZRT_SRC_COMM_MPI_API_H

#include <mpi.h>

#if !defined(OMPI_MAJOR_VERSION) || OMPI_MAJOR_VERSION < 3
#error "comm/mpi_api.h loads Open MPI (3 or later, libmpi.so.40) at run time"
#endif

namespace pzrt::mpi {

// The address of `name` in libmpi, which is opened on the first call. Never
// NULL: a missing library or symbol is fatal (see above).
void *symbol(const char *name);

// MPI_Initialized / MPI_Finalized without opening the library.
int initialized(int *flag);
int finalized(int *flag);

} // namespace pzrt::mpi

// One lookup per use site: each lambda has its own static (a template
// keyed by __COUNTER__ would not do: the counter restarts in every
// translation unit, and the linker merges equal instantiations).
#define PZRT_MPI_CACHED_SYMBOL(name)                                                               \
  ([]() -> void * {                                                                                \
    static void *const address = ::pzrt::mpi::symbol(name);                                        \
    return address;                                                                                \
  }())

#undef OMPI_PREDEFINED_GLOBAL
#define OMPI_PREDEFINED_GLOBAL(type, global) (reinterpret_cast<type>(PZRT_MPI_CACHED_SYMBOL(#global)))

// `name` stays unexpanded inside its own expansion, so decltype sees
// <mpi.h>'s declaration; decltype does not reference the symbol.
#define PZRT_MPI_FUNCTION(name)                                                                    \
  (reinterpret_cast<decltype(&::name)>(PZRT_MPI_CACHED_SYMBOL(#name)))

#define MPI_Initialized ::pzrt::mpi::initialized
#define MPI_Finalized ::pzrt::mpi::finalized
#define MPI_Abort PZRT_MPI_FUNCTION(MPI_Abort)
#define MPI_Comm_dup PZRT_MPI_FUNCTION(MPI_Comm_dup)
#define MPI_Comm_free PZRT_MPI_FUNCTION(MPI_Comm_free)
#define MPI_Comm_rank PZRT_MPI_FUNCTION(MPI_Comm_rank)
#define MPI_Comm_set_errhandler PZRT_MPI_FUNCTION(MPI_Comm_set_errhandler)
#define MPI_Comm_size PZRT_MPI_FUNCTION(MPI_Comm_size)
#define MPI_Comm_split PZRT_MPI_FUNCTION(MPI_Comm_split)
#define MPI_Error_string PZRT_MPI_FUNCTION(MPI_Error_string)
#define MPI_Finalize PZRT_MPI_FUNCTION(MPI_Finalize)
#define MPI_Get_count PZRT_MPI_FUNCTION(MPI_Get_count)
#define MPI_Iallgather PZRT_MPI_FUNCTION(MPI_Iallgather)
#define MPI_Iallreduce PZRT_MPI_FUNCTION(MPI_Iallreduce)
#define MPI_Ialltoall PZRT_MPI_FUNCTION(MPI_Ialltoall)
#define MPI_Ibarrier PZRT_MPI_FUNCTION(MPI_Ibarrier)
#define MPI_Ibcast PZRT_MPI_FUNCTION(MPI_Ibcast)
#define MPI_Init_thread PZRT_MPI_FUNCTION(MPI_Init_thread)
#define MPI_Irecv PZRT_MPI_FUNCTION(MPI_Irecv)
#define MPI_Ireduce_scatter_block PZRT_MPI_FUNCTION(MPI_Ireduce_scatter_block)
#define MPI_Isend PZRT_MPI_FUNCTION(MPI_Isend)
#define MPI_Query_thread PZRT_MPI_FUNCTION(MPI_Query_thread)
#define MPI_Test PZRT_MPI_FUNCTION(MPI_Test)
#define MPI_Testall PZRT_MPI_FUNCTION(MPI_Testall)

#endif // PZRT_SRC_COMM_MPI_API_H
