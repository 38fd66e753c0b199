// pzrt_train_main: the training loop of every compiled `train` program, with
// its progress lines, metrics, trace events and checkpoints.
#include "train/train_internal.h"
#include "train/host_stage.h"
#include "train/graphs.h"
#include "train/trainer.h"

#include "pzrt/arena.h"
#include "pzrt/env.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"
#include "pzrt/kernels.h"
#include "pzrt/metrics.h"
#include "pzrt/trace.h"

#include "comm/comm_impl.h"
#include "core/checked.h"
#include "core/device.h"
#include "cpu/device_transfer.h"
#include "core/internal.h"
#include "io/ckpt_dir.h"
#include "io/fsutil.h"
#include "io/json.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <unistd.h>

// Linked only into programs that run bf16 GEMMs on the CPU (see run()).
#pragma weak pzrt_gemm_bf16_path

namespace json = pzrt::json;

namespace pzrt::train {
namespace {

double nowSeconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}


std::string stepArgs(int64_t step, int micro) {
  std::string a = "{\"step\":" + std::to_string(step);
  if (micro >= 0)
    a += ",\"micro_batch\":" + std::to_string(micro);
  return a + "}";
}

// "124.4M" style counts.
std::string humanCount(double n) {
  char buf[32];
  if (n >= 1e9)
    std::snprintf(buf, sizeof(buf), "%.2fB", n / 1e9);
  else if (n >= 1e6)
    std::snprintf(buf, sizeof(buf), "%.2fM", n / 1e6);
  else if (n >= 1e4)
    std::snprintf(buf, sizeof(buf), "%.1fK", n / 1e3);
  else
    std::snprintf(buf, sizeof(buf), "%.0f", n);
  return buf;
}

int digits(int64_t v) {
  int d = 1;
  while (v >= 10) {
    v /= 10;
    ++d;
  }
  return d;
}

// The directory of the running program, resolved ("" if unknown).
std::string programDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return "";
  buf[n] = '\0';
  char *real = realpath(pzrt::ckpt::parentDir(buf).c_str(), nullptr);
  std::string out = real ? real : "";
  std::free(real);
  return out;
}

// dir with its existing part resolved: realpath of the longest existing
// prefix, then the rest (symbolic links at the last component included).
std::string resolvedPath(const std::string &dir) {
  if (char *real = realpath(dir.c_str(), nullptr)) {
    std::string out = real;
    std::free(real);
    return out;
  }
  std::string parent = pzrt::ckpt::parentDir(dir);
  if (parent == dir)
    return dir;
  std::string p = resolvedPath(parent);
  return (p == "/" ? "" : p) + "/" + pzrt::ckpt::baseName(dir);
}

// Fails fast (before training) when --save DIR must not or could not be
// written later: DIR must be absent, empty or a checkpoint (never the
// program's own directory or one holding it), and its parent writable.
// Only rank 0 examines DIR (setup failures are agreed on by every rank).
void checkSaveDir(const std::string &dir, int rank) {
  std::string d = pzrt::ckpt::normalizeDir(dir);
  if (d.empty())
    throwUsage("--save '%s': give the checkpoint directory by a name (not '.', '..' or '/'); a "
               "save replaces the directory by renaming",
               dir.c_str());
  if (rank == 0) {
    std::string prog = programDir(), target = resolvedPath(d);
    if (!prog.empty() && target == prog)
      throwUsage("--save '%s' is the directory of this program ('%s'); a save replaces its "
                 "directory, so choose another one; nothing was changed",
                 dir.c_str(), prog.c_str());
    if (!prog.empty() && prog.compare(0, target.size() + 1, target + "/") == 0)
      throwUsage("--save '%s' holds this program ('%s'); a save replaces its directory, so "
                 "choose another one; nothing was changed",
                 dir.c_str(), prog.c_str());
    if (pzrt::ckpt::checkSaveTarget(d))
      throwUsage("--save: %s", pzrt_last_error());
  }
  std::string parent = pzrt::ckpt::parentDir(d);
  if (pzrt::makeDirs(parent) != 0)
    throwUsage("--save '%s': %s", dir.c_str(), pzrt_last_error());
  if (access(parent.c_str(), W_OK | X_OK) != 0)
    throwUsage("--save '%s': cannot write into '%s': %s", dir.c_str(), parent.c_str(),
               std::strerror(errno));
}

// Flushes stdout; a failed write (a full disk, /dev/full, a closed pipe
// with SIGPIPE ignored) is an error, not silently lost output.
void flushStdout(const char *what) {
  if (std::fflush(stdout) != 0 || std::ferror(stdout))
    throwInternal("cannot write %s to standard output: %s", what, std::strerror(errno));
}

// Runs f; a Failure, or any other exception (e.g. std::bad_alloc, or one
// thrown by generated C++ code), comes back as a Failure ({0, ""}: success).
template <typename F> Failure guarded(F f) {
  try {
    f();
  } catch (const Failure &e) {
    return e;
  } catch (const std::exception &e) {
    return Failure{kExitInternal, std::string("unexpected C++ exception: ") + e.what()};
  } catch (...) {
    return Failure{kExitInternal, "unexpected C++ exception"};
  }
  return Failure{kExitOk, ""};
}


} // namespace

Trainer::~Trainer() {
  // Buffers, data and files first, then the communicator (MPI last).
  metrics_.reset();
  rankMetrics_.reset();
  trace_.reset();
  // Kernels of a failed step may still use the buffers freed below.
  if (ctx_.device && pzrt_device_synchronize(ctx_.device) != 0)
    std::fprintf(stderr, "train: %s: waiting for the device before freeing its buffers: %s\n",
                 where().c_str(), pzrt_last_error());
  // The graphs before the communicators they captured (NCCL's destroy
  // waits for the graphs that hold its communicator).
  stepGraph_.reset();
  graphs_.reset();
  for (void *p : pinned_)
    ctx_.device->ops->pinnedFree(ctx_.device, p);
  for (Chunk &c : chunks_) {
    c.feed.reset();
    // A send still in flight (the step failed) may read its buffer: keep them.
    if (std::any_of(c.sending.begin(), c.sending.end(), [](pzrt_send_request *r) { return r; })) {
      (void)c.buf.release();
      (void)new auto(std::move(c.hostOutputs)); // and the host copies they send
    }
    c.buf.reset();
  }
  if (allocatorSet_)
    pzrt_mem_set_allocator(prevAllocator_);
  for (pzrt_comm *c : groupComms_)
    pzrt_comm_destroy(c);
  for (auto &[mask, c] : tiedComms_)
    pzrt_comm_destroy(c);
  destroyLinkComms();
  if (dataComm_)
    pzrt_comm_destroy(dataComm_);
  for (pzrt_stream *st : streams_)
    pzrt_stream_destroy(st);
  if (comm_)
    pzrt_comm_destroy(comm_);
  if (mpi_)
    pzrt_comm_finalize();
}

std::string Trainer::where() const {
  std::string w = "rank " + std::to_string(rank_);
  if (world_ > 1)
    w += " (of " + std::to_string(world_) + ")";
  if (curStep_ > 0)
    w += ", step " + std::to_string(curStep_);
  return w;
}

int Trainer::agree(int code) {
  if (!multiRank() || !comm_)
    return code;
  int64_t v = code;
  // The driver's own bookkeeping: not counted in the comm_bytes of the step.
  if (comm_->allReduce(&v, &v, 1, PZRT_I64, PZRT_REDUCE_MAX) != 0)
    pzrt::fatal(kExitInternal, "%s: agreeing on the setup outcome failed: %s", where().c_str(),
                pzrt_last_error());
  return static_cast<int>(v);
}

