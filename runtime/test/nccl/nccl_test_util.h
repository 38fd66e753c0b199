// Running pzrt-nccl-probe from the NCCL tests: a clean environment (no
// launcher variables of the test's own), the variables given, a time limit.
#ifndef PZRT_TEST_NCCL_NCCL_TEST_UTIL_H
#define PZRT_TEST_NCCL_NCCL_TEST_UTIL_H

#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#ifndef PZRT_TEST_NCCL_PROBE
#error "PZRT_TEST_NCCL_PROBE must name the pzrt-nccl-probe executable"
#endif

namespace pzrt::test {

// "env -u ... VAR=value ... timeout S probe args": the command line of one rank.
inline std::string probeCommand(const std::vector<std::string> &vars, const std::string &args,
                                int limitS = 120) {
  std::string cmd = "env";
  for (const char *v : kLauncherVars)
    cmd += std::string(" -u ") + v;
  cmd += " -u PZRT_JOB_TOKEN -u PZRT_COMM_TIMEOUT";
  for (const std::string &v : vars)
    cmd += " '" + v + "'";
  return cmd + " timeout -k 5 " + std::to_string(limitS) + " " + PZRT_TEST_NCCL_PROBE + " " + args;
}

// An unused TCP port on 127.0.0.1 (free when asked; the probes bind it soon after).
inline int unusedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Starts ranks 0..extra.size()-1 of a torchrun-style job of `worldSize`
// ranks on 127.0.0.1 (rank r with extra[r] added to its environment) and
// waits for them; returns their output, each rank's followed by
// "rank R exit S".
inline std::string torchrunJob(int worldSize, const std::vector<std::vector<std::string>> &extra,
                               const std::string &args, int limitS = 90) {
  std::string port = std::to_string(unusedPort());
  std::string cmd = "cd \"${TMPDIR:-/tmp}\" && (";
  for (size_t r = 0; r < extra.size(); ++r) {
    std::string rank = std::to_string(r), size = std::to_string(worldSize);
    std::vector<std::string> vars = {"RANK=" + rank,       "WORLD_SIZE=" + size,
                                     "LOCAL_RANK=" + rank, "LOCAL_WORLD_SIZE=" + size,
                                     "MASTER_ADDR=127.0.0.1", "MASTER_PORT=" + port,
                                     "PZRT_JOB_TOKEN=test-token"};
    vars.insert(vars.end(), extra[r].begin(), extra[r].end()); // later ones win
    cmd += "(out=$(" + probeCommand(vars, args, limitS) + " 2>&1); rc=$?; printf '%s\\nrank " +
           rank + " exit %s\\n' \"$out\" $rc) & ";
  }
  cmd += "wait)";
  std::string out;
  runCommand(cmd, &out);
  return out;
}

} // namespace pzrt::test

#endif // PZRT_TEST_NCCL_NCCL_TEST_UTIL_H
