//===- ExternalData.cpp - Read tensors stored outside the .onnx file ------===//

#include "ExternalData.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>

#include <sys/stat.h>

using namespace mlir::pz::onnx;

namespace {

/// The canonical absolute path of `path` (symlinks resolved), or "" with
/// `err` set to the system's reason.
std::string realPath(const std::string &path, std::string &err) {
  std::unique_ptr<char, decltype(&std::free)> resolved(
      ::realpath(path.c_str(), nullptr), &std::free);
  if (!resolved) {
    err = std::strerror(errno);
    return "";
  }
  return resolved.get();
}

/// Parses a non-negative decimal integer; false for anything else.
bool parseSize(const std::string &text, int64_t &value) {
  if (text.empty() || text.size() > 19)
    return false;
  for (char c : text)
    if (c < '0' || c > '9')
      return false;
  errno = 0;
  long long v = std::strtoll(text.c_str(), nullptr, 10);
  if (errno != 0 || v < 0)
    return false;
  value = v;
  return true;
}

/// Rejects locations that could leave the model's directory before touching
/// the file system.
bool checkLocationText(const std::string &location, std::string &why) {
  if (location.empty()) {
    why = "the location is empty";
    return false;
  }
  if (location.find('\0') != std::string::npos) {
    why = "the location contains a NUL byte";
    return false;
  }
  if (location.front() == '/') {
    why = "it is an absolute path";
    return false;
  }
  if (location.find('\\') != std::string::npos) {
    why = "it contains a backslash";
    return false;
  }
  size_t start = 0;
  while (start <= location.size()) {
    size_t end = location.find('/', start);
    if (end == std::string::npos)
      end = location.size();
    if (location.compare(start, end - start, "..") == 0) {
      why = "it has a '..' component";
      return false;
    }
    start = end + 1;
  }
  return true;
}

} // namespace

bool mlir::pz::onnx::readExternalData(
    const std::string &modelDir,
    const std::vector<std::pair<std::string, std::string>> &entries,
    int64_t expectedBytes, std::string &out, std::string &file,
    std::string &error) {
  std::string prefix = "external data ";
  std::string location;
  int64_t offset = 0, length = -1;
  bool haveLocation = false;
  for (const auto &[key, value] : entries) {
    if (key == "location") {
      location = value;
      haveLocation = true;
    } else if (key == "offset" || key == "length") {
      int64_t v;
      if (!parseSize(value, v)) {
        error = prefix + key + " '" + value + "' is not a non-negative integer";
        return false;
      }
      (key == "offset" ? offset : length) = v;
    }
    // "checksum" and unknown keys are ignored, as the ONNX checker does.
  }
  if (!haveLocation) {
    error = prefix + "has no 'location' entry";
    return false;
  }
  std::string why;
  if (!checkLocationText(location, why)) {
    error = prefix + "location '" + location + "' is rejected: " + why +
            "; external data must be a relative path to a file inside the "
            "model's directory";
    return false;
  }

  std::string sysErr;
  std::string dir = realPath(modelDir.empty() ? "." : modelDir, sysErr);
  if (dir.empty()) {
    error = prefix + "cannot resolve the model's directory '" + modelDir +
            "': " + sysErr;
    return false;
  }
  file = realPath(dir + "/" + location, sysErr);
  if (file.empty()) {
    error = prefix + "cannot open '" + location + "': " + sysErr;
    return false;
  }
  std::string dirPrefix = dir == "/" ? dir : dir + "/";
  if (file.compare(0, dirPrefix.size(), dirPrefix) != 0) {
    error = prefix + "location '" + location + "' resolves to '" + file +
            "', which is outside the model's directory '" + dir + "'";
    return false;
  }
  struct stat st;
  if (::stat(file.c_str(), &st) != 0) {
    error = prefix + "cannot stat '" + location + "': " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = prefix + "location '" + location + "' is not a regular file";
    return false;
  }
  int64_t fileSize = st.st_size;
  if (offset > fileSize) {
    error = prefix + "offset " + std::to_string(offset) +
            " is past the end of '" + location + "' (" +
            std::to_string(fileSize) + " bytes)";
    return false;
  }
  if (length < 0)
    length = fileSize - offset;
  else if (length > fileSize - offset) {
    error = prefix + "offset " + std::to_string(offset) + " + length " +
            std::to_string(length) + " is past the end of '" + location +
            "' (" + std::to_string(fileSize) + " bytes)";
    return false;
  }
  if (length != expectedBytes) {
    error = prefix + "length " + std::to_string(length) +
            " does not match the tensor's size of " +
            std::to_string(expectedBytes) + " bytes";
    return false;
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    error = prefix + "cannot open '" + location + "'";
    return false;
  }
  out.resize(static_cast<size_t>(length));
  in.seekg(offset);
  if (length > 0)
    in.read(out.data(), length);
  if (!in || in.gcount() != length) {
    error = prefix + "cannot read " + std::to_string(length) +
            " bytes at offset " + std::to_string(offset) + " of '" + location +
            "'";
    return false;
  }
  return true;
}
