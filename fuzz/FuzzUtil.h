//===- FuzzUtil.h - helpers shared by the libFuzzer targets ---------------===//
//
// The readers under test take paths, so the targets write their input to a
// private temporary directory (one per fuzzing process, removed at exit).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_FUZZ_FUZZUTIL_H
#define PZ_FUZZ_FUZZUTIL_H

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

namespace pzfuzz {

/// A fresh directory for this process, under $TMPDIR (else /tmp).
inline const std::string &tempDir() {
  static const std::string dir = [] {
    const char *base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/pz-fuzz-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      std::perror("pz-fuzz: mkdtemp");
      std::abort();
    }
    static std::string removeAtExit;
    removeAtExit = tmpl;
    std::atexit([] {
      std::string cmd = "rm -rf '" + removeAtExit + "'";
      if (std::system(cmd.c_str()) != 0)
        std::fprintf(stderr, "pz-fuzz: could not remove %s\n", removeAtExit.c_str());
    });
    return tmpl;
  }();
  return dir;
}

/// Writes `bytes` to `path` (truncating); aborts on failure, which is the
/// harness's fault, not the code under test's.
inline void writeFile(const std::string &path, std::string_view bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    std::abort();
  }
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n <= 0) {
      std::perror(path.c_str());
      std::abort();
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

/// Fails the run with a message: a broken invariant of the code under test.
[[noreturn]] inline void invariant(const char *what, const std::string &detail = "") {
  std::fprintf(stderr, "pz-fuzz: invariant broken: %s%s%s\n", what, detail.empty() ? "" : ": ",
               detail.c_str());
  std::abort();
}

} // namespace pzfuzz

#endif // PZ_FUZZ_FUZZUTIL_H
