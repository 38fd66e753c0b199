//===- Interpreter.h - reference interpreter for the pz dialect -*- C++ -*-===//
//
// Evaluates a `func.func` made of pz ops on host tensors, in float64. It is
// the reference the compiler's other layers are checked against: the
// finite-difference gradient checks of every VJP, and tests that compare a
// compiled program with the meaning of its IR.
//
// Numerics. Every element is a `double`:
//
// * f16, bf16, f32 and f64 values are all computed in double. The
//   interpreter does not simulate the rounding of narrower float types; it
//   gives the exact-as-possible value the op defines. The one exception is
//   `pz.cast` to a float type, whose meaning is "round to the destination
//   type" (round to nearest even): it rounds.
// * i32, i64, ui8, ui16, ui32, ui64 and i1 values are stored as doubles
//   (exact below 2^53, which covers ids, labels, counters and every value of
//   the narrower types). Every integer result wraps modulo 2^width into its
//   type's range when it is defined (ui8: 200 + 100 is 44, 0 - 1 is 255;
//   i32 two's complement), as numpy and ONNX do; a 64-bit value beyond 2^53
//   wraps as its nearest double. Integer `pz.div` truncates toward zero
//   (division by zero is an error); i1 is 0 or 1.
// * Dropout masks are bit-identical to the runtime's (pzrt_dropout_fwd):
//   Philox-4x32-10 keyed by the op's seed, counted by (step, element index),
//   element kept when its 24-bit uniform (a float) is >= float(rate).
//
// Shapes come from the argument tensors, so dynamic dims (`?`) work; every
// result is checked against the static dims of its IR type.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_INTERP_INTERPRETER_H
#define PZ_INTERP_INTERPRETER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributeInterfaces.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Types.h"
#include "mlir/Support/LLVM.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::pz::interp {

/// A dense row-major tensor on the host. Every element is a double,
/// whatever `elementType` (the IR element type) is; see the file comment.
struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<double> data;
  /// The IR element type. May be null in an argument passed to interpret(),
  /// which then takes the argument's declared element type.
  Type elementType;

  HostTensor() = default;
  HostTensor(std::vector<int64_t> shape, std::vector<double> data,
             Type elementType = {})
      : shape(std::move(shape)), data(std::move(data)),
        elementType(elementType) {}

  /// A zero-filled tensor.
  static HostTensor zeros(ArrayRef<int64_t> shape, Type elementType = {});

  int64_t getRank() const { return static_cast<int64_t>(shape.size()); }
  /// The product of the dims (1 for a scalar).
  int64_t getNumElements() const;
  /// True when the element type is an integer type (i1, i32, i64, ui8,
  /// ui16, ui32, ui64).
  bool isInteger() const;
};

/// The product of `shape` (1 for a scalar).
int64_t numElements(ArrayRef<int64_t> shape);

/// True when `v` is a value of the integer type `type`: an integer from
/// -2^(w-1) to 2^(w-1) - 1 (i32, i64), from 0 to 2^w - 1 (ui8 to ui64), or
/// 0 or 1 (i1). For 64-bit types the upper bound is the bound as a double
/// (2^63, 2^64), so that the largest value read from a file fits.
bool isValueOfType(double v, IntegerType type);

/// `v` (an integer, or a float truncated toward zero) wrapped modulo 2^w
/// into the range of `type` (two's complement for i32/i64); for i1 nonzero
/// is 1. NaN and infinities stay as they are.
double wrapToType(double v, IntegerType type);

/// Decodes a dense elements attribute (the value of a `pz.constant`).
/// Fails with `error` set for attributes without materialised values (such
/// as elided resources) or element types the pz dialect does not use.
FailureOr<HostTensor> fromElementsAttr(ElementsAttr attr, std::string &error);

/// Settings of one evaluation.
struct InterpOptions {
  /// The training step: the high half of the Philox counter of every
  /// `pz.dropout` (the runtime's `step` argument).
  uint64_t step = 0;
};

/// Evaluates `fn` (one block of pz ops ending in func.return) on `args`, one
/// per function argument, and returns its results. Each argument must have
/// the rank of its declared type and agree with its static dims; integer
/// and i1 arguments must hold values of their type (isValueOfType). Any error (an
/// op without a kernel, an index out of range, a shape that contradicts
/// the IR) is reported as a diagnostic at the location of the op or
/// function concerned, and the result is failure; it never aborts.
FailureOr<SmallVector<HostTensor>> interpret(func::FuncOp fn,
                                             ArrayRef<HostTensor> args,
                                             const InterpOptions &opts = {});

/// True when the interpreter has a kernel for the op named `opName` (for
/// example "pz.matmul").
bool hasKernel(StringRef opName);

/// The names of the ops the interpreter evaluates (func.return excluded),
/// sorted.
SmallVector<StringRef> supportedOps();

//===----------------------------------------------------------------------===//
// The dropout random stream (identical to the runtime's)
//===----------------------------------------------------------------------===//

/// One Philox-4x32-10 block (Salmon et al., SC'11).
void philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                   uint32_t out[4]);

/// The uniform in [0, 1) (24 random bits, a float) of element `index` of the
/// stream keyed by `seed` at training step `step`: word `index % 4` of the
/// block with counter {index/4 low, index/4 high, step low, step high} and
/// key {seed low, seed high}. Matches pzrt_rand_uniform.
float philoxUniform(uint64_t seed, uint64_t step, uint64_t index);

/// True when dropout with `rate` keeps element `index` (pzrt_dropout_fwd's
/// rule: uniform >= float(rate)).
bool dropoutKeeps(double rate, uint64_t seed, uint64_t step, uint64_t index);

} // namespace mlir::pz::interp

#endif // PZ_INTERP_INTERPRETER_H