int Trainer::run() {
  if (pzrt_env_discover(&env_) != 0) {
    std::fprintf(stderr, "train: cannot determine this process's rank: %s\n", pzrt_last_error());
    return kExitUsage;
  }
  rank_ = env_.rank;
  world_ = env_.world_size;
  const char *prog = argc_ > 0 && argv_ && argv_[0] ? argv_[0] : "train";
  try {
    parseOptions(argc_, argv_, opts_);
  } catch (const Failure &f) {
    if (rank_ == 0)
      std::fprintf(stderr, "train: %s\nTry '%s --help' for the options.\n", f.message.c_str(),
                   prog);
    return f.code;
  }
  if (opts_.help) {
    if (rank_ == 0) {
      std::fputs(usageText(stages_, numStages_, prog).c_str(), stdout);
      if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::fprintf(stderr, "train: cannot write the help to standard output: %s\n",
                     std::strerror(errno));
        return kExitInternal;
      }
    }
    return kExitOk;
  }
  try {
    for (int s = 0; stages_ && s < numStages_; ++s)
      validateModel(stages_[s]);
    validateStages(stages_, numStages_);
  } catch (const Failure &f) {
    if (rank_ == 0)
      std::fprintf(stderr, "train: %s\n", f.message.c_str());
    return f.code;
  }
  if (world_ != m_->world_size) {
    if (rank_ == 0)
      std::fprintf(stderr,
                   "train: this program was compiled for %d rank%s, but %d %s started (%s); "
                   "start %d process%s (`parallelize run -n %d`, mpirun, srun or torchrun), "
                   "or recompile with a plan for %d rank%s\n",
                   m_->world_size, m_->world_size == 1 ? "" : "s", world_,
                   world_ == 1 ? "was" : "were",
                   std::strcmp(env_.source, "none") == 0 ? "no launcher found"
                                                         : (std::string("launcher: ") +
                                                            env_.source).c_str(),
                   m_->world_size, m_->world_size == 1 ? "" : "es", m_->world_size, world_,
                   world_ == 1 ? "" : "s");
    return kExitUsage;
  }
  if (opts_.threads > 0)
    pzrt_blas_set_threads(opts_.threads);
  if (pzrt_cpu_prepare_env() != 0) {
    if (rank_ == 0)
      std::fprintf(stderr, "train: %s\n", pzrt_last_error());
    return kExitUsage;
  }
  // pzrt_gemm_bf16_path is weak here: only a program whose CPU kernels run
  // bf16 GEMMs links gemm_bf16.o (others, CUDA programs among them, keep no
  // dependency on it). Such a program chooses its GEMM path now, so that a
  // PZRT_CPU_BF16_GEMM=onednn without oneDNN fails at startup, and says it.
  if (pzrt_gemm_bf16_path) {
    const char *path = pzrt_gemm_bf16_path();
    if (!path) {
      if (rank_ == 0)
        std::fprintf(stderr, "train: %s\n", pzrt_last_error());
      return kExitUsage;
    }
    if (rank_ == 0)
      std::fprintf(stderr, "train: bf16 GEMMs: %s\n",
                   std::strcmp(path, "oneDNN") == 0 ? "oneDNN (libdnnl.so.2)"
                                                    : "fp32 copies through OpenBLAS");
  }

  comm_ = pzrt_comm_create_auto();
  if (!comm_) {
    std::fprintf(stderr, "train: rank %d: creating the communicator: %s\n", rank_,
                 pzrt_last_error());
    return kExitInternal;
  }
  mpi_ = pzrt_comm_is_mpi(comm_) != 0;
  rank_ = pzrt_comm_rank(comm_);
  if (rank_ == 0 && world_ > 1 && !mpi_)
    std::fprintf(stderr, "train: host communicator: TCP, %d ranks (launcher: %s, rendezvous at "
                         "%s)\n",
                 world_, env_.source, env_.master_addr);
  // The rank's stage: its coordinate on the pp axis, the outermost; with
  // interleaved chunks, every stage of that coordinate modulo pp.
  const int64_t coord = axesCoord(m_, 1u << PZRT_AXIS_PP, rank_);
  for (int s = 0; s < numStages_; ++s)
    if (s % numStages(stages_[0]) == coord) {
      chunks_.emplace_back();
      chunks_.back().m = stages_[s];
    }
  m_ = chunks_.front().m;
  if (opts_.commTimeout >= 0)
    pzrt_comm_set_timeout(comm_, opts_.commTimeout);

  // Setup in agreed phases: the device first and the device's own world
  // communicator next (either may fail on some ranks only), then the
  // splits, which every rank makes together, and the rest.
  for (void (Trainer::*phase)() :
       {&Trainer::openDevice, &Trainer::createDataComm, &Trainer::setup}) {
    int code = kExitOk;
    if (Failure f = guarded([this, phase] { (this->*phase)(); }); f.code != kExitOk) {
      std::fprintf(stderr, "train: %s: %s\n", where().c_str(), f.message.c_str());
      code = f.code;
    }
    int all = agree(code);
    if (all != kExitOk) {
      if (code == kExitOk)
        std::fprintf(stderr, "train: %s: stopping because another rank failed during setup\n",
                     where().c_str());
      return all;
    }
  }
  if (Failure f = guarded([this] {
        printBanner();
        trainLoop();
      });
      f.code != kExitOk) {
    // Peers may be waiting in a collective: end the whole job, unless every
    // rank stops here together.
    if (multiRank() && !f.agreed)
      pzrt::fatal(f.code, "%s: %s (aborting all ranks)", where().c_str(), f.message.c_str());
    std::fprintf(stderr, "train: %s: %s\n", where().c_str(), f.message.c_str());
    return f.code;
  }
  return kExitOk;
}

