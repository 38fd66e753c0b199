// Checkpoint directories on disk: recognising what a save wrote, replacing a
// checkpoint crash-safely without ever deleting anything else, and finding
// the checkpoint an interrupted save left behind.
//
// A save of DIR at step S (rank 0's part; see checkpoint_save.cpp):
//  1. DIR must be absent, an empty directory or a checkpoint (classify());
//  2. the new checkpoint is written into DIR.pzrt-tmp-S, marker file first,
//     then the rank files and index.json, each fsync'ed;
//  3. DIR.pzrt-tmp-S and DIR swap atomically (renameat2 RENAME_EXCHANGE) and
//     the parent directory is fsync'ed; where the file system cannot swap,
//     DIR moves aside to DIR.pzrt-old-S and DIR.pzrt-tmp-S takes its place;
//  4. the previous checkpoint (now at the temporary or aside name) becomes
//     DIR.step-<its step> under --keep-last, or is removed file by file:
//     only the names a save writes, then rmdir, which fails safely if
//     anything else is inside.
// Loading a DIR that is missing or incomplete falls back to the newest
// complete checkpoint at one of those temporary names (also the names of
// earlier releases: DIR.tmp-<step>, DIR.old-<pid>).
#ifndef PZRT_SRC_IO_CKPT_DIR_H
#define PZRT_SRC_IO_CKPT_DIR_H

#include <cstdint>
#include <string>
#include <vector>

namespace pzrt::ckpt {

// The names a save writes inside a checkpoint directory.
constexpr const char *kIndexName = "index.json";
constexpr const char *kMarkerName = "pzrt-save-in-progress";
// rankNNNNN.safetensors, at least five digits.
bool isRankFileName(const std::string &name);
std::string rankFileName(int rank);

enum class DirKind {
  Absent,     // nothing at the path
  Empty,      // an empty directory
  Checkpoint, // index.json of ours, and only names a save writes
  Partial,    // only names a save writes, but no index.json (an unfinished save)
  Foreign     // anything else: a file, a link, a device, someone's folder
};

struct DirInfo {
  DirKind kind = DirKind::Absent;
  std::string what;                // Foreign: what was found ("a regular file", ...)
  int64_t step = -1;               // Checkpoint: index.json's integer "step" (-1 if none)
  std::vector<std::string> files;  // Checkpoint: files index.json refers to
};

// Examines path without following a symbolic link at it and without opening
// anything but directories and index.json (checked to be a regular file
// first).
DirInfo classify(const std::string &path);

// "dir" without trailing slashes; "" for "", ".", "..", "/" and names ending
// in "/." or "/..", which a save cannot replace by renaming.
std::string normalizeDir(const std::string &dir);
std::string parentDir(const std::string &path);
std::string baseName(const std::string &path);

// 0 if a save may create or replace dir, else -1 with pzrt_last_error()
// naming dir and what is there.
int checkSaveTarget(const std::string &dir);

// Removes what a save writes (index.json, rankNNNNN.safetensors, the
// marker; regular files only) from the directory at path, then the
// directory. Returns 0 when the directory is gone, 1 when it stays because it
// holds something else (named in *kept), -1 on an error.
int removeOurs(const std::string &path, std::string *kept = nullptr);

// Siblings of dir that saves create: kind is "pzrt-tmp", "pzrt-old", "step"
// (--keep-last), or the earlier release's "tmp" and "old"; number is the step
// or pid of the name.
struct Sibling {
  std::string path, kind;
  int64_t number = 0;
};
std::vector<Sibling> siblings(const std::string &dir);

// Exchanges two paths atomically: 0 on success, 1 when the file system or
// kernel cannot (EINVAL, ENOSYS, ENOTSUP, EXDEV; the caller falls back), -1
// with an error otherwise.
int renameExchange(const std::string &a, const std::string &b);

// For --load dir: the directory to load. When dir is missing or incomplete
// (no index.json, or a file it lists is missing) and a complete checkpoint
// left by an interrupted save lies beside it, returns the newest such one and
// sets note to a sentence saying so; otherwise returns dir (note empty).
// ownNamesOnly: consider DIR.pzrt-tmp-* and DIR.pzrt-old-* only, not the
// earlier release's names (which a user may have given a copy).
std::string resolveLoad(const std::string &dir, std::string &note, bool ownNamesOnly = false);

// Test hooks, read from the environment by the save only:
// PZRT_TEST_CRASH_AT=<point> kills the process with SIGKILL at that point of
// a save ("after-marker", "after-index", "after-exchange", "after-aside",
// "after-install"); PZRT_TEST_NO_RENAME_EXCHANGE=1 takes the fallback path
// as if the file system could not exchange.
void crashPoint(const char *point);
bool exchangeDisabledForTests();

} // namespace pzrt::ckpt

#endif // PZRT_SRC_IO_CKPT_DIR_H
