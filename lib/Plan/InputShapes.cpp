//===- InputShapes.cpp - parsing --input-shape NAME=DxDx... ---------------===//

#include "pz/Plan/InputShapes.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

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
      shapes[name.str()] = std::move(shape);
    }
  }
  return shapes;
}