void Trainer::setup() {
  pzrt_mem_reset_peaks();
  K_ = m_->grad_accum;
  // Pipeline stages (pp outermost): the stage's ranks are the world over
  // pp; the data-parallel ranks are the outermost axes within a stage
  // (without pp: rank / (world / dp) as always).
  const int pp = numStages(m_);
  stageStride_ = world_ / pp;
  lossRanks_ = world_ / pp;
  hasLoss_ = false;
  for (Chunk &c : chunks_) {
    c.hasLoss = !isStageProgram(c.m) || bindsScalar(c.m, PZRT_SCALAR_LOSS);
    hasLoss_ = hasLoss_ || c.hasLoss;
  }
  dpSize_ = m_->dp_size > 0 ? m_->dp_size : stageStride_;
  dpRank_ = (rank_ % stageStride_) / (stageStride_ / dpSize_);
  // The communicators next: every rank splits the world together, before
  // anything that may fail on some ranks only (they then meet in agree()).
  createGroupComms();
  createTiedComms();
  createLinkComms();
  // The plan's rows and tokens: those of the first stage that reads data (a
  // middle stage reads none).
  const pzrt_program *data = m_;
  for (int s = numStages_ - 1; s >= 0; --s)
    for (int i = 0; i < stages_[s]->num_inputs; ++i)
      if (inputRole(stages_[s], i) == PZRT_INPUT_DATA)
        data = stages_[s];
  rows_ = microBatchRows(data);
  int ids = findDataInput(data, "input_ids");
  tokenModel_ = ids >= 0;
  if (!pzrt::checkedMul(rows_, static_cast<int64_t>(K_) * dpSize_, G_) ||
      !pzrt::checkedMul(G_, ids >= 0 && data->inputs[ids].ndim >= 2 ? data->inputs[ids].shape[1] : 1,
                        tokensPerStep_))
    throwInternal("model description: the global batch of %lld rows x %d micro-batches x %d "
                  "data-parallel ranks overflows",
                  (long long)rows_, K_, dpSize_);
  checkDeviceFits();
  for (Chunk &c : chunks_) {
    for (int i = 0; i < c.m->num_inputs; ++i)
      if (inputRole(c.m, i) == PZRT_INPUT_LOSS_SCALE)
        c.lossScaleInput = i;
    c.buf = std::make_unique<Buffers>();
    allocateBuffers(c.m, *c.buf);
    c.sending.assign(static_cast<size_t>(c.m->num_outputs), nullptr);
    c.sendingOnDevice.assign(static_cast<size_t>(c.m->num_outputs), nullptr);
  }
  mergeSchedules();

  pos_.seed = opts_.seed;
  if (m_->loss_scaling)
    pos_.scaler = *m_->loss_scaling;
  else
    pzrt_loss_scaler_init_default(&pos_.scaler);
  if (!opts_.save.empty())
    checkSaveDir(opts_.save, rank_); // before reading anything large

  if (!opts_.load.empty()) {
    std::vector<std::string> notes;
    for (Chunk &c : chunks_) {
      notes.clear(); // each chunk's load says the same
      HostWeights host(ctx_.device, c.m, *c.buf, true, "loading a checkpoint");
      loadCheckpoint(c.m, host.view(), opts_.load, pos_, notes, rank_);
      host.writeBack("loading a checkpoint");
    }
    if (rank_ == 0)
      for (const std::string &n : notes)
        std::fprintf(stderr, "train: note: %s\n", n.c_str());
    if (opts_.seedGiven && opts_.seed != pos_.seed) {
      if (rank_ == 0)
        std::fprintf(stderr,
                     "train: note: --seed %llu replaces the checkpoint's seed %llu; the data "
                     "and dropout streams change\n",
                     (unsigned long long)opts_.seed, (unsigned long long)pos_.seed);
      pos_.seed = opts_.seed;
    }
  } else if (m_->init_file) {
    for (Chunk &c : chunks_) {
      HostWeights host(ctx_.device, c.m, *c.buf, true, "loading the initial weights");
      loadInitFile(c.m, host.view(), rank_);
      host.writeBack("loading the initial weights");
    }
  }
  start_ = pos_.step;
  dataStart_ = pos_.dataPosition;
  // Every row index of the run (data position + steps x global batch) and
  // the last step number must stay below 2^62.
  int64_t rowsNeeded = 0, lastRow = 0;
  if (!pzrt::checkedAdd(start_, opts_.steps, end_) ||
      !pzrt::checkedMul(opts_.steps, G_, rowsNeeded) ||
      !pzrt::checkedAdd(dataStart_, rowsNeeded, lastRow))
    throwUsage("--steps %lld: %lld steps of %lld rows from step %lld and data position %lld "
               "run past 2^62",
               (long long)opts_.steps, (long long)opts_.steps, (long long)G_, (long long)start_,
               (long long)dataStart_);

  // The DATA inputs of the whole plan (every stage's), in stage order:
  // --data-npy names them all, and each stage loads its own.
  std::vector<std::string> planInputs;
  for (int s = 0; s < numStages_; ++s)
    for (int i = 0; i < stages_[s]->num_inputs; ++i)
      if (inputRole(stages_[s], i) == PZRT_INPUT_DATA &&
          std::find(planInputs.begin(), planInputs.end(), stages_[s]->inputs[i].name) ==
              planInputs.end())
        planInputs.emplace_back(stages_[s]->inputs[i].name);
  for (Chunk &c : chunks_) {
    c.feed = std::make_unique<DataFeed>();
    c.feed->open(c.m, opts_, pos_.seed,
                 static_cast<int>(axesCoord(c.m, 1u << PZRT_AXIS_CP, rank_)), planInputs);
  }

  if (!opts_.metrics.empty()) {
    if (rank_ == 0) {
      metrics_.reset(pzrt_metrics_open(opts_.metrics.c_str(), 0));
      if (!metrics_)
        throwUsage("--metrics: %s", pzrt_last_error());
    }
    if (opts_.metricsAll) {
      std::string p = perRankPath(opts_.metrics, rank_, ".jsonl");
      rankMetrics_.reset(pzrt_metrics_open(p.c_str(), 0));
      if (!rankMetrics_)
        throwUsage("--metrics-all: %s", pzrt_last_error());
    }
  }
  if (!opts_.trace.empty()) {
    std::string p = rank_ == 0 ? opts_.trace : perRankPath(opts_.trace, rank_, ".json");
    trace_.reset(pzrt_trace_open(p.c_str(), rank_));
    if (!trace_)
      throwUsage("--trace: %s", pzrt_last_error());
    pzrt_trace_thread_name(trace_.get(), 0, "driver");
    pzrt_trace_thread_name(trace_.get(), 1, "comm"); // the compiled collectives (exec.h)
  }

  ctx_.seed = pos_.seed;
  ctx_.trace = trace_.get();
  ctx_.comm = comm_;
  for (int i = 0; i < 2; ++i) {
    pzrt_stream *st = pzrt_stream_create(ctx_.device);
    if (!st)
      throwInternal("creating stream %d on %s: %s", i, pzrt_device_name(ctx_.device),
                    pzrt_last_error());
    streams_.push_back(st);
  }
  ctx_.num_streams = static_cast<int32_t>(streams_.size());
  ctx_.streams = streams_.data();
  graphs_.init(&ctx_);
  use(0); // the arena and communicators of the first chunk
  decideStepGraph();
}

void Trainer::createDataComm() {
  if (!multiRank() || !hooks_ || !hooks_->data_comm)
    return;
  pzrt_clear_error();
  if (hooks_->data_comm(comm_, &dataComm_, hooks_->user) != 0)
    throwInternal("creating the communicator of the device: %s", pzrt_last_error());
  if (dataComm_ && opts_.commTimeout >= 0)
    pzrt_comm_set_timeout(dataComm_, opts_.commTimeout);
}

void Trainer::openDevice() {
  ctx_.device = pzrt_device_cpu();
  if (!hooks_)
    return;
  if (hooks_->open_device) {
    pzrt_clear_error();
    pzrt_device *d = hooks_->open_device(hooks_->user);
    if (!d)
      throwInternal("%s", *pzrt_last_error() ? pzrt_last_error() : "opening the device failed");
    ctx_.device = d;
  }
  if (hooks_->allocator) {
    prevAllocator_ = pzrt_mem_set_allocator(hooks_->allocator);
    allocatorSet_ = true;
  }
}

void Trainer::checkDeviceFits() {
  size_t freeBytes = 0, totalBytes = 0;
  if (pzrt_device_mem_info(ctx_.device, &freeBytes, &totalBytes) != 0)
    throwInternal("asking %s for its free memory: %s", pzrt_device_name(ctx_.device),
                  pzrt_last_error());
  if (totalBytes == 0)
    return; // the device does not say (the CPU)
  // Oversubscribing a GPU's memory fails late or, with managed memory,
  // can hang it: refuse the plan at once, naming where it stops fitting.
  uint64_t planned = 0;
  std::string first;
  for (const Chunk &c : chunks_)
    for (const PlannedBuffer &b : planBuffers(c.m)) {
      planned += b.bytes;
      if (planned > freeBytes && first.empty())
        first = pzrt::format("%s (%llu bytes%s)", b.what.c_str(), (unsigned long long)b.bytes,
                             chunks_.size() > 1
                                 ? pzrt::format(", stage %d", c.m->pp_stage).c_str()
                                 : "");
    }
  if (planned > freeBytes)
    throwInternal("the plan's device buffers take %llu bytes, but %s has %zu of its %zu bytes "
                  "free; the first buffer past the free memory is %s. Use more ranks, a "
                  "smaller micro-batch, or free the device",
                  (unsigned long long)planned, pzrt_device_name(ctx_.device), freeBytes,
                  totalBytes, first.c_str());
}

