// Command-line options of a compiled `train` program (CONTRACT.md).
#include "train/train_internal.h"

#include "core/internal.h"

#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdlib>
#include <cstring>
#include <set>

namespace pzrt::train {

[[noreturn]] void throwUsage(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = pzrt::vformat(fmt, ap);
  va_end(ap);
  throw Failure{kExitUsage, msg};
}

[[noreturn]] void throwInternal(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::string msg = pzrt::vformat(fmt, ap);
  va_end(ap);
  throw Failure{kExitInternal, msg};
}

namespace {

// A whole-string decimal integer in [lo, hi].
int64_t parseInt(const std::string &opt, const std::string &v, int64_t lo, int64_t hi) {
  const char *s = v.c_str();
  char *end = nullptr;
  errno = 0;
  long long x = std::strtoll(s, &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || std::isspace(static_cast<unsigned char>(*s)))
    throwUsage("%s: '%s' is not an integer", opt.c_str(), v.c_str());
  if (x < lo || x > hi) {
    if (hi == INT64_MAX)
      throwUsage("%s: %lld must be at least %lld", opt.c_str(), x, (long long)lo);
    throwUsage("%s: %lld is outside [%lld, %lld]", opt.c_str(), x, (long long)lo,
               (long long)hi);
  }
  return x;
}

uint64_t parseSeed(const std::string &opt, const std::string &v) {
  const char *s = v.c_str();
  char *end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(s, &end, 10);
  if (v.empty() || *end != '\0' || errno == ERANGE || !std::isdigit(static_cast<unsigned char>(*s)))
    throwUsage("%s: '%s' is not a non-negative integer below 2^64", opt.c_str(), v.c_str());
  return x;
}

double parseSeconds(const std::string &opt, const std::string &v) {
  const char *s = v.c_str();
  char *end = nullptr;
  errno = 0;
  double x = std::strtod(s, &end);
  if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(x) ||
      std::isspace(static_cast<unsigned char>(*s)))
    throwUsage("%s: '%s' is not a number of seconds", opt.c_str(), v.c_str());
  if (x < 0)
    throwUsage("%s: %s must not be negative (0 disables the timeout)", opt.c_str(), v.c_str());
  return x;
}

void parseNpyList(const std::string &opt, const std::string &v, Options &o) {
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string item = v.substr(start, comma == std::string::npos ? std::string::npos
                                                                   : comma - start);
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throwUsage("%s: '%s' is not NAME=FILE.npy (in '%s')", opt.c_str(), item.c_str(),
                 v.c_str());
    std::string name = item.substr(0, eq), file = item.substr(eq + 1);
    for (const auto &p : o.npy)
      if (p.first == name)
        throwUsage("%s: input '%s' is given twice", opt.c_str(), name.c_str());
    o.npy.emplace_back(name, file);
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
}

} // namespace

void parseOptions(int argc, char **argv, Options &o) {
  bool dataGiven = false, npyGiven = false, saveEveryGiven = false;
  std::set<std::string> seen;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i] ? argv[i] : "";
    if (arg == "-h" || arg == "--help") {
      o.help = true;
      continue;
    }
    if (arg.size() < 3 || arg.compare(0, 2, "--") != 0)
      throwUsage("unexpected argument '%s' (options start with --)", arg.c_str());
    std::string name = arg, value;
    bool hasInline = false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasInline = true;
    }
    auto flag = [&]() {
      if (hasInline)
        throwUsage("%s takes no value (got '%s')", name.c_str(), value.c_str());
    };
    // Every option but --data-npy (a list that may also come in pieces) is
    // given at most once: a second value would silently win otherwise.
    if (name != "--data-npy" && !seen.insert(name).second)
      throwUsage("%s is given twice; give it once", name.c_str());
    auto val = [&]() -> std::string {
      if (hasInline)
        return value;
      if (i + 1 >= argc || !argv[i + 1])
        throwUsage("%s needs a value", name.c_str());
      return argv[++i];
    };
    if (name == "--steps") {
      o.steps = parseInt(name, val(), 0, INT64_MAX / 4);
    } else if (name == "--seed") {
      o.seed = parseSeed(name, val());
      o.seedGiven = true;
    } else if (name == "--log-every") {
      o.logEvery = parseInt(name, val(), 0, INT64_MAX);
    } else if (name == "--data") {
      std::string v = val();
      if (v.empty())
        throwUsage("--data needs a file name or 'synthetic'");
      dataGiven = true;
      if (v == "synthetic") {
        o.data = DataKind::Synthetic;
        o.dataPath.clear();
      } else {
        o.data = DataKind::TokenFile;
        o.dataPath = v;
      }
    } else if (name == "--data-dtype") {
      std::string v = val();
      if (v == "uint16")
        o.tokenBytes = 2;
      else if (v == "uint32")
        o.tokenBytes = 4;
      else
        throwUsage("--data-dtype: '%s' is not uint16 or uint32", v.c_str());
      o.dataDtypeGiven = true;
    } else if (name == "--data-npy") {
      parseNpyList(name, val(), o);
      npyGiven = true;
    } else if (name == "--metrics") {
      o.metrics = val();
      if (o.metrics.empty())
        throwUsage("--metrics needs a file name");
    } else if (name == "--metrics-all") {
      flag();
      o.metricsAll = true;
    } else if (name == "--trace") {
      o.trace = val();
      if (o.trace.empty())
        throwUsage("--trace needs a file name");
    } else if (name == "--save") {
      o.save = val();
      if (o.save.empty())
        throwUsage("--save needs a directory");
    } else if (name == "--save-every") {
      o.saveEvery = parseInt(name, val(), 1, INT64_MAX);
      saveEveryGiven = true;
    } else if (name == "--keep-last") {
      o.keepLast = static_cast<int>(parseInt(name, val(), 1, 1000000));
    } else if (name == "--load") {
      o.load = val();
      if (o.load.empty())
        throwUsage("--load needs a directory");
    } else if (name == "--comm-timeout") {
      o.commTimeout = parseSeconds(name, val());
    } else if (name == "--threads") {
      o.threads = static_cast<int>(parseInt(name, val(), 1, 4096));
    } else {
      throwUsage("unknown option '%s'", name.c_str());
    }
  }
  if (o.help)
    return;
  if (dataGiven && npyGiven)
    throwUsage("--data and --data-npy cannot be used together");
  if (npyGiven)
    o.data = DataKind::Npy;
  if (o.dataDtypeGiven && o.data != DataKind::TokenFile)
    throwUsage("--data-dtype applies only to a token file given with --data PATH");
  if (saveEveryGiven && o.save.empty())
    throwUsage("--save-every needs --save DIR");
  if (o.keepLast > 0 && o.save.empty())
    throwUsage("--keep-last needs --save DIR");
  if (o.metricsAll && o.metrics.empty())
    throwUsage("--metrics-all needs --metrics FILE.jsonl");
}

