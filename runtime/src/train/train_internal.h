// Internal pieces of the training driver (pzrt_train_main): options, model
// checks, buffers and checkpoints, data feeding. Not part of the C API.
#ifndef PZRT_SRC_TRAIN_TRAIN_INTERNAL_H
#define PZRT_SRC_TRAIN_TRAIN_INTERNAL_H

#include "pzrt/comm.h"
#include "pzrt/data.h"
#include "pzrt/schedule.h"
#include "pzrt/train.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace pzrt::train {

// Process exit codes.
constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitUsage = 2;
constexpr int kExitNumerics = 3; // the loss or a gradient is NaN/Inf (no loss scaling)

// Thrown inside the driver; pzrt_train_main turns it into a message (with the
// rank and step prepended) and an exit code.
struct Failure {
  int code;
  std::string message;
  // Every rank throws the same Failure at the same point (it follows an
  // agreement), so the ranks can stop cleanly instead of aborting the job.
  bool agreed = false;
};
[[noreturn]] void throwUsage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
[[noreturn]] void throwInternal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

// ---- options (options.cpp) ----
enum class DataKind { Synthetic, TokenFile, Npy };

struct Options {
  int64_t steps = 10;
  uint64_t seed = 0;
  bool seedGiven = false;
  int64_t logEvery = 10;
  DataKind data = DataKind::Synthetic;
  std::string dataPath;    // --data PATH
  int tokenBytes = 2;      // --data-dtype
  bool dataDtypeGiven = false;
  std::vector<std::pair<std::string, std::string>> npy; // --data-npy NAME=FILE
  std::string metrics;
  bool metricsAll = false;
  std::string trace;
  std::string save;
  int64_t saveEvery = 0;   // 0: only at the end
  int keepLast = 0;        // --keep-last K; 0: not given (only DIR is kept)
  std::string load;
  double commTimeout = -1; // < 0: not given
  int threads = 0;         // 0: not given
  bool help = false;
};

// Parses argv[1..argc-1]; throws a usage Failure naming the option.
void parseOptions(int argc, char **argv, Options &opts);
// The help; its data inputs are those of every stage (one program: n = 1).
std::string usageText(const pzrt_program *const *stages, int n, const char *argv0);
// "dir/m.jsonl" -> "dir/m.rank3.jsonl" (the suffix is inserted before `ext`
// when the path ends with it, appended otherwise).
std::string perRankPath(const std::string &path, int rank, const char *ext);

// ---- the model description (model.cpp) ----
int64_t numel(const pzrt_tensor_spec &spec);
int64_t numel(const std::vector<int64_t> &shape); // of a shape validateModel bounded
uint64_t specBytes(const pzrt_tensor_spec &spec);
std::string shapeStr(const pzrt_tensor_spec &spec);
std::string specStr(const pzrt_tensor_spec &spec); // "int64 [4, 64]"
// Global shape of a possibly sharded spec; offsets (zeros when unsharded).
std::vector<int64_t> globalShape(const pzrt_tensor_spec &spec);
/// Where this rank's slice of spec starts in the whole tensor: its box
/// (dim_axes) or its static offsets; zeros when unsharded.
std::vector<int64_t> sliceOffsets(const pzrt_program *m, const pzrt_tensor_spec &spec, int rank);
bool isSharded(const pzrt_tensor_spec &spec);
/// The part of the whole tensor this rank's slice covers: its offsets and
/// extents. A box-sharded dim padded up to a multiple of its ranks (a
/// vocabulary tp does not divide) leaves the last blocks partly or wholly
/// past the end: their extents are clipped (possibly to 0, the offset then
/// clamped to the dim) and `clipped` is set; the rest of the block is
/// padding, zero wherever the driver fills it.
struct SlicePart {
  std::vector<int64_t> offsets, extents;
  bool clipped = false;
};
SlicePart slicePart(const pzrt_program *m, const pzrt_tensor_spec &spec, int rank);
/// A clipped slice's elements, packed row-major (the part), to the front of
/// each dim of the rank's block, the padding zeroed; and back.
void placePart(const pzrt_tensor_spec &s, const SlicePart &p, const void *part, void *block);
std::vector<unsigned char> takePart(const pzrt_tensor_spec &s, const SlicePart &p,
                                    const void *block);