// One communicator per group of grid axes: ranks are laid out row-major
// over the grid (pp outermost, tp fastest); a group holds the ranks whose
// coordinates differ only in its axes, ordered by those coordinates.
void Trainer::createGroupComms() {
  int64_t size = 1;
  for (int a = 0; a < PZRT_AXIS_COUNT; ++a)
    size *= m_->grid[a] > 0 ? m_->grid[a] : 1;
  if (size != world_)
    throwInternal("program description: the grid holds %lld ranks, the world %d",
                  (long long)size, world_);
  const uint32_t all = (1u << PZRT_AXIS_COUNT) - 1;
  // Every rank splits the world for every group any stage uses, in one
  // order (pzrt_comm_split is collective over the world), whatever its own
  // programs use: stage programs list their groups in the order of first
  // use, which may differ between stages.
  for (int s = 0; s < numStages_; ++s)
    for (int g = 0; g < stages_[s]->num_comm_groups; ++g)
      if (std::find(groupMasks_.begin(), groupMasks_.end(), stages_[s]->comm_groups[g]) ==
          groupMasks_.end())
        groupMasks_.push_back(stages_[s]->comm_groups[g]);
  std::sort(groupMasks_.begin(), groupMasks_.end());
  for (size_t g = 0; g < groupMasks_.size(); ++g) {
    uint32_t mask = groupMasks_[g];
    // The same coordinates place flat shards (flatRange): a rank's rank in
    // the group is its shard index k.
    int color = static_cast<int>(axesCoord(m_, all & ~mask, rank_));
    int key = static_cast<int>(axesCoord(m_, mask, rank_));
    std::string name = "group";
    for (int a = 0; a < PZRT_AXIS_COUNT; ++a)
      if (mask & (1u << a))
        name += pzrt::format(".%d", a);
    pzrt_comm *c = pzrt_comm_split(dataComm_ ? dataComm_ : comm_, color, key, name.c_str());
    if (!c)
      throwInternal("creating the communicator of group %zu: %s", g, pzrt_last_error());
    groupComms_.push_back(c);
  }
  for (Chunk &ch : chunks_)
    for (int g = 0; g < ch.m->num_comm_groups; ++g)
      ch.comms.push_back(groupComms_[static_cast<size_t>(
          std::find(groupMasks_.begin(), groupMasks_.end(), ch.m->comm_groups[g]) -
          groupMasks_.begin())]);
}

void Trainer::createTiedComms() {
  // Every rank takes part in every split (pzrt_comm_split is collective over
  // the world), in the same order: the masks of all stages, ascending.
  std::vector<uint32_t> masks;
  for (int s = 0; s < numStages_; ++s)
    for (int i = 0; i < stages_[s]->num_tied; ++i)
      masks.push_back(stages_[s]->tied_stages[i]);
  std::sort(masks.begin(), masks.end());
  masks.erase(std::unique(masks.begin(), masks.end()), masks.end());
  for (uint32_t mask : masks) {
    // A group: the ranks of the mask's stages with this rank's coordinates
    // on the other axes (rank mod stageStride), in stage order. A rank of
    // another stage is alone in its group, which it leaves at once.
    bool member = false;
    for (const Chunk &ch : chunks_)
      member = member || (ch.m->pp_stage < 32 && (mask & (1u << ch.m->pp_stage)));
    const int color = member ? rank_ % stageStride_ : stageStride_ + rank_;
    pzrt_comm *c = pzrt_comm_split(dataComm_ ? dataComm_ : comm_, color, rank_,
                                   pzrt::format("pp.tied.0x%x", mask).c_str());
    if (!c)
      throwInternal("creating the communicator of the parameters tied over the stages 0x%x: %s",
                    mask, pzrt_last_error());
    if (!member) {
      pzrt_comm_destroy(c);
      c = nullptr;
    }
    tiedComms_.emplace_back(mask, c);
  }
  for (size_t c = 0; c < chunks_.size(); ++c)
    for (int i = 0; i < chunks_[c].m->num_tied; ++i)
      tiedOrder_.emplace_back(c, i);
  auto key = [this](std::pair<size_t, int> t) {
    const pzrt_program *m = chunks_[t.first].m;
    return std::make_pair(m->tied_stages[t.second],
                          std::string(m->params[m->tied_params[t.second]].name));
  };
  std::sort(tiedOrder_.begin(), tiedOrder_.end(),
            [&](auto a, auto b) { return key(a) < key(b); });
}

void Trainer::sumTiedGrads(int64_t t) {
  const size_t current = cur_; // the chunk whose finalize_grads comes next
  for (auto [chunk, k] : tiedOrder_) {
    use(chunk);
    const bool accum = usesAccumulators(m_);
    const int p = m_->tied_params[k];
    const uint32_t mask = m_->tied_stages[k];
    pzrt_comm *c = nullptr;
    for (auto &[msk, comm] : tiedComms_)
      if (msk == mask)
        c = comm;
    if (!c)
      throwInternal("no communicator for the parameter '%s' tied over the stages 0x%x",
                    m_->params[p].name, mask);
    // The whole buffer as it is (a ZeRO chunk: every rank of the group
    // holds the same one), summed on the device by a device communicator
    // (NCCL, on the communication stream), else through a host copy.
    const pzrt_tensor_spec &s = m_->params[p];
    const uint64_t bytes = gradBytes(m_, p);
    void *grad = accum ? buf_->accum[static_cast<size_t>(p)] : buf_->grads[static_cast<size_t>(p)];
    const bool onDevice = pzrt::isDeviceTransfer(&ctx_, c);
    std::unique_ptr<HostCopy> host;
    if (!onDevice)
      host = std::make_unique<HostCopy>(ctx_.device, grad, static_cast<size_t>(bytes), true,
                                        "summing tied gradients");
    void *buf = onDevice ? grad : host->data();
    const size_t unit = pzrt_dtype_size(s.dtype);
    const uint64_t n = static_cast<uint64_t>(pzrt_comm_size(c));
    // What pzrt_all_reduce counts under all_reduce, per call: the reason's
    // share of it (not more bytes).
    uint64_t counted = 0;
    {
      TraceSpan span(trace_.get(), "all_reduce", "comm",
                     pzrt::format("{\"reason\":\"pp.tied_grad\",\"tensor\":\"%s\","
                                  "\"stages\":%u,\"bytes\":%llu,\"step\":%lld}",
                                  s.name, mask, (unsigned long long)bytes, (long long)t));
      // At most 2^30 elements a call (the communicators take an int count).
      constexpr uint64_t kChunk = uint64_t{1} << 30;
      const uint64_t count = bytes / unit;
      for (uint64_t at = 0; at < count; at += kChunk) {
        const uint64_t part = std::min(kChunk, count - at);
        char *ptr = static_cast<char *>(buf) + at * unit;
        auto sum = [&] {
          return pzrt_all_reduce(c, ptr, ptr, static_cast<size_t>(part), s.dtype,
                                 PZRT_REDUCE_SUM);
        };
        pzrt_event *done = nullptr;
        if (onDevice ? pzrt::enqueueTransfer(&ctx_, c, "all_reduce", sum, &done) ||
                           pzrt::joinTransfer(&ctx_, done, "all_reduce")
                     : sum())
          throwInternal("summing the gradient of the tied parameter '%s' over the stages "
                        "0x%x: %s",
                        s.name, mask, pzrt_last_error());
        counted += 2 * (n - 1) * part * unit / n;
      }
    }
    if (host)
      host->writeBack("summing tied gradients");
    if (pzrt_comm_count_reason("pp.tied_grad", PZRT_COLL_ALL_REDUCE, counted))
      throwInternal("counting the tied gradients' bytes: %s", pzrt_last_error());
  }
  use(current);
}

