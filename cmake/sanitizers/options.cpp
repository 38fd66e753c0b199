//===- options.cpp - default sanitizer options of PZ_SANITIZE builds ------===//
//
// Linked into every executable of a sanitizer build, and into the programs
// that `parallelize compile` builds there. The sanitizer runtimes call these
// hooks at startup; the environment (ASAN_OPTIONS, ...) still overrides them.
//
//===----------------------------------------------------------------------===//

#include <cstring>

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {
// A rank started by an MPI launcher. OpenMPI's start-up leaks (lsan.supp)
// are only recognisable by their callers inside libmpi and libopen-pal,
// which the fast frame-pointer unwinder cannot walk through (OpenMPI is
// built without frame pointers, and its components are unloaded by exit).
// Ranks therefore record allocation stacks with the slower DWARF unwinder;
// other processes, which never start MPI, keep the fast one.
// The hooks run before libc has set up getenv, so this reads
// /proc/self/environ with raw system calls.
bool mpiRank() {
  static char env[1 << 16];
  int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/environ", O_RDONLY));
  if (fd < 0)
    return false;
  long n = syscall(SYS_read, fd, env, sizeof(env) - 1);
  syscall(SYS_close, fd);
  if (n <= 0)
    return false;
  for (long i = 0; i < n; i += static_cast<long>(std::strlen(env + i)) + 1) {
    const char *var = env + i;
    if (!std::strncmp(var, "OMPI_COMM_WORLD_SIZE=", 21) || !std::strncmp(var, "PMIX_RANK=", 10) ||
        !std::strncmp(var, "PMI_RANK=", 9))
      return true;
  }
  return false;
}
} // namespace

extern "C" {

// A distinctive exit code: a sanitizer report must not pass for a test's
// expected "internal error" (1) or "user error" (2).
// allow_user_poisoning=0: our instrumented code inlines LLVM's allocators
// (llvm::BumpPtrAllocator), which poison and unpoison their slabs under
// ASan, while the uninstrumented libMLIR's own copies of the same code do
// not: memory one copy poisoned is then written by the other, a
// "use-after-poison" in mlir::FileLineColRange::get on every parse. The
// allocators' poisoning is a debugging aid of LLVM's own ASan builds; ASan's
// checks of our allocations stay on.
__attribute__((visibility("default"), used)) const char *__asan_default_options() {
  return mpiRank() ? "exitcode=99:check_initialization_order=1:strict_init_order=1:"
                     "allow_user_poisoning=0:fast_unwind_on_malloc=0"
                   : "exitcode=99:check_initialization_order=1:strict_init_order=1:"
                     "allow_user_poisoning=0";
}

__attribute__((visibility("default"), used)) const char *__ubsan_default_options() {
  return "exitcode=99:print_stacktrace=1:halt_on_error=1";
}

__attribute__((visibility("default"), used)) const char *__lsan_default_options() {
  return "exitcode=99:print_suppressions=0:suppressions=" PZ_LSAN_SUPPRESSIONS;
}

} // extern "C"
