/* pzrt/metrics.h - per-step metrics as JSON lines.
 *
 * Each pzrt_metrics_write appends one line (flushed immediately):
 *   {"step": 1, "loss": 10.83, "grad_norm": 3.2, "lr": 0.0003,
 *    "step_time_s": 0.51, "tokens_per_s": 16064.2,
 *    "comm_bytes": {"all_reduce": 123, "all_gather": 0, "reduce_scatter": 0,
 *                   "all_to_all": 0, "broadcast": 0, "send": 0},
 *    "comm_bytes_by_reason": {"ddp.grad_bucket": 123},
 *    "peak_bytes": 1048576, ...extra members}
 * comm_bytes are the bytes this rank sent during the step: by default the
 * change of the pzrt_comm_bytes counters since the previous write (or since
 * the writer was opened). comm_bytes_by_reason are the same bytes by the
 * reason kind of the transfers of compiled code (pzrt_comm_reason_bytes,
 * summed over collective kinds; the change since the previous write; {}
 * when nothing was counted). peak_bytes defaults to pzrt_mem_peak_total().
 * Non-finite numbers are written as null (JSON has no NaN).
 */
#ifndef PZRT_METRICS_H
#define PZRT_METRICS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pzrt_metrics pzrt_metrics;

typedef struct pzrt_step_metrics {
  int64_t step; /* counting from 1 */
  double loss;
  double grad_norm;
  double lr;
  double step_time_s;
  double tokens_per_s;
  /* Bytes per pzrt_coll_kind (PZRT_COLL_KIND_COUNT entries); NULL: counter delta. */
  const uint64_t *comm_bytes;
  /* 0: use pzrt_mem_peak_total(). */
  uint64_t peak_bytes;
  /* An optional JSON object whose members are appended; NULL for none. */
  const char *extra_json;
} pzrt_step_metrics;

/* Creates (truncates) the file, or appends to it if append != 0. */
pzrt_metrics *pzrt_metrics_open(const char *path, int append);
int pzrt_metrics_write(pzrt_metrics *m, const pzrt_step_metrics *s);
void pzrt_metrics_close(pzrt_metrics *m);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_METRICS_H */