std::string perRankPath(const std::string &path, int rank, const char *ext) {
  std::string suffix = ".rank" + std::to_string(rank);
  size_t n = std::strlen(ext);
  if (path.size() > n && path.compare(path.size() - n, n, ext) == 0)
    return path.substr(0, path.size() - n) + suffix + ext;
  return path + suffix + ext;
}

std::string usageText(const pzrt_program *const *stages, int n, const char *argv0) {
  const pzrt_program *m = stages && n > 0 ? stages[0] : nullptr;
  std::string prog = argv0 && *argv0 ? argv0 : "train";
  std::string s;
  s += "Usage: " + prog + " [options]\n\n";
  s += "Trains the model '" + std::string(m && m->name ? m->name : "?") +
       "' compiled by parallelize. Start one process per rank (parallelize run,\n"
       "mpirun, srun or torchrun); without a launcher it runs as a single rank.\n\n";
  s += "Options:\n"
       "  --steps N              training steps to run (default 10; with --load: N more)\n"
       "  --seed S               seed of synthetic data and dropout (default 0;\n"
       "                         with --load: the checkpoint's)\n"
       "  --log-every K          progress line every K steps (default 10; 0: quiet)\n"
       "  --data PATH            token file: flat little-endian token ids (nanoGPT, llm.c)\n"
       "  --data-dtype T         uint16 (default) or uint32 ids in the --data file\n"
       "  --data-npy N=F.npy[,N=F.npy...]\n"
       "                         feed each data input N from rows of a .npy file\n"
       "                         (repeatable; every other option is given at most once)\n"
       "  --data synthetic       deterministic generated data (the default)\n"
       "  --metrics FILE.jsonl   rank 0 writes one JSON object per step\n"
       "  --metrics-all          every rank also writes FILE.rankN.jsonl\n"
       "  --trace FILE.json      Chrome trace events (Perfetto, chrome://tracing);\n"
       "                         rank N > 0 writes FILE.rankN.json\n"
       "  --save DIR             save a checkpoint at the end of the run; DIR must be\n"
       "                         absent, empty or a checkpoint (checked at startup:\n"
       "                         a save replaces DIR and never deletes anything else)\n"
       "  --save-every K         also save at every step that is a multiple of K\n"
       "  --keep-last K          keep the K most recent checkpoints: DIR and, before\n"
       "                         it, DIR.step-NNNNNNNN (default: only DIR)\n"
       "  --load DIR             resume from a checkpoint (weights, optimizer state,\n"
       "                         step, data position, loss scale); if DIR is missing\n"
       "                         or incomplete, the complete one an interrupted save\n"
       "                         left beside it\n"
       "  --comm-timeout SECS    abort the job when a collective takes longer\n"
       "                         (default: $PZRT_COMM_TIMEOUT or 600; 0: never)\n"
       "  --threads N            BLAS threads per rank (default: the BLAS default)\n"
       "  -h, --help             print this help and exit\n";
  // Every stage's data inputs (a pipeline stage reads some of the model's).
  std::string inputs;
  std::set<std::string> listed;
  for (int k = 0; k < n && stages; ++k) {
    const pzrt_program *p = stages[k];
    for (int i = 0; p && p->inputs && i < p->num_inputs; ++i) {
      const char *name = p->inputs[i].name ? p->inputs[i].name : "?";
      if (inputRole(p, i) == PZRT_INPUT_DATA && listed.insert(name).second)
        inputs += "  " + std::string(name) + "  " + specStr(p->inputs[i]) + "\n";
    }
  }
  if (m && !inputs.empty()) {
    s += "\nData inputs (one micro-batch";
    if (m->grad_accum > 1)
      s += "; " + std::to_string(m->grad_accum) + " micro-batches per step";
    s += "):\n" + inputs;
  }
  s += "\nExit status: 0 on success, 2 for bad usage or input, 3 when the loss or a\n"
       "gradient becomes NaN or infinite (without loss scaling), 1 for an internal error.\n";
  return s;
}

} // namespace pzrt::train