void Trainer::printBanner() {
  if (rank_ == 0 && opts_.logEvery > 0) {
    double values = 0; // of every pipeline stage
    for (int s = 0; s < numStages_; ++s)
      for (int i = 0; i < stages_[s]->num_params; ++i) {
        std::vector<int64_t> g = globalShape(stages_[s]->params[i]);
        double n = 1;
        for (int64_t d : g)
          n *= static_cast<double>(d);
        values += n;
      }
    std::string batch = std::to_string(G_);
    if (tokenModel_ && tokensPerStep_ != G_)
      batch += " x " + std::to_string(tokensPerStep_ / G_) + " tokens";
    else
      batch += " rows";
    if (K_ > 1 || dpSize_ > 1) {
      batch += " (";
      if (numStages_ > 1)
        batch += std::to_string(numStages_) + " pipeline stages, ";
      if (dpSize_ > 1)
        batch += std::to_string(dpSize_) + " data-parallel ranks x ";
      batch += std::to_string(K_) + " micro-batch" + (K_ > 1 ? "es" : "") + " of " +
               std::to_string(rows_) + ")";
    }
    std::string steps = end_ > start_ ? pzrt::format("steps %lld..%lld", (long long)(start_ + 1),
                                                     (long long)end_)
                                      : std::string("no steps");
    std::printf("train: %s | %d rank%s | %s parameters | batch %s | %s | %s\n",
                m_->name ? m_->name : "model", world_, world_ == 1 ? "" : "s",
                humanCount(values).c_str(), batch.c_str(),
                chunks_.front().feed->description().c_str(),
                steps.c_str());
    if (!opts_.load.empty())
      std::printf("train: resumed from '%s' at step %lld (data position %lld)\n",
                  opts_.load.c_str(), (long long)start_, (long long)dataStart_);
    flushStdout("the progress output");
  }
}

void Trainer::trainLoop() {
  runStart_ = nowSeconds();
  for (int64_t t = start_ + 1; t <= end_; ++t) {
    curStep_ = t;
    trainStep(t);
    if (!opts_.save.empty() && opts_.saveEvery > 0 && t % opts_.saveEvery == 0)
      save(t);
  }
  if (!opts_.save.empty() && lastSaved_ != end_) {
    curStep_ = end_;
    save(end_);
  }
  if (trace_ && pzrt_trace_flush(trace_.get()) != 0)
    throwInternal("--trace: %s", pzrt_last_error());
  if (rank_ == 0 && graphs_.enabled())
    std::fprintf(stderr, "train: %s\n",
                 (stepGraphed_ ? stepGraph_.summary() : graphs_.summary()).c_str());
  if (rank_ == 0 && opts_.logEvery > 0 && end_ > start_) {
    std::printf("train: done: %lld step%s in %.1f s\n", (long long)(end_ - start_),
                end_ - start_ == 1 ? "" : "s", nowSeconds() - runStart_);
    flushStdout("the progress output");
  }
}

void Trainer::use(size_t c) {
  cur_ = c;
  m_ = chunks_[c].m;
  buf_ = chunks_[c].buf.get();
  ctx_.arena = buf_->arena;
  ctx_.arena_base = static_cast<char *>(pzrt_arena_base(buf_->arena));
  ctx_.num_comms = static_cast<int32_t>(chunks_[c].comms.size());
  ctx_.comms = chunks_[c].comms.data();
}

void Trainer::mergeSchedules() {
  actions_.clear();
  for (size_t c = 0; c < chunks_.size(); ++c)
    for (int i = 0; i < chunks_[c].m->num_actions; ++i)
      actions_.emplace_back(c, &chunks_[c].m->schedule[i]);
  if (chunks_.size() == 1)
    return; // the program's own order
  std::stable_sort(actions_.begin(), actions_.end(), [](const auto &a, const auto &b) {
    return a.second->order < b.second->order;
  });
  for (size_t i = 1; i < actions_.size(); ++i)
    if (actions_[i].second->order == actions_[i - 1].second->order)
      throwInternal("program description: two actions of the rank's step (stages %d and %d) "
                    "have the place %d",
                    chunks_[actions_[i - 1].first].m->pp_stage,
                    chunks_[actions_[i].first].m->pp_stage, actions_[i].second->order);
}

void Trainer::setScalar(int slot, const void *value, size_t bytes) {
  if (pzrt_device_write(ctx_.device, static_cast<char *>(buf_->scalars) + 8 * slot, value,
                        bytes) != 0)
    throwInternal("setting a scalar of the step: %s", pzrt_last_error());
}

void Trainer::getScalar(int slot, void *value, size_t bytes) {
  if (pzrt_device_read(ctx_.device, value, static_cast<const char *>(buf_->scalars) + 8 * slot,
                       bytes) != 0)
    throwInternal("reading a scalar of the step: %s", pzrt_last_error());
}

std::string Trainer::callName(const pzrt_function_entry &e, int micro) const {
  std::string what = e.name ? e.name : "a compiled function";
  if (e.role != PZRT_FN_OPTIMIZER_STEP && e.role != PZRT_FN_FINALIZE_GRADS)
    what += pzrt::format(" (micro-batch %d of %d)", micro + 1, K_);
  return what;
}

void Trainer::runFunction(int f, int64_t t, int micro) {
  const pzrt_function_entry &e = m_->functions[f];
  static const char *const kSpan[] = {"forward_backward", "accumulate_grads", "finalize_grads",
                                      "optimizer",        "forward",          "backward",
                                      "weight_backward"};
  const char *span = kSpan[e.role];
  // A pipeline stage's span names its (global) stage: interleaved, a rank
  // runs several (scripts/pptrace.py's per-stage durations).
  std::string args = stepArgs(t, e.role == PZRT_FN_OPTIMIZER_STEP ? -1 : micro);
  if (numStages_ > 1)
    args.insert(args.size() - 1, ",\"stage\":" + std::to_string(m_->pp_stage));
  TraceSpan trace(trace_.get(), span, "compute", std::move(args));
  ctx_.micro_batch = micro;
  ctx_.dropout_block = static_cast<int64_t>(dpRank_) * K_ + micro;
  pzrt_clear_error();
  // The step for device code (dropout's keys), before the call or its graph.
  int rc = pzrt_step_publish(&ctx_);
  if (rc == 0)
    rc = graphs_.call(cur_, f, micro, e.name, e.fn, &ctx_,
                      buf_->bindings[f][static_cast<size_t>(micro)].data());
  // A device-side check of the function (an index out of range) failed.
  if (rc == 0)
    rc = pzrt_device_check(ctx_.device);
  // A function that failed may leave transfers in flight into its buffers.
  // One rank waits for them here; several end the job (fatal) below.
  if (rc != 0 && !multiRank())
    pzrt_exec_drain();
  pzrt_arena_release_all(buf_->arena);
  if (rc != 0) {
    std::string what = callName(e, micro);
    throwInternal("%s: %s", what.c_str(),
                  *pzrt_last_error() ? pzrt_last_error() : "failed (no message)");
  }
}

Trainer::StepStart Trainer::beginStep(int64_t t) {
  StepStart s;
  s.t0 = nowSeconds();
  s.traceStart = trace_ ? pzrt_trace_now_us() : 0;
  s.lr = pzrt_lr_at(&m_->lr_schedule, t);
  s.scale = m_->loss_scaling ? pos_.scaler.scale : 1.0;
  s.rowBase = dataStart_ + (t - start_ - 1) * G_ + dpRank_ * rows_ * K_;
  ctx_.step = t;
  ctx_.lr = s.lr;
  const float lrF = static_cast<float>(s.lr), scaleF = static_cast<float>(s.scale);
  // grads = sum / (K x scale), computed by finalize_grads.
  const float gradScale = static_cast<float>(1.0 / (static_cast<double>(K_) * s.scale));
  const int64_t tpIndex = axesCoord(m_, 1u << PZRT_AXIS_TP, rank_);
  for (size_t c = 0; c < chunks_.size(); ++c) {
    use(c);
    setScalar(PZRT_SCALAR_LR, &lrF, sizeof lrF);
    setScalar(PZRT_SCALAR_TP_INDEX, &tpIndex, sizeof tpIndex);
    setScalar(PZRT_SCALAR_LOSS_SCALE, &scaleF, sizeof scaleF);
    setScalar(PZRT_SCALAR_GRAD_SCALE, &gradScale, sizeof gradScale);
  }
  return s;
}

