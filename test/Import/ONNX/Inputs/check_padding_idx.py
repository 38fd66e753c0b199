"""Checks padding-idx.test: the gradient that pz-interpret computed for the
embedding table `wte` of onnx_gen.py's padding_idx model against PyTorch's
nn.functional.embedding(padding_idx=1) in float64 (relative 1e-12: the
interpreter computes in float64 from the same float32 values), and that row
1 is exactly zero although token 1 is read twice.

Usage: check_padding_idx.py MODEL.onnx IDS.npy RESULT_DIR"""
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

model, ids_path, res = sys.argv[1:]
m = onnx.load(model)
inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
          for n in m.graph.node if n.op_type == "Constant"}
ids = torch.from_numpy(np.load(ids_path))
assert (ids == 1).sum() == 2, "the test reads the pad token twice"
wte = torch.tensor(inits["wte"], dtype=torch.float64, requires_grad=True)
other = torch.tensor(inits["other"], dtype=torch.float64)
c = torch.tensor(consts["c"], dtype=torch.float64)
e = torch.nn.functional.embedding(ids, wte, padding_idx=1)
((e * c) @ other).sum().backward()
got = np.load(f"{res}/wte.npy")
want = wte.grad.numpy()
assert np.all(got[1] == 0), f"row 1 (padding_idx) got {got[1]}"
assert np.abs(want[0]).max() > 0 and np.abs(want[3]).max() > 0
np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
print("padding_idx gradient matches PyTorch")
