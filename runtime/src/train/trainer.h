// The training driver's class (train.cpp; the whole-step graph's part is
// step_graph.cpp). Not part of the C API.
#ifndef PZRT_SRC_TRAIN_TRAINER_H
#define PZRT_SRC_TRAIN_TRAINER_H

#include "train/graphs.h"
#include "train/train_internal.h"

#include "pzrt/env.h"
#include "pzrt/exec.h"
#include "pzrt/metrics.h"
#include "pzrt/trace.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pzrt::train {


// A complete trace event from construction to destruction (also when an
// exception leaves the scope, so a failing call still shows up).
class TraceSpan {
public:
  TraceSpan(pzrt_trace *t, const char *name, const char *cat, std::string args)
      : t_(t), name_(name), cat_(cat), args_(std::move(args)),
        start_(t ? pzrt_trace_now_us() : 0) {}
  ~TraceSpan() {
    if (t_)
      pzrt_trace_event(t_, name_, cat_, 0, start_, pzrt_trace_now_us() - start_,
                       args_.empty() ? nullptr : args_.c_str());
  }

private:
  pzrt_trace *t_;
  const char *name_, *cat_;
  std::string args_;
  double start_;
};

struct MetricsCloser {
  void operator()(pzrt_metrics *m) const { pzrt_metrics_close(m); }
};
struct TraceCloser {
  void operator()(pzrt_trace *t) const { pzrt_trace_close(t); }
};

class Trainer {
public:
  // One program, or the stages of a pipeline-parallel plan (the rank runs
  // the one of its pp coordinate; interleaved, the chunks of its coordinate:
  // global stages coordinate, coordinate + pp, ...).
  Trainer(const pzrt_program *const *stages, int numStages, int argc, char **argv,
          const pzrt_device_hooks *hooks)
      : stages_(stages), numStages_(numStages), m_(stages && numStages > 0 ? stages[0] : nullptr),
        argc_(argc), argv_(argv), hooks_(hooks) {}
  ~Trainer();
  int run();

private:
  void setup();
  // The device of the buffers: the CPU's, or the hooks' (with their
  // allocator for every counted buffer from here on).
  void openDevice();
  // On a device with its own communicator (hooks' data_comm): dataComm_.
  void createDataComm();
  // Before allocating: the plan's device buffers must fit in the device's
  // free memory (nothing to check on the CPU); throws naming the first
  // buffer that does not fit.
  void checkDeviceFits();
  void printBanner();
  void trainLoop();
  void trainStep(int64_t t);
  // What every step starts with: its times, lr, loss scale and first row;
  // sets the context's step and lr and every chunk's scalars.
  struct StepStart {
    double t0 = 0, traceStart = 0, lr = 0, scale = 1;
    int64_t rowBase = 0;
  };
  StepStart beginStep(int64_t t);
  // The end of every step: the position, the trace's step, the memory
  // check, metrics and progress.
  void endStep(int64_t t, const StepStart &st, double loss, double localLoss, double gradNorm,
               bool skipped);
  // The whole step as one CUDA graph (step_graph.cpp). decideStepGraph
  // (end of setup) sets stepGraphed_ when the step can be one, and says why
  // not on rank 0 when graphs are on but the step cannot be.
  void decideStepGraph();
  void trainStepGraphed(int64_t t);
  // The step's compiled calls in order, with the copies of each
  // micro-batch's data in and its loss out (the graph's body).
  int stepBody(int64_t t);
  // Runs functions[f] of the program for micro-batch `micro`; throws.
  void runFunction(int f, int64_t t, int micro);
  // "forward_backward (micro-batch 2 of 4)": a call, for its errors.
  std::string callName(const pzrt_function_entry &e, int micro) const;
  // Fills the DATA inputs of micro-batch `micro` (its slot) and the
  // loss-scale input.
  void feedInputs(int64_t t, int micro, int64_t rowBase, float scale);
  // SEND (posted: pzrt_isend; its buffer's next writer waits for it) or
  // RECV (blocking) of a pipeline stage's activation or its gradient.
  void exchange(int64_t t, const pzrt_action &a);
  // Waits for the sends in flight from the outputs function f writes
  // (all of them for f < 0: at the end of the step).
  void waitSends(int64_t t, int f);
  // Whether function f writes output o (every output for f < 0: the end of
  // the step), so that the output's send in flight must end first.
  bool writesOutput(int f, size_t o) const;
  // CHECK_NUMERICS: whether the step's update applies; sets `loss` to the
  // mean over ranks; stops the run (exit 3) without loss scaling.
  bool checkNumerics(int64_t t, double localLoss, double &loss);
  void setScalar(int slot, const void *value, size_t bytes);
  void createGroupComms();
  // Tied parameters (train.h): one communicator per stage mask of any
  // stage; and the sum of their gradients over it, before finalize_grads.
  void createTiedComms();
  void sumTiedGrads(int64_t t);
  // Pipeline links on NCCL (exchange_device.cpp): with dataComm_ and
  // stages, one 2-rank communicator and stream per direction into each
  // global stage this rank sends to or receives from; exchange() and
  // waitSends() then move and order on the device.
  void createLinkComms();
  void destroyLinkComms();
  void exchangeOnDevice(const pzrt_action &a, bool send, bool act, int receiving,
                        pzrt_dtype dtype, size_t count);
  void waitSendsOnDevice(int f);
  struct Link {
    bool grad;      // the gradients (into `stage` from stage + 1), else activations
    int stage;      // the receiving global stage
    pzrt_comm *comm; // the sender is its rank 0, the receiver rank 1
    pzrt_stream *stream;
  };
  std::vector<Link> links_;
  void getScalar(int slot, void *value, size_t bytes);
  // Makes chunk c the current one (m_, buf_, the context's arena and
  // communicators).
  void use(size_t c);
  // The rank's actions of one step, its chunks' schedules merged by order.
  void mergeSchedules();
  void checkMemoryPlan();
  void writeMetrics(int64_t t, double loss, double localLoss, double gradNorm, double lr,
                    double stepTime, double scaleUsed, bool skipped);
  void progress(int64_t t, double loss, double gradNorm, double lr, double scaleUsed,
                bool skipped);
  void save(int64_t t);
  [[noreturn]] void numericsStop(int64_t t, int badParam, bool gradsBad, double loss);
  bool multiRank() const { return world_ > 1; }
  // "MPI" or "TCP": the driver's host communicator, in messages.
  const char *hostCommName() const { return mpi_ ? "MPI" : "TCP"; }
  std::string where() const;
  // Every rank learns the largest exit code (uncounted; no-op on one rank).
  int agree(int code);