void Trainer::trainStep(int64_t t) {
  if (stepGraphed_)
    return trainStepGraphed(t);
  const StepStart st = beginStep(t);
  const int64_t rowBase = st.rowBase;
  const float scaleF = static_cast<float>(st.scale);

  double lossSum = 0, loss = NAN, localLoss = NAN, gradNorm = NAN;
  // Interleaved: the sum of the chunks' squared gradient norms.
  float normSq = 0;
  bool apply = true, tiedSummed = false, checked = false;
  for (size_t i = 0; i < actions_.size() && apply; ++i) {
    use(actions_[i].first);
    const pzrt_action &a = *actions_[i].second;
    if (a.kind == PZRT_ACTION_CHECK_NUMERICS) {
      // Once for the rank (each chunk's schedule has one, after every
      // chunk's finalize_grads).
      if (!checked) {
        localLoss = hasLoss_ ? lossSum / K_ : NAN;
        apply = checkNumerics(t, localLoss, loss);
        checked = true;
      }
      continue;
    }
    if (a.kind == PZRT_ACTION_SEND || a.kind == PZRT_ACTION_RECV) {
      exchange(t, a);
      continue;
    }
    waitSends(t, a.function);
    const pzrt_function_entry &e = m_->functions[a.function];
    if (e.role == PZRT_FN_FORWARD_BACKWARD || e.role == PZRT_FN_STAGE_FORWARD) {
      feedInputs(t, a.micro_batch, rowBase, scaleF);
      runFunction(a.function, t, a.micro_batch);
      if (chunks_[cur_].hasLoss) {
        float l = NAN;
        getScalar(PZRT_SCALAR_LOSS, &l, sizeof l);
        lossSum += l;
      }
    } else if (e.role == PZRT_FN_GRAD_NORM_SQ) {
      runFunction(a.function, t, 0);
      float sq = NAN;
      getScalar(PZRT_SCALAR_GRAD_NORM_SQ, &sq, sizeof sq);
      normSq += sq;
    } else if (e.role == PZRT_FN_OPTIMIZER_STEP) {
      int64_t step = pos_.appliedUpdates + 1;
      setScalar(PZRT_SCALAR_STEP, &step, sizeof step);
      setScalar(PZRT_SCALAR_GRAD_NORM_SQ, &normSq, sizeof normSq);
      runFunction(a.function, t, 0);
      if (cur_ + 1 == chunks_.size()) // one update of the rank's chunks
        ++pos_.appliedUpdates;
      float gn = NAN;
      getScalar(PZRT_SCALAR_GRAD_NORM, &gn, sizeof gn);
      gradNorm = gn;
    } else {
      if (e.role == PZRT_FN_FINALIZE_GRADS && !tiedSummed) {
        sumTiedGrads(t); // once a step, when the gradients are complete
        tiedSummed = true;
      }
      runFunction(a.function, t, a.micro_batch);
    }
  }
  for (size_t c = 0; c < chunks_.size(); ++c) {
    use(c);
    waitSends(t, -1);
  }
  endStep(t, st, loss, localLoss, gradNorm, !apply);
}

void Trainer::endStep(int64_t t, const StepStart &st, double loss, double localLoss,
                      double gradNorm, bool skipped) {
  const double lr = st.lr, scale = st.scale;
  pos_.step = t;
  pos_.dataPosition = dataStart_ + (t - start_) * G_;
  const double stepTime = nowSeconds() - st.t0;
  if (trace_)
    pzrt_trace_event(trace_.get(), "step", "step", 0, st.traceStart,
                     pzrt_trace_now_us() - st.traceStart, stepArgs(t, -1).c_str());

  if (t == start_ + 1)
    checkMemoryPlan();
  writeMetrics(t, loss, localLoss, gradNorm, lr, stepTime, scale, skipped);
  sinceTime_ += stepTime;
  ++sinceSteps_;
  if (rank_ == 0 && opts_.logEvery > 0 &&
      (t == start_ + 1 || t % opts_.logEvery == 0 || t == end_))
    progress(t, loss, gradNorm, lr, scale, skipped);
}

void Trainer::feedInputs(int64_t t, int micro, int64_t rowBase, float scale) {
  const size_t slot = static_cast<size_t>(buf_->slotOf(micro));
  std::vector<void *> &inputs = buf_->inputs[slot];
  TraceSpan span(trace_.get(), "data", "data", stepArgs(t, micro));
  Chunk &c = chunks_[cur_];
  if (hostReachable(ctx_.device)) {
    c.feed->fill(rowBase + micro * rows_, inputs.data());
    if (c.lossScaleInput >= 0)
      *static_cast<float *>(inputs[static_cast<size_t>(c.lossScaleInput)]) = scale;
    return;
  }
  // A device: the feed fills the slot's host copies of its inputs (kept
  // from step to step; only the feed writes DATA inputs, so they hold what
  // the device holds), which are then written to the device (after the
  // slot's last reader: pzrt_device_write synchronizes).
  if (c.hostInputs.empty())
    c.hostInputs.resize(buf_->inputs.size());
  std::vector<std::vector<unsigned char>> &copies = c.hostInputs[slot];
  std::vector<void *> hosts;
  for (int i = 0; i < m_->num_inputs; ++i) {
    if (copies.size() <= static_cast<size_t>(i))
      copies.emplace_back(static_cast<size_t>(specBytes(m_->inputs[i])));
    hosts.push_back(copies[static_cast<size_t>(i)].data());
  }
  c.feed->fill(rowBase + micro * rows_, hosts.data());
  for (int i = 0; i < m_->num_inputs; ++i)
    if (inputRole(m_, i) == PZRT_INPUT_DATA)
      writeDevice(ctx_.device, inputs[static_cast<size_t>(i)], hosts[static_cast<size_t>(i)],
                  copies[static_cast<size_t>(i)].size(), "feeding data");
  if (c.lossScaleInput >= 0)
    writeDevice(ctx_.device, inputs[static_cast<size_t>(c.lossScaleInput)], &scale, sizeof scale,
                "feeding data");
}

