// Checkpoint directories: classification, careful removal, siblings left by
// saves, the atomic exchange and load-time recovery.
#include "io/ckpt_dir.h"

#include "core/internal.h"
#include "io/fsutil.h"
#include "io/json.h"

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

namespace pzrt::ckpt {

namespace {

bool allDigits(const std::string &s, size_t from) {
  if (from >= s.size() || s.size() - from > 18)
    return false;
  for (size_t i = from; i < s.size(); ++i)
    if (s[i] < '0' || s[i] > '9')
      return false;
  return true;
}

bool isOurName(const std::string &name) {
  return name == kIndexName || name == kMarkerName || isRankFileName(name);
}

bool isRegular(const std::string &path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The entries of a directory except . and .., sorted; false with errno set
// when it cannot be read.
bool listDir(const std::string &path, std::vector<std::string> &names) {
  names.clear();
  DIR *d = opendir(path.c_str());
  if (!d)
    return false;
  while (dirent *e = readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
      continue;
    names.push_back(e->d_name);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return true;
}

// "'a', 'b', 'c' and 4 more"
std::string nameList(const std::vector<std::string> &names) {
  std::string s;
  const size_t shown = std::min<size_t>(names.size(), 4);
  for (size_t i = 0; i < shown; ++i)
    s += (i == 0 ? "'" : (i + 1 == shown && names.size() == shown ? "' and '" : "', '")) +
         names[i];
  s += "'";
  if (names.size() > shown)
    s += " and " + std::to_string(names.size() - shown) + " more";
  return s;
}

bool filesPresent(const std::string &dir, const DirInfo &info, std::string *missing) {
  for (const std::string &f : info.files)
    if (!isRegular(dir + "/" + f)) {
      if (missing)
        *missing = f;
      return false;
    }
  return true;
}

} // namespace

bool isRankFileName(const std::string &name) {
  const std::string pre = "rank", suf = ".safetensors";
  if (name.size() < pre.size() + 5 + suf.size() || name.compare(0, pre.size(), pre) != 0 ||
      name.compare(name.size() - suf.size(), suf.size(), suf) != 0)
    return false;
  for (size_t i = pre.size(); i < name.size() - suf.size(); ++i)
    if (name[i] < '0' || name[i] > '9')
      return false;
  return true;
}

std::string rankFileName(int rank) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "rank%05d.safetensors", rank);
  return buf;
}

std::string normalizeDir(const std::string &dir) {
  std::string d = dir;
  while (d.size() > 1 && d.back() == '/')
    d.pop_back();
  std::string base = baseName(d);
  if (d.empty() || d == "/" || base == "." || base == "..")
    return "";
  return d;
}

std::string parentDir(const std::string &p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
}

std::string baseName(const std::string &p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

DirInfo classify(const std::string &path) {
  DirInfo info;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) {
      info.kind = DirKind::Absent;
    } else if (errno == ENOTDIR) {
      info.kind = DirKind::Foreign;
      info.what = "a path below something that is not a directory";
    } else {
      info.kind = DirKind::Foreign;
      info.what = std::string("something that cannot be examined (") + std::strerror(errno) + ")";
    }
    return info;
  }
  info.kind = DirKind::Foreign;
  if (S_ISLNK(st.st_mode)) {
    info.what = "a symbolic link (a save renames the directory itself, which would replace the "
                "link, not its target; give the target's path)";
    return info;
  }
  if (!S_ISDIR(st.st_mode)) {
    info.what = fileTypeName(st.st_mode);
    return info;
  }
  std::vector<std::string> names, foreign;
  if (!listDir(path, names)) {
    info.what = std::string("a directory that cannot be read (") + std::strerror(errno) + ")";
    return info;
  }
  if (names.empty()) {
    info.kind = DirKind::Empty;
    return info;
  }
  bool hasIndex = false;
  for (const std::string &n : names) {
    if (isOurName(n) && isRegular(path + "/" + n))
      hasIndex = hasIndex || n == kIndexName;
    else
      foreign.push_back(n);
  }
  std::string text, err;
  json::Value idx;
  const json::Value *fmt = nullptr;
  if (hasIndex && readFile(path + "/" + kIndexName, text) == 0 && json::parse(text, idx, err) &&
      idx.isObject())
    fmt = idx.find("format");
  bool ours = fmt && fmt->isString() && fmt->asString() == "pzrt-checkpoint";
  if (!foreign.empty()) {
    info.what = ours ? "a checkpoint directory that also holds " + nameList(foreign) +
                           ", which a save would not keep"
                     : "a directory that is not a checkpoint: it holds " + nameList(foreign) +
                           (hasIndex ? "" : ", and no index.json");
    return info;
  }
  if (!hasIndex) {
    info.kind = DirKind::Partial;
    return info;
  }
  if (!ours) {
    info.what = "a directory whose index.json is not a pzrt checkpoint index";
    return info;
  }
  info.kind = DirKind::Checkpoint;
  if (const json::Value *s = idx.find("step"); s && s->isInt())
    info.step = s->asInt();
  auto addFile = [&](const json::Value *f) {
    if (f && f->isString() && !f->asString().empty() &&
        f->asString().find('/') == std::string::npos &&
        std::find(info.files.begin(), info.files.end(), f->asString()) == info.files.end())
      info.files.push_back(f->asString());
  };
  if (const json::Value *fs = idx.find("files"); fs && fs->isArray())
    for (const json::Value &f : fs->items())
      addFile(&f);
  if (const json::Value *ts = idx.find("tensors"); ts && ts->isObject())
    for (const auto &t : ts->members())
      if (const json::Value *sl = t.second.isObject() ? t.second.find("slices") : nullptr;
          sl && sl->isArray())
        for (const json::Value &s : sl->items())
          addFile(s.isObject() ? s.find("file") : nullptr);
  return info;
}

