// Shared state of the multi-rank tests.
#ifndef PZRT_TEST_MPI_MPI_COMMON_H
#define PZRT_TEST_MPI_MPI_COMMON_H

#include "pzrt/comm.h"

// MPI_COMM_WORLD as a pzrt communicator, created by mpi_main.cpp.
extern pzrt_comm *gWorld;

#endif // PZRT_TEST_MPI_MPI_COMMON_H
