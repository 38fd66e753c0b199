//===- InputShapes.cpp - parsing --input-shape NAME=DxDx... ---------------===//

#include "pz/Plan/InputShapes.h"
#include "pz/Support/Limits.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir::pz;
using llvm::StringRef;

llvm::Expected<InputShapes>
mlir::pz::parseInputShapes(llvm::ArrayRef<std::string> specs) {
  InputShapes shapes;
  for (const std::string &spec : specs) {
    llvm::SmallVector<StringRef> entries;
    StringRef(spec).split(entries, ',', -1, /*KeepEmpty=*/false);
    for (StringRef entry : entries) {
      auto [name, dims] = entry.trim().split('=');
      llvm::SmallVector<StringRef> parts;
      dims.split(parts, 'x');
      std::vector<int64_t> shape;
      bool ok = !name.empty() && !dims.empty();
      for (StringRef p : parts) {
        int64_t d;
        if (p.getAsInteger(10, d) || d < 1)
          ok = false;
        shape.push_back(d);
      }
      if (!ok)
        return llvm::createStringError(
            "input shape '" + entry.str() +
            "' is not NAME=DxDx... with positive dims");
      if (!boundedElementCount(shape))
        return llvm::createStringError(llvm::formatv(
            "input shape '{0}' has more than {1} (2^48) elements; a tensor "
            "holds at most that many",
            entry.trim(), kMaxTensorElements));
      if (!shapes.emplace(name.str(), std::move(shape)).second)
        return llvm::createStringError("input '" + name.str() +
                                       "' is given two shapes");
    }
  }
  return shapes;
}
