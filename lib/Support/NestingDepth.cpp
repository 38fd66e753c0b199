//===- NestingDepth.cpp - bound bracket nesting before parsing ------------===//

#include "pz/Support/NestingDepth.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <vector>

using namespace mlir::pz;
using llvm::StringRef;

size_t mlir::pz::findDeepMLIRNesting(StringRef text, unsigned maxDepth) {
  std::vector<char> open; // never more than maxDepth + 1 entries
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    switch (c) {
    case '"': // a string literal ends at its quote or at the end of the line
      for (++i; i < e && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      break;
    case '/':
      if (i + 1 < e && text[i + 1] == '/')
        while (i < e && text[i] != '\n')
          ++i;
      break;
    case '(':
    case '[':
    case '{':
    case '<':
      open.push_back(c);
      if (open.size() > maxDepth)
        return i;
      break;
    case '>':
      if (i > 0 && text[i - 1] == '-')
        break; // the arrow of a function type
      [[fallthrough]];
    case ')':
    case ']':
    case '}': {
      char want = c == ')' ? '(' : c == ']' ? '[' : c == '}' ? '{' : '<';
      if (!open.empty() && open.back() == want)
        open.pop_back();
      break;
    }
    default:
      break;
    }
  }
  return StringRef::npos;
}

bool mlir::pz::checkMLIRNesting(llvm::SourceMgr &sm, unsigned maxDepth) {
  const llvm::MemoryBuffer *buf = sm.getMemoryBuffer(sm.getMainFileID());
  StringRef text = buf->getBuffer();
  size_t at = findDeepMLIRNesting(text, maxDepth);
  if (at == StringRef::npos)
    return true;
  sm.PrintMessage(llvm::SMLoc::getFromPointer(text.data() + at),
                  llvm::SourceMgr::DK_Error,
                  llvm::formatv("brackets nested deeper than {0} levels; the "
                                "parser refuses such input",
                                maxDepth));
  return false;
}
