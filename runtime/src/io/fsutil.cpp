// File-system helpers.
#include "io/fsutil.h"

#include "core/internal.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pzrt {

// A fuzzing build (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, fuzz/) reads
// files into heap buffers of their exact size instead: AddressSanitizer does
// not see a read past the end of a mapping that stays inside its last page.
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
static constexpr bool kMapFiles = false;
#else
static constexpr bool kMapFiles = true;
#endif

MappedFile::~MappedFile() {
  if (data_ && kMapFiles)
    munmap(const_cast<unsigned char *>(data_), size_);
  else
    delete[] data_;
}

const char *fileTypeName(unsigned mode) {
  switch (mode & S_IFMT) {
  case S_IFREG: return "a regular file";
  case S_IFDIR: return "a directory";
  case S_IFLNK: return "a symbolic link";
  case S_IFIFO: return "a FIFO (named pipe)";
  case S_IFCHR: return "a character device";
  case S_IFBLK: return "a block device";
  case S_IFSOCK: return "a socket";
  default: return "not a regular file";
  }
}

int MappedFile::open(const std::string &path) {
  path_ = path;
  // The type first, without opening: opening a FIFO for reading blocks until
  // a writer appears, and opening a device may have side effects.
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
  if (!S_ISREG(st.st_mode))
    return fail("'%s' is %s, not a regular file", path.c_str(), fileTypeName(st.st_mode));
  // O_NONBLOCK: should the path have been replaced by a FIFO since the stat,
  // the open still returns at once, and the fstat below refuses it.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0)
    return fail("cannot open '%s': %s", path.c_str(), std::strerror(errno));
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return fail("cannot stat '%s': %s", path.c_str(), std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail("'%s' is %s, not a regular file", path.c_str(), fileTypeName(st.st_mode));
  }
  if (st.st_size < 0 || static_cast<uint64_t>(st.st_size) > SIZE_MAX) {
    ::close(fd);
    return fail("'%s': size %lld cannot be mapped", path.c_str(), (long long)st.st_size);
  }
  size_ = static_cast<size_t>(st.st_size);
  if (size_ > 0 && !kMapFiles) {
    auto *buf = new unsigned char[size_];
    size_t done = 0;
    while (done < size_) {
      ssize_t n = ::read(fd, buf + done, size_ - done);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) {
        int e = n < 0 ? errno : EIO;
        delete[] buf;
        ::close(fd);
        size_ = 0;
        return fail("cannot read '%s': %s", path.c_str(), std::strerror(e));
      }
      done += static_cast<size_t>(n);
    }
    data_ = buf;
  } else if (size_ > 0) {
    void *p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      size_ = 0;
      return fail("cannot map '%s': %s", path.c_str(), std::strerror(e));
    }
    data_ = static_cast<const unsigned char *>(p);
  }
  ::close(fd);
  return 0;
}

int writeFileDurable(const std::string &path, const void *data, size_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail("cannot create '%s': %s", path.c_str(), std::strerror(errno));
  const char *p = static_cast<const char *>(data);
  size_t left = size;
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      return fail("cannot write '%s' (%zu of %zu bytes written): %s", path.c_str(), size - left,
                  size, std::strerror(e));
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return fail("cannot fsync '%s': %s", path.c_str(), std::strerror(e));
  }
  if (::close(fd) != 0)
    return fail("cannot close '%s': %s", path.c_str(), std::strerror(errno));
  return 0;
}

int readFile(const std::string &path, std::string &out) {
  MappedFile f;
  if (f.open(path))
    return -1;
  out.assign(reinterpret_cast<const char *>(f.data()), f.size());
  return 0;
}

int fsyncDir(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return fail("cannot open directory '%s': %s", path.c_str(), std::strerror(errno));
  int rc = fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0 && e != EINVAL) // some file systems cannot fsync directories
    return fail("cannot fsync directory '%s': %s", path.c_str(), std::strerror(e));
  return 0;
}

int makeDirs(const std::string &path) {
  if (path.empty())
    return 0;
  size_t pos = 0;
  while (true) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (!part.empty() && ::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST)
      return fail("cannot create directory '%s': %s", part.c_str(), std::strerror(errno));
    if (pos == std::string::npos)
      break;
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return fail("'%s' exists and is not a directory", path.c_str());
  return 0;
}

int removeTree(const std::string &path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0)
    return errno == ENOENT ? 0 : fail("cannot stat '%s': %s", path.c_str(), std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path.c_str());
    if (!d)
      return fail("cannot open directory '%s': %s", path.c_str(), std::strerror(errno));
    while (dirent *e = readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0)
        continue;
      if (removeTree(path + "/" + e->d_name)) {
        closedir(d);
        return -1;
      }
    }
    closedir(d);
    if (rmdir(path.c_str()) != 0)
      return fail("cannot remove directory '%s': %s", path.c_str(), std::strerror(errno));
    return 0;
  }
  if (unlink(path.c_str()) != 0)
    return fail("cannot remove '%s': %s", path.c_str(), std::strerror(errno));
  return 0;
}

bool pathExists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

} // namespace pzrt
