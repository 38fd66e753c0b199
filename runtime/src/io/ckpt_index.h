// Building a checkpoint's index.json from the rank files of a save
// (checkpoint_save.cpp's rank 0).
#ifndef PZRT_SRC_IO_CKPT_INDEX_H
#define PZRT_SRC_IO_CKPT_INDEX_H

#include "pzrt/checkpoint.h"

#include "io/json.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pzrt::ckpt {

json::Value intArray(const std::vector<int64_t> &v);

// Reads the `world` rank files in tmp (their "pzrt" slice metadata), merges
// replicas, checks that each tensor's slices are disjoint and cover it, and
// returns index.json's text. sums holds every rank file's CRC-32C and size
// (2 values per rank); dir names the checkpoint in messages.
int buildIndex(const std::string &tmp, const std::string &dir, int world,
               const pzrt_ckpt_info &info, const std::vector<int64_t> &sums, std::string &text);

} // namespace pzrt::ckpt

#endif // PZRT_SRC_IO_CKPT_INDEX_H
