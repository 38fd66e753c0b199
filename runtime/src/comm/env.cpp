// Rank discovery from launcher environment variables.
#include "pzrt/env.h"

#include "core/internal.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using pzrt::fail;

// Parses a non-negative decimal int (surrounding whitespace allowed).
bool parseNonNeg(const char *s, int *out) {
  while (*s == ' ' || *s == '\t')
    ++s;
  if (*s < '0' || *s > '9')
    return false;
  long long v = 0;
  while (*s >= '0' && *s <= '9') {
    v = v * 10 + (*s - '0');
    if (v > INT_MAX)
      return false;
    ++s;
  }
  while (*s == ' ' || *s == '\t' || *s == '\n')
    ++s;
  if (*s != '\0')
    return false;
  *out = static_cast<int>(v);
  return true;
}

// Reads variable `name`: returns 1 if set and valid, 0 if unset, -1 on error.
int readVar(const char *name, int *out) {
  const char *v = std::getenv(name);
  if (!v)
    return 0;
  if (!parseNonNeg(v, out))
    return fail("environment variable %s='%s' is not a non-negative integer", name, v);
  return 1;
}

int requireVar(const char *name, const char *because, int *out) {
  int r = readVar(name, out);
  if (r == 0)
    return fail("environment variable %s is not set, but %s is", name, because);
  return r < 0 ? -1 : 0;
}

// Expands Slurm's "2(x3),1" task-per-node syntax and returns entry `node`.
int slurmTasksOnNode(const char *spec, int node, int *out) {
  std::vector<int> counts;
  std::string s(spec);
  size_t pos = 0;
  while (pos < s.size()) {
    size_t comma = s.find(',', pos);
    std::string item = s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    int count = 0, reps = 1;
    size_t paren = item.find("(x");
    std::string head = item.substr(0, paren);
    if (!parseNonNeg(head.c_str(), &count))
      return fail("SLURM_TASKS_PER_NODE='%s' is malformed near '%s'", spec, item.c_str());
    if (paren != std::string::npos) {
      std::string rep = item.substr(paren + 2);
      if (rep.empty() || rep.back() != ')')
        return fail("SLURM_TASKS_PER_NODE='%s' is malformed near '%s'", spec, item.c_str());
      rep.pop_back();
      if (!parseNonNeg(rep.c_str(), &reps))
        return fail("SLURM_TASKS_PER_NODE='%s' is malformed near '%s'", spec, item.c_str());
    }
    for (int i = 0; i < reps && static_cast<int>(counts.size()) <= node; ++i)
      counts.push_back(count);
    if (comma == std::string::npos)
      break;
    pos = comma + 1;
  }
  if (node >= static_cast<int>(counts.size()))
    return fail("SLURM_TASKS_PER_NODE='%s' has no entry for SLURM_NODEID=%d", spec, node);
  *out = counts[static_cast<size_t>(node)];
  return 0;
}

struct Source {
  const char *name;
  const char *rank, *size, *localRank, *localSize;
};

const Source kSources[] = {
    {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK",
     "OMPI_COMM_WORLD_LOCAL_SIZE"},
    {"pmi", "PMI_RANK", "PMI_SIZE", "MPI_LOCALRANKID", "MPI_LOCALNRANKS"},
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", nullptr},
};

int checkRanges(const Source &src, pzrt_env *e) {
  if (e->world_size < 1)
    return fail("%s=%d: the world size must be at least 1 (launcher: %s)", src.size, e->world_size,
                src.name);
  if (e->rank >= e->world_size)
    return fail("%s=%d is not below %s=%d (launcher: %s)", src.rank, e->rank, src.size,
                e->world_size, src.name);
  const char *lsName = src.localSize ? src.localSize : "SLURM_NTASKS_PER_NODE";
  if (e->local_size < 1 || e->local_size > e->world_size)
    return fail("%s=%d must be between 1 and the world size %d (launcher: %s)", lsName,
                e->local_size, e->world_size, src.name);
  if (e->local_rank >= e->local_size)
    return fail("%s=%d is not below the local size %d (launcher: %s)", src.localRank, e->local_rank,
                e->local_size, src.name);
  return 0;
}

int fromSource(const Source &src, pzrt_env *e) {
  if (requireVar(src.size, src.rank, &e->world_size) ||
      requireVar(src.rank, src.size, &e->rank))
    return -1;
  e->local_rank = e->rank;
  e->local_size = e->world_size;
  int haveLocalRank = readVar(src.localRank, &e->local_rank);
  if (haveLocalRank < 0)
    return -1;
  int haveLocalSize = 0;
  if (src.localSize) {
    haveLocalSize = readVar(src.localSize, &e->local_size);
  } else { // Slurm
    haveLocalSize = readVar("SLURM_NTASKS_PER_NODE", &e->local_size);
    if (haveLocalSize == 0 && std::getenv("SLURM_TASKS_PER_NODE")) {
      int node = 0;
      if (readVar("SLURM_NODEID", &node) < 0)
        return -1;
      if (slurmTasksOnNode(std::getenv("SLURM_TASKS_PER_NODE"), node, &e->local_size))
        return -1;
      haveLocalSize = 1;
    }
  }
  if (haveLocalSize < 0)
    return -1;
  if (haveLocalRank && !haveLocalSize && src.localSize)
    return fail("environment variable %s is set but %s is not (launcher: %s)", src.localRank,
                src.localSize, src.name);
  if (haveLocalRank && !haveLocalSize) // Slurm without a task count: assume one node
    e->local_size = e->world_size;
  if (!haveLocalRank && haveLocalSize)
    return fail("environment variable %s is set but %s is not (launcher: %s)",
                src.localSize ? src.localSize : "SLURM_NTASKS_PER_NODE", src.localRank, src.name);
  std::strncpy(e->source, src.name, sizeof(e->source) - 1);
  return checkRanges(src, e);
}

} // namespace

extern "C" int pzrt_env_discover(pzrt_env *out) {
  if (!out)
    return fail("pzrt_env_discover: output pointer is NULL");
  pzrt_env e;
  std::memset(&e, 0, sizeof(e));
  e.world_size = 1;
  e.local_size = 1;
  std::strncpy(e.source, "none", sizeof(e.source) - 1);
  for (const Source &src : kSources) {
    if (std::getenv(src.rank) || std::getenv(src.size)) {
      if (fromSource(src, &e))
        return -1;
      break;
    }
  }
  if (const char *addr = std::getenv("MASTER_ADDR")) {
    if (std::strlen(addr) >= sizeof(e.master_addr))
      return fail("MASTER_ADDR is longer than %zu characters", sizeof(e.master_addr) - 1);
    std::strncpy(e.master_addr, addr, sizeof(e.master_addr) - 1);
  }
  int port = 0;
  int havePort = readVar("MASTER_PORT", &port);
  if (havePort < 0)
    return -1;
  if (havePort && (port < 1 || port > 65535))
    return fail("MASTER_PORT=%d is not a TCP port (1-65535)", port);
  e.master_port = port;
  *out = e;
  return 0;
}