int checkSaveTarget(const std::string &dir) {
  std::string d = normalizeDir(dir);
  if (d.empty())
    return fail("'%s' cannot be a checkpoint directory: a save replaces the directory by "
                "renaming, so give it a name (not '.', '..' or '/')",
                dir.c_str());
  DirInfo info = classify(d);
  switch (info.kind) {
  case DirKind::Absent:
  case DirKind::Empty:
  case DirKind::Checkpoint:
    return 0;
  case DirKind::Partial:
    return fail("'%s' holds checkpoint rank files but no index.json (an unfinished save?); a "
                "save replaces only a complete checkpoint: remove it or choose another "
                "directory; nothing was changed",
                d.c_str());
  case DirKind::Foreign:
    break;
  }
  return fail("'%s' is %s; a save replaces its directory, so it must be absent, an empty "
              "directory or a checkpoint (index.json of format \"pzrt-checkpoint\" and rank "
              "files only); nothing was changed",
              d.c_str(), info.what.c_str());
}

int removeOurs(const std::string &path, std::string *kept) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0)
    return errno == ENOENT ? 0 : fail("cannot examine '%s': %s", path.c_str(), std::strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return fail("'%s' is %s, not a checkpoint directory; it was left alone", path.c_str(),
                fileTypeName(st.st_mode));
  std::vector<std::string> names, others;
  if (!listDir(path, names))
    return fail("cannot read directory '%s': %s", path.c_str(), std::strerror(errno));
  for (const std::string &n : names) {
    std::string p = path + "/" + n;
    if (!isOurName(n) || !isRegular(p)) {
      others.push_back(n);
      continue;
    }
    if (unlink(p.c_str()) != 0 && errno != ENOENT)
      return fail("cannot remove '%s': %s", p.c_str(), std::strerror(errno));
  }
  if (!others.empty()) {
    if (kept)
      *kept = nameList(others);
    return 1;
  }
  if (rmdir(path.c_str()) == 0)
    return 0;
  if (errno == ENOTEMPTY || errno == EEXIST) {
    if (kept)
      *kept = "entries added while it was being removed";
    return 1;
  }
  return fail("cannot remove directory '%s': %s", path.c_str(), std::strerror(errno));
}

