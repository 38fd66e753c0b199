//===- Limits.h - the size bounds every entry point enforces ---*- C++ -*-===//
//
// One place for the bounds on tensor sizes and nesting depth (the plan's
// bounds live in Plan.h with the plan). Sizes are computed with
// llvm::checkedMul/checkedAdd so that a hostile shape is an error instead of a
// wrapped product. The bounds keep every derived byte count far inside
// int64_t: a tensor holds at most 2^48 elements of at most 8 bytes (2^51
// bytes), so sums of thousands of tensors, and the products the runtime forms
// with the plan's bounded grad_accum and world size, still fit.
//
// Header only and free of MLIR, so that the protobuf half of the ONNX import
// can use it too. See docs/design/0007-compiler-hardening.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_SUPPORT_LIMITS_H
#define PZ_SUPPORT_LIMITS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <cstdint>
#include <limits>
#include <optional>

namespace mlir::pz {

/// The most elements one tensor may have (2^48). Zero-sized dims do not
/// lift the bound from the others: the product of max(dim, 1) over the dims
/// must stay within it, so that any product of a subset of dims fits too.
inline constexpr int64_t kMaxTensorElements = int64_t(1) << 48;

/// The most bytes one tensor may take (2^48 elements of 8 bytes).
inline constexpr int64_t kMaxTensorBytes = kMaxTensorElements * 8;

/// The most bytes a total (all parameters, an arena, the predicted peak)
/// may reach: 2^60, far beyond any machine and far inside int64_t.
inline constexpr int64_t kMaxTotalBytes = int64_t(1) << 60;

/// The deepest nesting of brackets the text parsers accept (.mlir, plan.yaml).
inline constexpr unsigned kMaxNestingDepth = 256;

/// The element count of a shape whose dims are >= 0 (ShapedType's dynamic
/// marker and other negative values are skipped), or nullopt when the product
/// of max(dim, 1) exceeds kMaxTensorElements.
inline std::optional<int64_t> boundedElementCount(llvm::ArrayRef<int64_t> shape) {
  int64_t bound = 1, count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      continue;
    std::optional<int64_t> b = llvm::checkedMul<int64_t>(bound, d ? d : 1);
    if (!b || *b > kMaxTensorElements)
      return std::nullopt;
    bound = *b;
    count *= d; // <= bound: cannot overflow
  }
  return count;
}

/// count x elementBytes, or nullopt beyond kMaxTensorBytes.
inline std::optional<int64_t> boundedBytes(int64_t count, int64_t elementBytes) {
  std::optional<int64_t> b = llvm::checkedMul<int64_t>(count, elementBytes);
  if (!b || *b < 0 || *b > kMaxTensorBytes)
    return std::nullopt;
  return b;
}

/// a + b for byte totals, or nullopt beyond kMaxTotalBytes.
inline std::optional<int64_t> boundedTotal(int64_t a, int64_t b) {
  std::optional<int64_t> s = llvm::checkedAdd<int64_t>(a, b);
  if (!s || *s < 0 || *s > kMaxTotalBytes)
    return std::nullopt;
  return s;
}

/// a x b for byte totals, or nullopt beyond kMaxTotalBytes.
inline std::optional<int64_t> boundedTotalProduct(int64_t a, int64_t b) {
  std::optional<int64_t> p = llvm::checkedMul<int64_t>(a, b);
  if (!p || *p < 0 || *p > kMaxTotalBytes)
    return std::nullopt;
  return p;
}

} // namespace mlir::pz

#endif // PZ_SUPPORT_LIMITS_H
