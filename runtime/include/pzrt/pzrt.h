/* pzrt/pzrt.h - the whole pzrt runtime C API. */
#ifndef PZRT_PZRT_H
#define PZRT_PZRT_H

#include "pzrt/arena.h"
#include "pzrt/checkpoint.h"
#include "pzrt/comm.h"
#include "pzrt/data.h"
#include "pzrt/env.h"
#include "pzrt/error.h"
#include "pzrt/kernels.h"
#include "pzrt/metrics.h"
#include "pzrt/trace.h"
#include "pzrt/schedule.h"
#include "pzrt/types.h"

#endif /* PZRT_PZRT_H */