std::string vecStr(const std::vector<int64_t> &v); // "[2, 3]"
// ZeRO flat sharding (train.h's shard_axes).
bool isFlatSharded(const pzrt_tensor_spec &spec);
// Flat-sharded and box-sharded: the flat chunk of the rank's block (tp
// with ZeRO).
bool isChunkOfBlock(const pzrt_tensor_spec &spec);
// The number of ranks over the grid axes of `mask` (program->grid; 0 counts
// as 1), and a rank's coordinate over them: row-major in grid order, the
// outermost axis first, as its rank in the communicator of that axis group.
int64_t axesSize(const pzrt_program *m, uint32_t mask);
int64_t axesCoord(const pzrt_program *m, uint32_t mask, int rank);
// The rank's block of a box-sharded spec (ceil(global / ranks) per dim):
// its local shape, unless the block is flat-sharded too (tp with ZeRO).
std::vector<int64_t> blockShape(const pzrt_program *m, const pzrt_tensor_spec &spec);
// The elements of the flattened tensor (of the flattened block, when
// box-sharded too) a rank holds: [begin, end) are the valid ones (possibly
// none), the rest of its chunk of c is padding.
struct FlatRange {
  int64_t begin, end, chunk;
};
FlatRange flatRange(const pzrt_program *m, const pzrt_tensor_spec &spec, int rank);
// A flat chunk of a block (box- and flat-sharded): the regions of the whole
// tensor its elements hold, each a box (offsets, extents) of the whole
// tensor that starts at `at` in the block; the block's padding (slicePart)
// and the chunk's are in none. Row by row, a region lies in the chunk at
// its element index in the block minus flatRange's begin.
struct ChunkRegion {
  std::vector<int64_t> offsets, extents, at;
};
std::vector<ChunkRegion> chunkRegions(const pzrt_program *m, const pzrt_tensor_spec &spec,
                                      int rank);
// The one dim of a box-sharded spec that ranks split, or -1 (none or
// several).
int boxSplitDim(const pzrt_tensor_spec &spec);
// The stored tensor's boxes behind a region (offsets, extents) of spec's
// program tensor: the region itself, or, with split_groups (train.h), its
// interval along the split dim cut into the runs the stored tensor holds
// contiguously; `at`: where the piece starts along that dim in the region.
struct StoredPiece {
  std::vector<int64_t> offsets, extents;
  int64_t at = 0;
};
std::vector<StoredPiece> storedPieces(const pzrt_program *m, const pzrt_tensor_spec &spec,
                                      const std::vector<int64_t> &offsets,
                                      const std::vector<int64_t> &extents);
// Copies region c's rows between its packed elements and the rank's chunk
// (into the chunk when toChunk).
void copyRegionRows(const pzrt_program *m, const pzrt_tensor_spec &s, int rank,
                    const ChunkRegion &c, void *packed, void *chunk, bool toChunk);
int inputRole(const pzrt_program *m, int i);
// The bytes of parameter i's gradient (and accumulator): its own bytes, or
// its chunk under program->grad_shard_axes (ZeRO 2 and 3).
uint64_t gradBytes(const pzrt_program *m, int i);
// Checks the compiler-emitted description; throws an internal Failure.
void validateModel(const pzrt_program *m);
// The documented formula of train.h.
uint64_t plannedPeakFormula(const pzrt_program *m);
// Whether a function the schedule runs binds gradient accumulators (then the
// driver allocates them).
bool usesAccumulators(const pzrt_program *m);
// The bytes of the scalar slots.
constexpr uint64_t kScalarBytes = 8 * PZRT_SCALAR_COUNT;
// Whether a function of the program binds the scalar slot `scalar`.
bool bindsScalar(const pzrt_program *m, int scalar);
// The number of pipeline stages (grid[PZRT_AXIS_PP], at least 1).
int numStages(const pzrt_program *m);
// The global pipeline stages: pp x the chunks per rank (interleaved).
int numGlobalStages(const pzrt_program *m);
// A stage program of pzrt_train_main_stages: it has slots.
inline bool isStageProgram(const pzrt_program *m) { return m->num_slots > 0; }
// The pool of saved tensor i (pzrt_program's saved_pools): 0 or 1.
inline int savedPool(const pzrt_program *m, int i) {
  return m->saved_pools ? m->saved_pools[i] : 0;
}
// Checks that the programs are the stages of one plan (stages[s] has
// pp_stage s, all share the grid, world size, grad_accum, ...) and that each
// neighbour pair's SENDs and RECVs match in order, micro-batch and bytes;
// throws an internal Failure. Each program was validated (validateModel).
void validateStages(const pzrt_program *const *stages, int n);
// Index of the input with that name (DATA role), or -1.
int findDataInput(const pzrt_program *m, const char *name);
// Rows of one micro-batch (shape[0] of the DATA inputs), 1 if there are none.
int64_t microBatchRows(const pzrt_program *m);

// ---- buffers, initial weights and checkpoints (state.cpp) ----
struct Buffers {
  std::vector<void *> params, grads, accum, states;
  // Per slot (train.h's pipeline stages; one slot for any other program):
  // the inputs and the saved tensors (of pool 0; NULL for pool 1) of the
  // micro-batches m with m mod slots == slot; per weight slot, the saved
  // tensors of pool 1 (NULL for pool 0) of m mod weightSlots.
  std::vector<std::vector<void *>> inputs, saved, weightSaved;
  std::vector<void *> outputs; // what a stage sends, one buffer each
  void *scalars = nullptr; // PZRT_SCALAR_COUNT slots of 8 bytes
  // Per function of the program, per micro-batch of the step: its
  // arguments' buffers, in order; an argument bound to an input or a saved
  // tensor gets the micro-batch's slot's.
  std::vector<std::vector<std::vector<void *>>> bindings;
  pzrt_arena *arena = nullptr;
  // False for a host view of another Buffers' tensors (host_stage.h's
  // HostWeights): the destructor frees nothing.
  bool owning = true;
  int slots() const { return static_cast<int>(inputs.size()); }
  int slotOf(int microBatch) const { return microBatch % slots(); }
  Buffers() = default;
  Buffers(const Buffers &) = delete;
  Buffers &operator=(const Buffers &) = delete;
  ~Buffers();
};
// Allocates everything of train.h's memory formula; throws.
void allocateBuffers(const pzrt_program *m, Buffers &b);
// What allocateBuffers allocates, in its order: bytes and "parameter 'w'".
struct PlannedBuffer {
  uint64_t bytes;
  std::string what;
};
std::vector<PlannedBuffer> planBuffers(const pzrt_program *m);
// Loads model->init_file (relative to the executable's directory unless
// absolute) into the params; throws a usage Failure on a bad file.
// `rank` (the world rank) places flat-sharded parameters.
void loadInitFile(const pzrt_program *m, Buffers &b, int rank);
std::string resolveInitFile(const char *initFile);

