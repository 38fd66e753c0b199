// Internal helpers shared by the pzrt sources (not installed, not part of the C API).
#ifndef PZRT_SRC_CORE_INTERNAL_H
#define PZRT_SRC_CORE_INTERNAL_H

#include <cstdarg>
#include <string>

namespace pzrt {

// Records a formatted error message for pzrt_last_error() and returns -1.
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
// Records a message and returns -1.
int failStr(const std::string &msg);
// The checks of a row-major GEMM C[m x n] = op(A) op(B) with leading
// dimensions lda, ldb, ldc (core/gemm_args.cpp): 0, or -1 with an error
// naming `fn`.
int checkGemmArgs(const char *fn, int ta, int tb, int64_t m, int64_t n, int64_t k,
                  const void *a, int64_t lda, const void *b, int64_t ldb, const void *c,
                  int64_t ldc);
// Formats like printf into a std::string.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
std::string vformat(const char *fmt, va_list ap);

// Hooks run by fatal() before the process ends (e.g. flushing trace files).
// Registered hooks run once, in registration order.
void addFatalHook(void (*hook)());
// A handler that ends the job (e.g. MPI_Abort); when unset, fatal() calls _exit.
void setTerminateHandler(void (*handler)(int exitCode));

// The message of the fatal() in progress ("" before one), for a terminate
// handler that passes it on (the TCP communicator tells its peers).
std::string fatalMessage();
// Whether the calling thread is inside fatal().
bool inFatalHere();

// Prints "pzrt: <message>" to stderr, runs the fatal hooks and ends the
// process (the whole job when a terminate handler is installed).
[[noreturn]] void fatal(int exitCode, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

} // namespace pzrt

#endif // PZRT_SRC_CORE_INTERNAL_H
