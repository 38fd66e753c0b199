// File-system helpers: read-only memory maps, durable writes, directories.
#ifndef PZRT_SRC_IO_FSUTIL_H
#define PZRT_SRC_IO_FSUTIL_H

#include <cstddef>
#include <string>

namespace pzrt {

// A read-only memory map of a whole file (empty files map to nullptr/0).
class MappedFile {
public:
  MappedFile() = default;
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;
  ~MappedFile();
  // Returns -1 with pzrt_last_error() naming the path and the system error.
  // Anything but a regular file (a FIFO, a device, a directory) is refused
  // without blocking, with an error naming its type.
  int open(const std::string &path);
  const unsigned char *data() const { return data_; }
  size_t size() const { return size_; }
  const std::string &path() const { return path_; }

private:
  const unsigned char *data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// "a regular file", "a FIFO (named pipe)", "a character device", ... for a
// st_mode.
const char *fileTypeName(unsigned mode);

// Writes the file (truncating), fsyncs it and returns 0, or -1 with an error.
int writeFileDurable(const std::string &path, const void *data, size_t size);
// Reads a whole file into out; -1 with an error.
int readFile(const std::string &path, std::string &out);
// fsyncs a directory so that renames and new entries in it are durable.
int fsyncDir(const std::string &path);
// mkdir -p.
int makeDirs(const std::string &path);
// rm -r (no error if missing). For the tests' temporary directories: the
// runtime itself never removes a tree (see ckpt::removeOurs).
int removeTree(const std::string &path);
bool pathExists(const std::string &path);

} // namespace pzrt

#endif // PZRT_SRC_IO_FSUTIL_H
