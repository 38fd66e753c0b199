//===- TargetInfo.h - what the lowering needs to know of a backend -*- C++ -*-===//
//
// The facts of a backend that decide the runtime-call level: how many bytes an
// element takes in its buffers, the alignment of arena buffers, and the
// scratch memory its kernels need. The conversion to pzrt and the memory plan
// read them from here rather than from the runtime's kernels.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_TARGET_TARGETINFO_H
#define PZ_TARGET_TARGETINFO_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace mlir::pz {

class TargetInfo {
public:
  /// The target of a backend name ("cpu", "cuda"), or none.
  static std::optional<TargetInfo> get(llvm::StringRef backend);

  llvm::StringRef name() const { return backendName; }
  /// Arena buffers start at multiples of this many bytes.
  int64_t arenaAlignment() const { return 64; }
  /// Bytes of one element in a buffer (i1 as one byte); 0 when the target
  /// cannot store the type.
  int64_t storageBytes(Type elementType) const;
  /// Scratch bytes the kernel of `op` needs beyond its results (0 for most
  /// ops); -1 when the size overflows.
  int64_t workspaceBytes(Operation *op) const;

private:
  explicit TargetInfo(llvm::StringRef name) : backendName(name) {}
  llvm::StringRef backendName;
};

} // namespace mlir::pz

#endif // PZ_TARGET_TARGETINFO_H