  const pzrt_program *const *stages_;
  int numStages_;
  // The rank's programs: one, or (interleaved) one per chunk, in stage
  // order, each with its buffers, data feed, sends in flight and tied
  // parameters (indexes into tied_params, in the order every rank sums
  // them: by stage mask, then by name).
  struct Chunk {
    const pzrt_program *m = nullptr;
    std::unique_ptr<Buffers> buf;
    std::unique_ptr<DataFeed> feed;
    std::vector<pzrt_send_request *> sending; // per output: its send in flight, or NULL
    // On NCCL links: per output, the end of its send in flight, or NULL.
    std::vector<pzrt_event *> sendingOnDevice;
    // On a device (not the CPU): per slot, per input, the feed's host
    // copies; per output, the host copy its send in flight reads.
    std::vector<std::vector<std::vector<unsigned char>>> hostInputs;
    std::vector<std::vector<unsigned char>> hostOutputs;
    std::vector<pzrt_comm *> comms;           // ctx comms: comm_groups[i]'s communicator
    int lossScaleInput = -1;
    bool hasLoss = false;
  };
  std::vector<Chunk> chunks_;
  size_t cur_ = 0;
  // The step's actions: (chunk, action), by order.
  std::vector<std::pair<size_t, const pzrt_action *>> actions_;
  // The tied parameters of the rank's chunks as (chunk, index into
  // tied_params), by stage mask, then by name.
  std::vector<std::pair<size_t, int>> tiedOrder_;
  const pzrt_program *m_; // the current chunk's program (use())
  Buffers *buf_ = nullptr; // and its buffers
  int argc_;
  char **argv_;
  const pzrt_device_hooks *hooks_;
  // The allocator before the hooks' (restored when the buffers are freed).
  const pzrt_mem_allocator *prevAllocator_ = nullptr;
  bool allocatorSet_ = false;
  Options opts_;
  pzrt_env env_{};
  int rank_ = 0, world_ = 1;
  pzrt_comm *comm_ = nullptr;
  // The world the compiled collectives' groups are split from when the
  // device brings its own (NCCL; hooks' data_comm), else NULL: comm_.
  pzrt_comm *dataComm_ = nullptr;
  // One communicator per group of grid axes any stage program uses
  // (groupMasks_, ascending); each chunk's ctx comms list is its program's
  // comm_groups mapped onto them.
  std::vector<uint32_t> groupMasks_;
  std::vector<pzrt_comm *> groupComms_;
  // Per stage mask of a tied parameter (of any stage, in increasing order):
  // the communicator of this rank's group, NULL where its stage is not in
  // the mask.
  std::vector<std::pair<uint32_t, pzrt_comm *>> tiedComms_;
  std::vector<pzrt_stream *> streams_;  // ctx_.streams
  bool mpi_ = false;

  int dpSize_ = 1, dpRank_ = 0, K_ = 1;
  // Pipeline stages: the ranks one stage apart; whether this rank's stage
  // has the loss, and how many ranks have it (the loss average's divisor).
  int stageStride_ = 1, lossRanks_ = 1;
  bool hasLoss_ = true; // a chunk of the rank has the loss
  int64_t rows_ = 1, G_ = 1, tokensPerStep_ = 1;
  bool tokenModel_ = false;
  int64_t start_ = 0, end_ = 0, dataStart_ = 0, curStep_ = 0;
  int64_t lastSaved_ = -1;

  TrainPosition pos_;
  pzrt_step_ctx ctx_{};
  FunctionGraphs graphs_; // after ctx_: destroyed first
  StepGraph stepGraph_;
  bool stepGraphed_ = false;
  // The step graph's page-locked host memory: per micro-batch, per input,
  // what the feed fills (the DATA inputs; NULL for others); the losses.
  std::vector<std::vector<void *>> pinnedInputs_;
  float *pinnedLoss_ = nullptr;
  std::vector<void *> pinned_; // every allocation, freed by the destructor
  std::unique_ptr<pzrt_metrics, MetricsCloser> metrics_, rankMetrics_;
  std::unique_ptr<pzrt_trace, TraceCloser> trace_;

  // Progress-line averages since the last printed line.
  double sinceTime_ = 0;
  int64_t sinceSteps_ = 0;
  double runStart_ = 0;
};

} // namespace pzrt::train

#endif // PZRT_SRC_TRAIN_TRAINER_H
