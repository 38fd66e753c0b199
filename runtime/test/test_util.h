// Helpers shared by the pzrt tests.
#ifndef PZRT_TEST_TEST_UTIL_H
#define PZRT_TEST_TEST_UTIL_H

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <tuple>
#include <sys/wait.h>
#include <vector>

#include "io/fsutil.h"

#ifndef PZRT_TEST_PYTHON
#define PZRT_TEST_PYTHON "/usr/bin/python3"
#endif

namespace pzrt::test {

// Every variable a launcher (Open MPI, PMI, torchrun, Slurm) sets.
inline const char *const kLauncherVars[] = {
    "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
    "OMPI_COMM_WORLD_LOCAL_SIZE", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS",
    "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
    "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE",
    "SLURM_TASKS_PER_NODE", "SLURM_NODEID"};

// Unsets the launcher variables while it lives and restores them after, so a
// test sees a single-rank environment even under mpirun.
class LauncherEnvGuard {
public:
  LauncherEnvGuard() {
    for (const char *v : kLauncherVars) {
      const char *old = std::getenv(v);
      saved_.emplace_back(v, old ? old : "", old != nullptr);
      unsetenv(v);
    }
  }
  ~LauncherEnvGuard() {
    for (auto &[name, value, had] : saved_) {
      if (had)
        setenv(name.c_str(), value.c_str(), 1);
      else
        unsetenv(name.c_str());
    }
  }
  LauncherEnvGuard(const LauncherEnvGuard &) = delete;
  LauncherEnvGuard &operator=(const LauncherEnvGuard &) = delete;

private:
  std::vector<std::tuple<std::string, std::string, bool>> saved_;
};

// A fresh directory, removed (recursively) on destruction.
class TempDir {
public:
  TempDir() {
    const char *base = std::getenv("PZRT_TEST_TMPDIR");
    std::string b = base ? base : "/tmp";
    pzrt::makeDirs(b);
    std::string tmpl = b + "/pzrt-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()))
      path_ = buf.data();
  }
  ~TempDir() {
    if (!path_.empty())
      pzrt::removeTree(path_);
  }
  const std::string &path() const { return path_; }
  std::string file(const std::string &name) const { return path_ + "/" + name; }

private:
  std::string path_;
};

inline void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline std::string readText(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

template <typename T> std::string bytesOf(const std::vector<T> &v) {
  return std::string(reinterpret_cast<const char *>(v.data()), v.size() * sizeof(T));
}

// Runs a shell command; returns its exit status and stdout.
inline int runCommand(const std::string &cmd, std::string *out = nullptr) {
  FILE *p = popen(cmd.c_str(), "r");
  if (!p)
    return -1;
  std::string o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
    o.append(buf, n);
  int rc = pclose(p);
  if (out)
    *out = o;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// True if PZRT_TEST_PYTHON can import the given modules.
inline bool pythonHas(const std::string &modules) {
  return runCommand(std::string(PZRT_TEST_PYTHON) + " -c 'import " + modules +
                    "' >/dev/null 2>&1") == 0;
}

} // namespace pzrt::test

#endif // PZRT_TEST_TEST_UTIL_H
