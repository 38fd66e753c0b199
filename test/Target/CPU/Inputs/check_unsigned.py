"""Checks the results of emit-unsigned.mlir (the compiled program's or the
interpreter's, in DIR) against values written by hand, which numpy's
modular uint arithmetic confirms. Usage: check_unsigned.py DIR exe|interpreter

The compiled program writes each result in its own dtype (uint8, bool, ...);
the interpreter writes unsigned results as uint64, i32 and i1 as int64 and
floats as float64."""
import os
import sys

import numpy as np

out, mode = sys.argv[1], sys.argv[2]
a = np.array([200, 10, 255, 0], np.uint8)
b = np.array([100, 20, 2, 7], np.uint8)
c = np.array([65535, 300, 2, 0], np.uint16)
d = np.array([65535, 300, 40000, 9], np.uint16)
u = np.array([0, 5], np.uint64)

# name: (hand-written values, numpy's value or None, the program's dtype)
want = {
    "add": ([44, 30, 1, 7], a + b, np.uint8),
    "sub": ([100, 246, 253, 249], a - b, np.uint8),
    "mul": ([32, 200, 254, 0], a * b, np.uint8),
    "div": ([2, 0, 127, 0], a // b, np.uint8),
    "neg": ([56, 246, 1, 0], np.negative(a), np.uint8),
    "mul16": ([1, 24464, 14464, 0], c * d, np.uint16),
    "sum": (209, np.sum(a, dtype=np.uint8), np.uint8),
    "max": (255, np.max(a), np.uint8),
    "lt": ([False, True, False, True], a < b, np.bool_),
    "sub64": ([2**64 - 1, 2], u - np.array([1, 3], np.uint64), np.uint64),
    # ONNX Cast: integers wrap to the target width, floats truncate first.
    "w_i32": ([-1, 7], None, np.int32),
    "i_u8": ([255, 44], None, np.uint8),
    "f_u8": ([44, 255, 255, 3], None, np.uint8),
    "k_f32": ([200.0, 255.0], None, np.float32),
    # One fused loop: the ui8 sum wraps before the product.
    "fused": ([48, 88, 2, 49], (a + b) * b, np.uint8),
}
for name, (hand, ref, dtype) in want.items():
    got = np.load(os.path.join(out, name + ".npy"))
    hand = np.array(hand, dtype=dtype)
    if ref is not None:
        assert np.array_equal(np.asarray(ref).astype(dtype), hand), (name, ref, hand)
    if mode == "exe":
        expected_dtype = np.dtype(dtype)
    elif np.dtype(dtype).kind == "u":
        expected_dtype = np.dtype(np.uint64)
    elif np.dtype(dtype).kind in "ib":
        expected_dtype = np.dtype(np.int64)
    else:
        expected_dtype = np.dtype(np.float64)
    assert got.dtype == expected_dtype, (name, got.dtype, expected_dtype)
    assert got.shape == hand.shape, (name, got.shape, hand.shape)
    assert np.array_equal(got, hand.astype(expected_dtype)), (name, got, hand)
print(f"all {len(want)} results match")