void Trainer::exchange(int64_t t, const pzrt_action &a) {
  // An activation goes to stage + 1 and its gradient to stage - 1, global
  // stages: interleaved, chunk c of the last rank feeds chunk c + 1 of rank
  // 0 (a ring). validateStages checked that each pair of neighbours sends
  // its messages of one direction in the order they are received, and the
  // tag names the receiving stage and the direction (MPI matches the
  // messages of one sender and tag in order, and a rank can hold several
  // chunks that receive from one neighbour). A send is posted
  // and the stage goes on; the next function that writes its buffer, and
  // the end of the step, wait for it. As every receive's message is then
  // sent without waiting for anything but the sender's own earlier work, a
  // table whose order the simulated pipeline can run cannot deadlock.
  constexpr int kTag = 0x5050;
  const bool send = a.kind == PZRT_ACTION_SEND;
  const pzrt_tensor_spec &s = send ? m_->outputs[a.tensor] : m_->inputs[a.tensor];
  const bool act = (send ? m_->output_roles[a.tensor] : inputRole(m_, a.tensor)) ==
                   PZRT_INPUT_ACTIVATION;
  // The wire dtype (the communicators move F32, BF16, F16 and I64): the
  // tensor's own, or 2-byte words.
  const pzrt_dtype dtype = s.dtype == PZRT_F32 || s.dtype == PZRT_BF16 ||
                                   s.dtype == PZRT_F16 || s.dtype == PZRT_I64
                               ? s.dtype
                               : PZRT_F16;
  const size_t bytes = specBytes(s), unit = pzrt_dtype_size(dtype);
  const int pp = numStages(m_), stage = m_->pp_stage;
  const int other = act == send ? stage + 1 : stage - 1; // the neighbour's global stage
  const int peer = rank_ + (other % pp - stage % pp) * stageStride_;
  const int tag = kTag + 2 * (send ? other : stage) + (act ? 0 : 1);
  const char *what = send ? "send" : "recv";
  if (bytes % unit != 0)
    throwInternal("pipeline %s: %zu bytes are not whole %zu-byte words", what, bytes, unit);
  const std::string args =
      pzrt::format("{\"step\":%lld,\"%s\":\"%s\",\"%s_micro_batch\":%d,\"%s\":%d,\"bytes\":%zu}",
                   (long long)t, what, s.name, what, a.micro_batch, send ? "to" : "from", peer,
                   bytes);
  int rc = 0;
  if (!links_.empty()) { // on NCCL, device to device (exchange_device.cpp)
    TraceSpan span(trace_.get(), what, "comm", args);
    exchangeOnDevice(a, send, act, send ? other : stage, dtype, bytes / unit);
  } else {
    TraceSpan span(trace_.get(), what, "comm", args);
    if (send) {
      pzrt_send_request *&pending = chunks_[cur_].sending[static_cast<size_t>(a.tensor)];
      rc = pzrt_send_wait(pending); // a second send of one buffer waits for the first
      pending = nullptr;
      // On a device the send reads a host copy of the output (one per
      // output, free again once its last send completed, just above).
      void *out = buf_->outputs[static_cast<size_t>(a.tensor)];
      if (rc == 0 && !hostReachable(ctx_.device)) {
        std::vector<std::vector<unsigned char>> &copies = chunks_[cur_].hostOutputs;
        copies.resize(static_cast<size_t>(m_->num_outputs));
        std::vector<unsigned char> &copy = copies[static_cast<size_t>(a.tensor)];
        copy.resize(bytes);
        readDevice(ctx_.device, copy.data(), out, bytes, "a pipeline send");
        out = copy.data();
      }
      if (rc == 0)
        rc = pzrt_isend(comm_, out, bytes / unit, dtype, peer, tag, &pending);
    } else {
      HostCopy in(ctx_.device,
                  buf_->inputs[static_cast<size_t>(buf_->slotOf(a.micro_batch))]
                              [static_cast<size_t>(a.tensor)],
                  bytes, false, "a pipeline receive");
      rc = pzrt_recv(comm_, in.data(), bytes / unit, dtype, peer, tag);
      if (rc == 0)
        in.writeBack("a pipeline receive");
    }
  }
  // pzrt_isend counted the bytes under the send kind; the reason's counter
  // is a breakdown of them, not more bytes.
  if (rc == 0 && send)
    rc = pzrt_comm_count_reason(act ? "pp.activation" : "pp.activation_grad", PZRT_COLL_SEND,
                                bytes);
  if (rc != 0)
    throwInternal("pipeline %s (%s of micro-batch %d %s rank %d): %s", what, s.name,
                  a.micro_batch + 1, send ? "to" : "from", peer,
                  *pzrt_last_error() ? pzrt_last_error() : "failed (no message)");
}

bool Trainer::writesOutput(int f, size_t o) const {
  if (f < 0)
    return true;
  const pzrt_function_entry &e = m_->functions[f];
  for (int i = 0; i < e.num_args; ++i)
    if (e.args[i].kind == PZRT_ARG_OUTPUT && e.args[i].index == static_cast<int>(o))
      return true;
  return false;
}

void Trainer::waitSends(int64_t t, int f) {
  if (!links_.empty())
    return waitSendsOnDevice(f);
  std::vector<pzrt_send_request *> &sending = chunks_[cur_].sending;
  for (size_t o = 0; o < sending.size(); ++o) {
    if (!sending[o])
      continue;
    if (!writesOutput(f, o))
      continue;
    int rc;
    {
      TraceSpan span(trace_.get(), "send_wait", "comm",
                     pzrt::format("{\"step\":%lld,\"send\":\"%s\"}", (long long)t,
                                  m_->outputs[o].name));
      rc = pzrt_send_wait(sending[o]);
    }
    sending[o] = nullptr;
    if (rc != 0)
      throwInternal("pipeline send of %s: %s", m_->outputs[o].name,
                    *pzrt_last_error() ? pzrt_last_error() : "failed (no message)");
  }
}

bool Trainer::checkNumerics(int64_t t, double localLoss, double &loss) {
  // The gradients finalize_grads checked: the first non-finite one, or -1
  // (of the first chunk with one, which becomes the current chunk).
  int64_t badParam = -1;
  for (size_t c = 0; c < chunks_.size() && badParam < 0; ++c) {
    use(c);
    getScalar(PZRT_SCALAR_NONFINITE, &badParam, sizeof badParam);
    if (badParam >= m_->num_params)
      throwInternal("finalize_grads reported parameter %lld, but the model has %d",
                    (long long)badParam, m_->num_params);
  }
  bool overflow = badParam >= 0;
  loss = localLoss;
  if (multiRank()) {
    // Only the last pipeline stage's ranks (all ranks without stages) have
    // a loss: the others add 0.
    float v[2] = {hasLoss_ ? static_cast<float>(localLoss) : 0.0f, overflow ? 1.0f : 0.0f};
    {
      // Traced: in a pipeline, the later stages, done first, wait in it for
      // the first stage's last backward.
      TraceSpan span(trace_.get(), "all_reduce", "comm",
                     pzrt::format("{\"reason\":\"check_numerics\",\"bytes\":8,\"step\":%lld}",
                                  (long long)t));
      if (comm_->allReduce(v, v, 2, PZRT_F32, PZRT_REDUCE_SUM) != 0)
        throwInternal("averaging the loss over ranks: %s", pzrt_last_error());
    }
    loss = v[0] / lossRanks_;
    overflow = v[1] > 0;
  }
  if (!m_->loss_scaling && (overflow || !std::isfinite(loss)))
    numericsStop(t, static_cast<int>(badParam), overflow, loss);
  return m_->loss_scaling ? pzrt_loss_scaler_update(&pos_.scaler, overflow) != 0 : true;
}

void Trainer::checkMemoryPlan() {
  uint64_t peak = pzrt_mem_peak_total(), planned = 0;
  bool plannedAll = true; // every chunk has a plan
  for (const Chunk &c : chunks_) {
    planned += c.m->planned_peak_bytes;
    plannedAll = plannedAll && c.m->planned_peak_bytes;
  }
  if (plannedAll && peak != planned) {
    std::string cats;
    for (int c = 0; c < PZRT_MEM_CATEGORY_COUNT; ++c) {
      auto cat = static_cast<pzrt_mem_category>(c);
      if (pzrt_mem_peak(cat))
        cats += std::string(cats.empty() ? "" : ", ") + pzrt_mem_category_name(cat) + " " +
                std::to_string(pzrt_mem_peak(cat));
    }
    std::fprintf(stderr,
                 "train: rank %d: warning: peak memory %llu bytes differs from the planned "
                 "%llu bytes (%+lld; measured peaks: %s)\n",
                 rank_, (unsigned long long)peak, (unsigned long long)planned,
                 (long long)(peak - planned), cats.c_str());
  }
  for (const Chunk &c : chunks_) {
    uint64_t arenaPeak = pzrt_arena_peak(c.buf->arena);
    if (c.m->arena_planned_peak && arenaPeak != c.m->arena_planned_peak)
      std::fprintf(stderr,
                   "train: rank %d: warning: the arena's peak of live bytes is %llu, the plan "
                   "says %llu (%+lld)\n",
                   rank_, (unsigned long long)arenaPeak,
                   (unsigned long long)c.m->arena_planned_peak,
                   (long long)(arenaPeak - c.m->arena_planned_peak));
  }
  std::fflush(stderr);
}