std::vector<Sibling> siblings(const std::string &dir) {
  std::vector<Sibling> out;
  std::string d = normalizeDir(dir);
  if (d.empty())
    return out;
  std::string parent = parentDir(d), base = baseName(d) + ".";
  std::vector<std::string> names;
  if (!listDir(parent, names))
    return out;
  static const char *const kKinds[] = {"pzrt-tmp", "pzrt-old", "step", "tmp", "old"};
  for (const std::string &n : names) {
    if (n.size() <= base.size() || n.compare(0, base.size(), base) != 0)
      continue;
    std::string rest = n.substr(base.size());
    for (const char *k : kKinds) {
      std::string pre = std::string(k) + "-";
      if (rest.compare(0, pre.size(), pre) == 0 && allDigits(rest, pre.size())) {
        Sibling s;
        if (d.find('/') == std::string::npos)
          s.path = n;
        else
          s.path = (parent == "/" ? "" : parent) + "/" + n;
        s.kind = k;
        s.number = std::strtoll(rest.c_str() + pre.size(), nullptr, 10);
        out.push_back(std::move(s));
        break;
      }
    }
  }
  return out;
}

int renameExchange(const std::string &a, const std::string &b) {
#ifdef SYS_renameat2
  if (syscall(SYS_renameat2, AT_FDCWD, a.c_str(), AT_FDCWD, b.c_str(), RENAME_EXCHANGE) == 0)
    return 0;
  int e = errno;
  if (e == EINVAL || e == ENOSYS || e == ENOTSUP || e == EOPNOTSUPP || e == EXDEV)
    return 1;
  return fail("cannot exchange '%s' and '%s': %s", a.c_str(), b.c_str(), std::strerror(e));
#else
  (void)a;
  (void)b;
  return 1;
#endif
}

std::string resolveLoad(const std::string &dir, std::string &note, bool ownNamesOnly) {
  note.clear();
  std::string d = normalizeDir(dir);
  if (d.empty())
    return dir;
  DirInfo info = classify(d);
  std::string why, missing;
  switch (info.kind) {
  case DirKind::Absent:
    why = "does not exist";
    break;
  case DirKind::Empty:
    why = "is empty";
    break;
  case DirKind::Partial:
    why = "has no index.json";
    break;
  case DirKind::Checkpoint:
    if (filesPresent(d, info, &missing))
      return dir;
    why = "lacks '" + missing + "', which its index.json lists";
    break;
  case DirKind::Foreign:
    return dir; // the load's own error explains what is there
  }
  const Sibling *best = nullptr;
  int64_t bestStep = -1;
  std::vector<Sibling> sibs = siblings(d);
  for (const Sibling &s : sibs) {
    if (s.kind == "step")
      continue; // a kept checkpoint, not a leftover
    if (ownNamesOnly && s.kind != "pzrt-tmp" && s.kind != "pzrt-old")
      continue;
    DirInfo c = classify(s.path);
    if (c.kind != DirKind::Checkpoint || c.step < 0 || !filesPresent(s.path, c, nullptr))
      continue;
    if (c.step > bestStep) {
      best = &s;
      bestStep = c.step;
    }
  }
  if (!best)
    return dir;
  note = format("'%s' %s; loading '%s' (step %lld), the complete checkpoint that an "
                "interrupted save left beside it",
                d.c_str(), why.c_str(), best->path.c_str(), (long long)bestStep);
  return best->path;
}

void crashPoint(const char *point) {
  const char *v = std::getenv("PZRT_TEST_CRASH_AT");
  if (v && std::strcmp(v, point) == 0) {
    std::fprintf(stderr, "pzrt: test crash point '%s': killing the process\n", point);
    std::fflush(nullptr);
    raise(SIGKILL);
  }
}

bool exchangeDisabledForTests() {
  const char *v = std::getenv("PZRT_TEST_NO_RENAME_EXCHANGE");
  return v && std::strcmp(v, "1") == 0;
}

} // namespace pzrt::ckpt
