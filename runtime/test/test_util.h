// Helpers shared by the pzrt tests.
#ifndef PZRT_TEST_TEST_UTIL_H
#define PZRT_TEST_TEST_UTIL_H

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "io/fsutil.h"

#ifndef PZRT_TEST_PYTHON
#define PZRT_TEST_PYTHON "/usr/bin/python3"
#endif

namespace pzrt::test {

// n floats uniform in [lo, hi), from std::mt19937(seed).
inline std::vector<float> uniformVec(size_t n, unsigned seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

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

// Runs f in a forked child and returns its exit status (or -signal). A child
// still running after timeoutS seconds is killed and *hung set: the tests of
// FIFO inputs use this only to detect a hang, not to time anything.
inline int runInChild(const std::function<int()> &f, int timeoutS, bool *hung = nullptr) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid == 0)
    _exit(f());
  if (hung)
    *hung = false;
  if (pid < 0)
    return -1000;
  int status = 0;
  for (int waited = 0;; waited += 10) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (waited >= timeoutS * 1000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      if (hung)
        *hung = true;
      break;
    }
    usleep(10000);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// Everything under path: relative name -> contents ("<dir>" for a directory,
// "<link:target>" for a symbolic link, "<type:mode,rdev>" for anything else),
// to compare a tree before and after a command that must not touch it.
inline void snapshotInto(const std::string &path, const std::string &rel,
                         std::map<std::string, std::string> &out) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    out[rel] = "<absent>";
    return;
  }
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = readlink(path.c_str(), buf, sizeof(buf));
    out[rel] = "<link:" + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0) + ">";
  } else if (S_ISDIR(st.st_mode)) {
    out[rel] = "<dir>";
    if (DIR *d = opendir(path.c_str())) {
      std::vector<std::string> names;
      while (dirent *e = readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          names.push_back(e->d_name);
      closedir(d);
      for (const std::string &n : names)
        snapshotInto(path + "/" + n, rel + "/" + n, out);
    }
  } else if (S_ISREG(st.st_mode)) {
    out[rel] = readText(path);
  } else {
    out[rel] = "<type:" + std::to_string(st.st_mode) + "," + std::to_string(st.st_rdev) + ">";
  }
}
inline std::map<std::string, std::string> snapshot(const std::string &path) {
  std::map<std::string, std::string> out;
  snapshotInto(path, ".", out);
  return out;
}

// True if PZRT_TEST_PYTHON can import the given modules.
inline bool pythonHas(const std::string &modules) {
  return runCommand(std::string(PZRT_TEST_PYTHON) + " -c 'import " + modules +
                    "' >/dev/null 2>&1") == 0;
}

} // namespace pzrt::test

#endif // PZRT_TEST_TEST_UTIL_H
