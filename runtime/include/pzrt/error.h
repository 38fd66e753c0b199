/* pzrt/error.h - error reporting.
 *
 * Functions that can fail return 0 (or a non-NULL pointer) on success and -1
 * (or NULL) on failure. The message of the most recent failure on the calling
 * thread is available from pzrt_last_error(). Messages say what failed and
 * where (file, byte offset, tensor name, rank, operation).
 */
#ifndef PZRT_ERROR_H
#define PZRT_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

/* The message of the last failure on this thread ("" if none). */
const char *pzrt_last_error(void);
/* Records a printf-style message as this thread's last error; returns -1.
 * Generated code reports failures (naming the op) through it. */
int pzrt_set_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* Clears the last error of this thread. */
void pzrt_clear_error(void);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_ERROR_H */
