#!/bin/sh
# A stand-in for OUTDIR/train that prints what a launch without MPI gave it,
# and exits with $EXIT_RANK_1 on rank 1 (0 unless set).
tok=unset; [ -n "$PZRT_JOB_TOKEN" ] && tok=set
ompi=${OMPI_COMM_WORLD_RANK:-none}
echo "rank $RANK of $WORLD_SIZE local $LOCAL_RANK/$LOCAL_WORLD_SIZE at $MASTER_ADDR token $tok ompi $ompi args $*"
if [ "$RANK" = 1 ]; then exit "${EXIT_RANK_1:-0}"; fi
