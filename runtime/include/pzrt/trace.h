/* pzrt/trace.h - Chrome trace-event JSON (opens in Perfetto and chrome://tracing).
 *
 * The file is {"traceEvents": [ ... ], "displayTimeUnit": "ms"} with complete
 * events {"name", "cat", "ph": "X", "ts", "dur", "pid": rank, "tid": stream}
 * (ts and dur in microseconds of CLOCK_MONOTONIC, shared by all processes on
 * a machine) and metadata events naming the process ("rank N") and threads.
 *
 * Events are buffered and written in batches; every write leaves a complete,
 * valid JSON document on disk (the closing brackets are rewritten after each
 * batch). Open traces are flushed at exit(), by pzrt_trace_close, and before a
 * fatal runtime error (e.g. a collective timeout) ends the process; a crash
 * loses only the events since the last flush, never the file's validity.
 */
#ifndef PZRT_TRACE_H
#define PZRT_TRACE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pzrt_trace pzrt_trace;

/* Opens (truncates) path and writes a valid empty trace. pid = rank. */
pzrt_trace *pzrt_trace_open(const char *path, int rank);
/* Microseconds since an arbitrary machine-wide origin (CLOCK_MONOTONIC). */
double pzrt_trace_now_us(void);
/* A complete event. args_json: an optional JSON object for "args" (NULL for
 * none). Thread-safe. */
void pzrt_trace_event(pzrt_trace *t, const char *name, const char *cat, int tid, double ts_us,
                      double dur_us, const char *args_json);
/* Names a tid (e.g. "compute", "comm") with a metadata event. */
void pzrt_trace_thread_name(pzrt_trace *t, int tid, const char *name);
/* Writes buffered events; the file stays valid JSON. 0 or -1 on I/O error. */
int pzrt_trace_flush(pzrt_trace *t);
/* Flushes and closes. */
void pzrt_trace_close(pzrt_trace *t);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_TRACE_H */