void Trainer::writeMetrics(int64_t t, double loss, double localLoss, double gradNorm, double lr,
                           double stepTime, double scaleUsed, bool skipped) {
  if (!metrics_ && !rankMetrics_)
    return;
  json::Value extra = json::Value::object();
  uint64_t arenaPeak = 0; // of the rank's chunks
  for (const Chunk &c : chunks_)
    arenaPeak += pzrt_arena_peak(c.buf->arena);
  extra.set("arena_peak_bytes", arenaPeak);
  if (m_->loss_scaling) {
    extra.set("loss_scale", scaleUsed);
    extra.set("skipped", skipped);
  }
  pzrt_step_metrics s{};
  s.step = t;
  s.loss = loss;
  s.grad_norm = gradNorm;
  s.lr = lr;
  s.step_time_s = stepTime;
  s.tokens_per_s = stepTime > 0 ? static_cast<double>(tokensPerStep_) / stepTime : 0;
  if (metrics_) {
    std::string e = json::dump(extra);
    s.extra_json = e.c_str();
    if (pzrt_metrics_write(metrics_.get(), &s) != 0)
      throwInternal("--metrics: %s", pzrt_last_error());
  }
  if (rankMetrics_) {
    extra.set("rank", rank_);
    extra.set("rank_loss", localLoss);
    std::string e = json::dump(extra);
    s.extra_json = e.c_str();
    if (pzrt_metrics_write(rankMetrics_.get(), &s) != 0)
      throwInternal("--metrics-all: %s", pzrt_last_error());
  }
}

void Trainer::progress(int64_t t, double loss, double gradNorm, double lr, double scaleUsed,
                       bool skipped) {
  double avg = sinceSteps_ > 0 ? sinceTime_ / sinceSteps_ : 0;
  double rate = avg > 0 ? static_cast<double>(tokensPerStep_) / avg : 0;
  char ms[32];
  std::snprintf(ms, sizeof(ms), avg >= 1e-3 ? "%.1f" : "%.3f", avg * 1e3);
  char gn[32];
  if (std::isfinite(gradNorm) || !skipped)
    std::snprintf(gn, sizeof(gn), "%.4g", gradNorm);
  else
    std::snprintf(gn, sizeof(gn), "-");
  std::string line = pzrt::format(
      "step %*lld/%lld | loss %.4f | lr %.2e | grad_norm %s | %.0f %s | %s ms/step",
      digits(end_), (long long)t, (long long)end_, loss, lr, gn, rate,
      tokenModel_ ? "tok/s" : "samples/s", ms);
  if (m_->loss_scaling) {
    line += pzrt::format(" | loss scale %g", scaleUsed);
    if (skipped)
      line += pzrt::format(" (overflow: step skipped, scale now %g)", pos_.scaler.scale);
  }
  std::printf("%s\n", line.c_str());
  flushStdout("the progress output");
  sinceTime_ = 0;
  sinceSteps_ = 0;
}

void Trainer::save(int64_t t) {
  double t0 = nowSeconds();
  // DIR was checked at startup; should something else have appeared there
  // since, every rank stops with a usage error and nothing is replaced.
  std::string refused;
  if (rank_ == 0 && pzrt::ckpt::checkSaveTarget(opts_.save))
    refused = pzrt_last_error();
  if (agree(refused.empty() ? kExitOk : kExitUsage) != kExitOk)
    throw Failure{kExitUsage,
                  refused.empty() ? "stopping: rank 0 refused to replace the --save directory"
                                  : "--save: " + refused,
                  true};
  {
    TraceSpan span(trace_.get(), "checkpoint", "io", stepArgs(t, -1));
    std::vector<std::pair<const pzrt_program *, const Buffers *>> parts;
    for (const Chunk &c : chunks_)
      parts.emplace_back(c.m, c.buf.get());
    // On a device, host copies of every chunk's parameters and states.
    std::vector<std::unique_ptr<HostWeights>> hosts;
    for (auto &[m, buffers] : parts) {
      hosts.push_back(std::make_unique<HostWeights>(
          ctx_.device, m, const_cast<Buffers &>(*buffers), true, "saving a checkpoint"));
      buffers = &hosts.back()->view();
    }
    saveCheckpoint(parts, opts_.save, comm_, pos_, G_, opts_.keepLast);
  }
  lastSaved_ = t;
  if (rank_ == 0 && opts_.logEvery > 0) {
    std::printf("train: saved checkpoint '%s' at step %lld (%.2f s)\n", opts_.save.c_str(),
                (long long)t, nowSeconds() - t0);
    flushStdout("the progress output");
  }
}

void Trainer::numericsStop(int64_t t, int badParam, bool gradsBad, double loss) {
  // A step graph (step_graph.cpp) checks after its optimizer ran.
  const char *hint = stepGraphed_
                         ? "; stopping after the step, whose update is not saved (lower the "
                           "learning rate, clip gradients, or check the data)"
                         : "; stopping before the optimizer step (lower the learning rate, clip "
                           "gradients, or check the data)";
  const char *lossText = std::isnan(loss) ? "NaN" : nullptr;
  std::string lossStr = lossText ? lossText : pzrt::format("%g", loss);
  if (!gradsBad)
    throw Failure{kExitNumerics,
                  pzrt::format("the loss of step %lld is %s while the gradients are finite%s",
                               (long long)t, lossStr.c_str(), hint),
                  true};
  // The lowest rank with a non-finite gradient names its first parameter.
  int reporter = rank_;
  if (multiRank()) {
    int64_t v = badParam >= 0 ? world_ - rank_ : 0;
    if (comm_->allReduce(&v, &v, 1, PZRT_I64, PZRT_REDUCE_MAX) != 0)
      throwInternal("agreeing on the rank with a non-finite gradient: %s", pzrt_last_error());
    reporter = static_cast<int>(world_ - v);
  }
  if (reporter != rank_)
    throw Failure{kExitNumerics,
                  pzrt::format("rank %d found a non-finite gradient at step %lld; stopping %s",
                               reporter, (long long)t,
                               stepGraphed_ ? "after the step, whose update is not saved"
                                            : "before the optimizer step"),
                  true};
  const pzrt_tensor_spec &s = m_->params[badParam];
  throw Failure{kExitNumerics,
                pzrt::format("the gradient of parameter '%s' (%s; parameter %d of %d in "
                             "model order, the first whose gradient is not finite) holds a NaN "
                             "or infinity at step %lld (loss %s)%s",
                             s.name, specStr(s).c_str(), badParam + 1, m_->num_params,
                             (long long)t, lossStr.c_str(), hint),
                true};
}

} // namespace pzrt::train

extern "C" int pzrt_train_main(const pzrt_program *model, int argc, char **argv) {
  return pzrt_train_main_on(model, argc, argv, nullptr);
}

extern "C" int pzrt_train_main_stages(const pzrt_program *const *stages, int num_stages,
                                      int argc, char **argv) {
  return pzrt_train_main_stages_on(stages, num_stages, argc, argv, nullptr);
}

extern "C" int pzrt_train_main_on(const pzrt_program *model, int argc, char **argv,
                                  const pzrt_device_hooks *hooks) {
  pzrt::train::Trainer trainer(&model, 1, argc, argv, hooks);
  return trainer.run();
}

extern "C" int pzrt_train_main_stages_on(const pzrt_program *const *stages, int num_stages,
                                         int argc, char **argv, const pzrt_device_hooks *hooks) {
  pzrt::train::Trainer trainer(stages, num_stages, argc, argv, hooks);
  return trainer.run();
}