// What a checkpoint records besides tensors.
struct TrainPosition {
  int64_t step = 0;           // the last completed iteration
  int64_t appliedUpdates = 0; // optimizer updates applied (skipped steps excluded)
  int64_t dataPosition = 0;   // the next global row / window
  uint64_t seed = 0;
  pzrt_loss_scaler scaler{};
};
// Loads params, states and the position; throws (usage Failure for a
// checkpoint that does not fit the model).
// A NaN or infinity in a loaded tensor is a usage Failure naming it. When
// dir is missing or incomplete, loads the complete checkpoint an interrupted
// save left beside it (ckpt::resolveLoad); notes receives what the caller
// should tell the user (that, or a checkpoint without checksums).
void loadCheckpoint(const pzrt_program *m, Buffers &b, const std::string &dir, TrainPosition &pos,
                    std::vector<std::string> &notes, int rank);
// Collective over comm; throws an internal Failure (on every rank).
// keepLast > 0: --keep-last (pzrt_ckpt_writer_set_keep_last).
void saveCheckpoint(const pzrt_program *m, const Buffers &b, const std::string &dir, pzrt_comm *comm,
                    const TrainPosition &pos, int64_t globalBatch, int keepLast);
// The same for several programs of one rank (interleaved pipeline chunks):
// one checkpoint holding each program's parameters and states.
void saveCheckpoint(const std::vector<std::pair<const pzrt_program *, const Buffers *>> &programs,
                    const std::string &dir, pzrt_comm *comm, const TrainPosition &pos,
                    int64_t globalBatch, int keepLast);

// ---- finite checks of float buffers (state.cpp) ----
bool hasNonFinite(const void *x, int64_t n, pzrt_dtype dtype);
// Index of the first NaN/Inf of a float buffer (F32, F64, BF16, F16), else -1.
int64_t firstNonFinite(const void *x, int64_t n, pzrt_dtype dtype);

// ---- data feeding (feed.cpp) ----
class DataFeed {
public:
  DataFeed() = default;
  DataFeed(const DataFeed &) = delete;
  DataFeed &operator=(const DataFeed &) = delete;
  ~DataFeed();
  // Opens and checks the data source against the model; throws usage Failures.
  // `cpCoord`: this rank's coordinate on the cp axis (context
  // parallelism: an input split over cp gets its zigzag chunks of each row).
  // `planInputs`: a pipeline stage's view of the plan, the DATA inputs of
  // every stage's program (--data-npy accepts their names and loads only
  // this program's); empty: this program's own.
  void open(const pzrt_program *m, const Options &opts, uint64_t seed, int cpCoord = 0,
            const std::vector<std::string> &planInputs = {});
  // Fills every DATA input with the micro-batch of global rows first ..
  // first + rows - 1; throws a usage Failure on bad data (e.g. a token id
  // outside the vocabulary).
  void fill(int64_t first, void *const *inputs);
  // "synthetic", "token file 'x.bin' (uint16, 1000 windows)", ...
  const std::string &description() const { return desc_; }

private:
  void checkTokens(int input, int64_t first, const void *buf) const;
  void fillRows(int64_t first, void *const *inputs);

  // The program as the feed sees it: an input split over cp has its whole
  // rows (the spec's global shape); the feed fills scratch_ and copies the
  // rank's zigzag chunks.
  pzrt_program view_{};
  std::vector<pzrt_tensor_spec> specs_;
  std::vector<bool> cpSplit_;
  std::vector<std::vector<unsigned char>> scratch_;
  int cpCoord_ = 0;

  const pzrt_program *model_ = nullptr;
  DataKind kind_ = DataKind::Synthetic;
  uint64_t seed_ = 0;
  int64_t rows_ = 1;
  std::string desc_;
  pzrt_token_file *tokens_ = nullptr;
  int idsInput_ = -1, labelsInput_ = -1;
  std::vector<pzrt_npy *> npy_;        // per input (NULL for non-DATA inputs)
  std::vector<std::string> npyPath_;   // per input
};

} // namespace pzrt::train

#endif // PZRT_SRC_TRAIN_TRAIN_INTERNAL_H
