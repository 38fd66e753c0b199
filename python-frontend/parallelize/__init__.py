"""Parallelize Python front end.

Sub-modules:

* :mod:`parallelize.models` - reference PyTorch models (MLP, GPT-2, Llama,
  BERT) with deterministic init and stable parameter names;
* :mod:`parallelize.export` - ``python3 -m parallelize.export``: ONNX export
  of those models with the settings the compiler expects;
* :mod:`parallelize.npeval` - a small numpy interpreter for the ONNX op subset
  the exports use (test oracle; onnx 1.12 ships no reference evaluator).

torch, onnx and numpy are imported lazily by the sub-modules that need them,
so ``import parallelize`` works with the standard library alone.
"""

__version__ = "0.1.0"
