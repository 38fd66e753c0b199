/* pzrt/env.h - rank discovery from the launcher's environment.
 *
 * Sources, checked in this order (the first one present wins):
 *   1. Open MPI (mpirun):  OMPI_COMM_WORLD_RANK, OMPI_COMM_WORLD_SIZE,
 *                          OMPI_COMM_WORLD_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_SIZE
 *   2. PMI (MPICH/Hydra, srun --mpi=pmi2): PMI_RANK, PMI_SIZE,
 *                          MPI_LOCALRANKID, MPI_LOCALNRANKS
 *   3. torchrun:           RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
 *                          MASTER_ADDR, MASTER_PORT
 *   4. Slurm (srun):       SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID,
 *                          SLURM_NTASKS_PER_NODE or SLURM_TASKS_PER_NODE + SLURM_NODEID
 * torchrun comes before Slurm because torchrun started inside a Slurm job
 * inherits the job's SLURM_PROCID. When none is present the process is a
 * single rank (rank 0 of 1). When a source gives no local rank/size, all
 * ranks are assumed to be on one node (local rank = rank, local size = size).
 *
 * A source that is present must be complete and well formed: a rank without a
 * size, a value that is not a non-negative decimal integer, size < 1,
 * rank >= size or local_rank >= local_size is an error naming the variable.
 */
#ifndef PZRT_ENV_H
#define PZRT_ENV_H

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pzrt_env {
  int rank;
  int world_size;
  int local_rank;
  int local_size;
  /* "openmpi", "pmi", "torchrun", "slurm" or "none". */
  char source[16];
  /* torchrun's MASTER_ADDR ("" if unset) and MASTER_PORT (0 if unset). */
  char master_addr[256];
  int master_port;
} pzrt_env;

/* Fills *out from the environment. Returns 0, or -1 with pzrt_last_error(). */
int pzrt_env_discover(pzrt_env *out);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_ENV_H */
