//===- InputFile.cpp - refuse inputs that would block a reader -----------===//

#include "pz/Support/InputFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static StringRef kindName(sys::fs::file_type type) {
  switch (type) {
  case sys::fs::file_type::directory_file:
    return "a directory";
  case sys::fs::file_type::fifo_file:
    return "a FIFO";
  case sys::fs::file_type::character_file:
    return "a character device";
  case sys::fs::file_type::block_file:
    return "a block device";
  case sys::fs::file_type::socket_file:
    return "a socket";
  default:
    return "not a plain file";
  }
}

std::string mlir::pz::checkRegularFile(StringRef path) {
  sys::fs::file_status status;
  if (sys::fs::status(path, status, /*follow=*/true))
    return ""; // missing or unreadable: the open says why
  sys::fs::file_type type = status.type();
  if (type == sys::fs::file_type::regular_file)
    return "";
  return ("'" + path + "' is " + kindName(type) + ", not a regular file").str();
}

bool mlir::pz::checkResponseFiles(int argc, const char *const *argv) {
  for (int i = 1; i < argc; ++i) {
    StringRef arg = argv[i];
    if (!arg.starts_with("@") || arg.size() == 1)
      continue;
    std::string why = checkRegularFile(arg.drop_front());
    if (!why.empty()) {
      errs() << argv[0] << ": response file " << arg << ": " << why << "\n";
      return false;
    }
  }
  return true;
}
