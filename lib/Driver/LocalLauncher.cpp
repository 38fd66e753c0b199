//===- LocalLauncher.cpp - parallelize run's launch without MPI ----------===//
//
// `parallelize run --launcher local` (and `auto` where neither srun nor
// mpirun is found) starts the N ranks on this machine itself, the way
// torchrun does: each gets RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE,
// MASTER_ADDR=127.0.0.1, MASTER_PORT (a free port) and a random
// PZRT_JOB_TOKEN, and the runtime connects them with its TCP host
// communicator (docs/design/0021).
//
// Unlike the MPI launch, `run` cannot exec a launcher here: it stays the
// ranks' parent. It forwards SIGINT, SIGTERM and SIGHUP to every rank, and
// each rank is killed if `run` itself dies (PR_SET_PDEATHSIG), so that no
// rank outlives the job. The exit status is the first non-zero status in
// rank order (a rank killed by signal S counts as 128 + S), else 0.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/ADT/Twine.h"

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace mlir::pz::driver;

namespace {

// A port that was free a moment ago (the rendezvous binds it at once).
int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) == 0)
    port = ntohs(sa.sin_port);
  ::close(fd);
  return port;
}

// 16 random bytes as hex: the job token every rank must share.
std::string randomToken() {
  unsigned char bytes[16] = {};
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  bool ok = fd >= 0 && ::read(fd, bytes, sizeof bytes) == static_cast<ssize_t>(sizeof bytes);
  if (fd >= 0)
    ::close(fd);
  if (!ok) // not secret then, still unique to this job in practice
    for (size_t i = 0; i < sizeof bytes; ++i)
      bytes[i] = static_cast<unsigned char>((getpid() * 131 + time(nullptr) * 7 + i * 17) & 0xff);
  char hex[2 * sizeof bytes + 1];
  for (size_t i = 0; i < sizeof bytes; ++i)
    std::snprintf(hex + 2 * i, 3, "%02x", bytes[i]);
  return hex;
}

} // namespace

int mlir::pz::driver::launchLocal(const std::string &train, llvm::ArrayRef<std::string> trainArgs,
                                  int ranks) {
  const int port = freePort();
  if (port == 0) {
    printError("run", "no free TCP port on 127.0.0.1 for the ranks' rendezvous");
    return kExitInternal;
  }
  const std::string token = randomToken();
  std::vector<std::string> args = {train};
  args.insert(args.end(), trainArgs.begin(), trainArgs.end());
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);

  // The signals to forward wait in the mask until the loop below takes them.
  sigset_t forwarded, old;
  sigemptyset(&forwarded);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGCHLD})
    sigaddset(&forwarded, s);
  sigprocmask(SIG_BLOCK, &forwarded, &old);
  llvm::outs().flush();
  llvm::errs().flush();
  std::fflush(nullptr);

  const pid_t parent = getpid();
  std::vector<pid_t> pids(static_cast<size_t>(ranks), -1);
  for (int r = 0; r < ranks; ++r) {
    pid_t pid = fork();
    if (pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent)
        _exit(128 + SIGKILL);
      for (const char *v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK",
                            "PMI_SIZE", "SLURM_PROCID", "SLURM_NTASKS"})
        unsetenv(v);
      setenv("RANK", std::to_string(r).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(ranks).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(r).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(ranks).c_str(), 1);
      setenv("MASTER_ADDR", "127.0.0.1", 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      setenv("PZRT_JOB_TOKEN", token.c_str(), 1);
      sigprocmask(SIG_SETMASK, &old, nullptr);
      ::execv(train.c_str(), argv.data());
      std::fprintf(stderr, "parallelize run: error: starting %s failed: %s\n", train.c_str(),
                   std::strerror(errno));
      _exit(127);
    }
    if (pid < 0) {
      printError("run", llvm::Twine("fork failed: ") + std::strerror(errno));
      for (pid_t p : pids)
        if (p > 0)
          kill(p, SIGKILL);
      return kExitInternal;
    }
    pids[static_cast<size_t>(r)] = pid;
  }

  std::vector<int> status(static_cast<size_t>(ranks), -1);
  int left = ranks;
  while (left > 0) {
    int st = 0;
    pid_t done;
    while ((done = waitpid(-1, &st, WNOHANG)) > 0) {
      for (int r = 0; r < ranks; ++r)
        if (pids[static_cast<size_t>(r)] == done) {
          status[static_cast<size_t>(r)] =
              WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
          pids[static_cast<size_t>(r)] = -1;
          --left;
        }
    }
    if (left == 0)
      break;
    timespec wait{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&forwarded, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP)
      for (pid_t p : pids)
        if (p > 0)
          kill(p, sig);
  }
  sigprocmask(SIG_SETMASK, &old, nullptr);
  for (int s : status)
    if (s != 0)
      return s;
  return kExitOk;
}
