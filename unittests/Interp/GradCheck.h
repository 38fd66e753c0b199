//===- GradCheck.h - finite-difference checks of pz-autodiff --------------===//
//
// A case is a tiny float64 function: parameters and inputs, a body that
// computes `%out`, and the type of `%out`. The harness wraps it as
//
//   @forward(params..., inputs..., %w__ {pz.input}) -> loss
//   loss = reduce_sum(%out * %w__)      (%w__: fixed random weights)
//
// so that every element of the output matters, runs pz-autodiff, interprets
// @forward_backward for the analytic gradients and compares them with
// central differences of the interpreted @forward.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_UNITTESTS_INTERP_GRADCHECK_H
#define PZ_UNITTESTS_INTERP_GRADCHECK_H

#include "InterpTestUtils.h"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pztest {

/// One argument of a gradient-check case.
struct GradArg {
  enum Kind { Param, Input };
  /// How the values are chosen: standard normal, uniform in [0.5, 2) (for
  /// log, sqrt, pow and divisors), or given.
  enum Dist { Normal, Positive, Given };
  std::string name, type;
  Kind kind = Param;
  Dist dist = Normal;
  std::vector<double> values;
};

/// A parameter with standard normal values.
GradArg P(std::string name, std::string type);
/// A parameter with values in [0.5, 2).
GradArg PPos(std::string name, std::string type);
/// A data input (ids, labels, masks) with the given values.
GradArg In(std::string name, std::string type, std::vector<double> values);

struct GradCase {
  std::string name;
  std::vector<GradArg> args;
  /// pz ops that define `%out` from `%<arg name>`.
  std::string body;
  std::string outType;
  /// The training step (dropout).
  uint64_t step = 0;
};

/// The @forward module of a case.
std::string forwardSource(const GradCase &c);

/// Every case (one or more per op with a VJP).
const std::vector<GradCase> &gradCases();

/// The tolerance of every check:
///   |analytic - numeric| <= kGradTolerance * max(1, |numeric|),
/// with central differences of step kFiniteDifferenceStep in float64. Do
/// not widen it to make a check pass: find the cause.
constexpr double kGradTolerance = 1e-6;
constexpr double kFiniteDifferenceStep = 1e-6;

/// Runs the check of `c` in `fx`'s context; records test failures and
/// returns the largest scaled error max |a - n| / max(1, |n|) (or -1 when
/// the check could not run).
double checkGradients(InterpFixture &fx, const GradCase &c);

/// Runs pz-autodiff on `module`; records a failure and returns false when it
/// fails.
bool runAutodiff(mlir::MLIRContext &ctx, mlir::ModuleOp module,
                 std::string &diagnostics);

/// Deterministic pseudo-random numbers (the same on every platform).
class Rng {
public:
  explicit Rng(uint64_t seed) : state(seed * 0x9E3779B97F4A7C15ULL + 1) {}
  uint64_t next();
  /// Uniform in [0, 1).
  double uniform();
  /// Standard normal (Box-Muller).
  double normal();

private:
  uint64_t state;
};

} // namespace pztest

#endif // PZ_UNITTESTS_INTERP_GRADCHECK_H
