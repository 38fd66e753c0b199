"""Exports python-frontend's GPT-2 loss model as a user who leaves
torch.onnx.export in its default eval mode would: torch 1.13 then merges
equal initializers (each layer's norm scales of ones, its zero biases) and
names the other parameters through Identity nodes.

Usage: torch_eval_export.py PYTHON_FRONTEND_DIR OUT.onnx
"""
import io
import sys

import torch

sys.path.insert(0, sys.argv[1])
from parallelize import models  # noqa: E402

model = models.GPT2Loss()
model.eval()
ids = torch.zeros((2, 8), dtype=torch.int64)
buf = io.BytesIO()
torch.onnx.export(model, (ids, ids), buf, opset_version=17, input_names=["input_ids", "labels"],
                  output_names=["loss"], training=torch.onnx.TrainingMode.EVAL)
with open(sys.argv[2], "wb") as f:
    f.write(buf.getvalue())
