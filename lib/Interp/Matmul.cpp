//===- Matmul.cpp - batched matmul with transposes and batch broadcasting -===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

static LogicalResult evalMatmul(Operation *op, Env &env) {
  auto mm = llvm::cast<MatmulOp>(op);
  const HostTensor &a = env.get(mm.getLhs());
  const HostTensor &b = env.get(mm.getRhs());
  if (a.getRank() < 2 || b.getRank() < 2)
    return op->emitError() << "interpreter: matmul operands need rank >= 2";
  bool ta = mm.getTransposeLhs(), tb = mm.getTransposeRhs();
  int64_t ra = a.getRank(), rb = b.getRank();
  // Stored matrix dims: a is a0 x a1, b is b0 x b1.
  int64_t a0 = a.shape[ra - 2], a1 = a.shape[ra - 1];
  int64_t b0 = b.shape[rb - 2], b1 = b.shape[rb - 1];
  int64_t m = ta ? a1 : a0, k = ta ? a0 : a1;
  int64_t kb = tb ? b1 : b0, n = tb ? b0 : b1;
  if (k != kb)
    return op->emitError() << "interpreter: contraction dims differ: "
                           << shapeStr(a.shape) << (ta ? " (transposed)" : "")
                           << " and " << shapeStr(b.shape)
                           << (tb ? " (transposed)" : "");
  ArrayRef<int64_t> batchA = ArrayRef<int64_t>(a.shape).drop_back(2);
  ArrayRef<int64_t> batchB = ArrayRef<int64_t>(b.shape).drop_back(2);
  auto batch = broadcastShapes(batchA, batchB);
  if (failed(batch))
    return op->emitError() << "interpreter: batch dims of " << shapeStr(a.shape)
                           << " and " << shapeStr(b.shape)
                           << " do not broadcast";
  std::vector<int64_t> oa = broadcastOffsets(batchA, *batch);
  std::vector<int64_t> ob = broadcastOffsets(batchB, *batch);
  std::vector<int64_t> shape = *batch;
  shape.push_back(m);
  shape.push_back(n);
  std::vector<double> out(numElements(shape), 0.0);
  for (size_t bi = 0; bi < oa.size(); ++bi) {
    const double *pa = a.data.data() + oa[bi] * a0 * a1;
    const double *pb = b.data.data() + ob[bi] * b0 * b1;
    double *pc = out.data() + bi * m * n;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < k; ++p) {
          double av = ta ? pa[p * a1 + i] : pa[i * a1 + p];
          double bv = tb ? pb[j * b1 + p] : pb[p * b1 + j];
          sum += av * bv;
        }
        pc[i * n + j] = sum;
      }
    }
  }
  return env.define(mm.getResult(), std::move(shape), std::move(out));
}

void mlir::pz::interp::detail::registerMatmulKernels(KernelTable &t) {
  add<MatmulOp>(t, evalMatmul);
}
