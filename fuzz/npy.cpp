//===- npy.cpp - libFuzzer target: the runtime's .npy reader --------------===//
//
// Input: the bytes of a .npy file (train --data-npy, run --input). The
// reader must accept it or fail with a message; an accepted array's rows
// must lie inside the file, which reading the first, last and a wrapped row
// checks (the fuzz build reads files into exact-size heap buffers, so ASan
// sees any read past the end; see runtime/src/io/fsutil.cpp).
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "pzrt/data.h"
#include "pzrt/error.h"
#include "pzrt/types.h"

#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const std::string path = pzfuzz::tempDir() + "/input.npy";
  pzfuzz::writeFile(path, {reinterpret_cast<const char *>(data), size});
  pzrt_clear_error();
  pzrt_npy *a = pzrt_npy_open(path.c_str());
  if (!a) {
    if (!*pzrt_last_error())
      pzfuzz::invariant("pzrt_npy_open failed without a message");
    return 0;
  }
  int ndim = pzrt_npy_ndim(a);
  const int64_t *shape = pzrt_npy_shape(a);
  size_t elem = pzrt_dtype_size(pzrt_npy_dtype(a));
  int64_t rowElems = pzrt_npy_row_elems(a);
  if (ndim < 0 || elem == 0 || rowElems < 0)
    pzfuzz::invariant("accepted array with a bad ndim, dtype or row size");
  if (ndim > 0 && shape[0] > 0) {
    // The rows fit in the file, so one row is at most `size` bytes.
    size_t rowBytes = static_cast<size_t>(rowElems) * elem;
    if (rowBytes > size)
      pzfuzz::invariant("a row is larger than the file");
    std::vector<unsigned char> out(3 * rowBytes + 1);
    // Rows shape[0]-1, 0 (wrapped) and 1 (wrapped when shape[0] == 1).
    if (pzrt_npy_rows(a, shape[0] - 1, 3, out.data()))
      pzfuzz::invariant("pzrt_npy_rows failed on an accepted array", pzrt_last_error());
  } else if (pzrt_npy_rows(a, 0, 1, nullptr) == 0) {
    pzfuzz::invariant("pzrt_npy_rows read rows of an array without rows");
  }
  pzrt_npy_close(a);
  return 0;
}
