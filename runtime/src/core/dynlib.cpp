// Opening shared libraries with dlopen (see dynlib.h).
#include "core/dynlib.h"

#include "core/internal.h"

#include <cstdlib>
#include <dlfcn.h>
#include <unistd.h>

namespace pzrt {

namespace {

// The directory of the running executable ("" when /proc cannot say).
std::string executableDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    return "";
  std::string path(buf, static_cast<size_t>(n));
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "" : path.substr(0, slash);
}

} // namespace

void *openLibrary(const std::string &name, bool global) {
  const int mode = RTLD_NOW | (global ? RTLD_GLOBAL : RTLD_LOCAL);
  // A path is opened as given; a file name is looked for next to the
  // executable first, where `compile --backend cuda` copies it.
  std::string bundled;
  if (name.find('/') == std::string::npos) {
    std::string dir = executableDir();
    if (!dir.empty()) {
      bundled = dir + "/lib/" + name;
      if (void *lib = dlopen(bundled.c_str(), mode))
        return lib;
    }
  }
  void *lib = dlopen(name.c_str(), mode);
  if (lib)
    return lib;
  const char *why = dlerror();
  const char *ldPath = std::getenv("LD_LIBRARY_PATH");
  if (name.find('/') != std::string::npos)
    return fail("cannot load %s: %s", name.c_str(), why ? why : "unknown error"),
           nullptr;
  fail("cannot load %s (searched %s, LD_LIBRARY_PATH=%s, the executable's rpath and the "
       "system's library cache): %s",
       name.c_str(), bundled.empty() ? "no executable directory" : bundled.c_str(),
       ldPath && *ldPath ? ldPath : "(unset)", why ? why : "unknown error");
  return nullptr;
}

void *librarySymbol(void *lib, const std::string &name, const char *symbol) {
  dlerror();
  void *address = dlsym(lib, symbol);
  if (!address) {
    const char *why = dlerror();
    fail("%s has no symbol %s: %s", name.c_str(), symbol, why ? why : "NULL address");
  }
  return address;
}

} // namespace pzrt
