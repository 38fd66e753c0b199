"""Export the reference models to ONNX (opset 17) for Parallelize.

Usage::

    PYTHONPATH=python-frontend /usr/bin/python3 -m parallelize.export \\
        --out DIR [--models mlp,gpt2,llama,bert] [--size tiny|small|124m]

For each family F it writes ``DIR/F.onnx`` (output ``logits``) and
``DIR/F_loss.onnx`` (output ``loss``), and next to each ``.onnx`` file two
sidecars: ``<name>.params.json`` (ONNX initializer -> PyTorch parameter name,
shape, dtype) and ``<name>.inputs.json`` (input/output names, dtypes, the
concrete shapes used for the export and the dynamic axes).

Exporter settings, and why:

``do_constant_folding=False``
    With folding on, torch 1.13 folds the ``Transpose`` that ``nn.Linear``
    puts in front of ``MatMul`` into a new, pre-transposed initializer named
    ``onnx::MatMul_<n>`` and drops the original weight.  For a *training*
    compiler that is fatal: the parameter name (= checkpoint name) is lost,
    the gradient would be taken w.r.t. a transposed copy, and a tied
    embedding would be split into two tensors.  Without folding every
    parameter keeps its PyTorch name and appears exactly once; the
    importer's own constant folding takes care of the shape arithmetic.

``training=TrainingMode.TRAINING``
    In EVAL mode torch 1.13 de-duplicates initializers *by value*
    (``_jit_pass_onnx_deduplicate_initializers``): every LayerNorm/RMSNorm
    weight (all ones) and every zero bias would be merged into one
    initializer, connected through ``Identity`` nodes, silently tying
    parameters that must train independently.  In TRAINING mode it only
    merges tensors that share storage (true ties such as GPT-2's
    ``wte.weight``).  TRAINING mode also keeps ``Dropout`` nodes for
    dropout with p > 0.  The reference models do not call dropout at all
    when p == 0, and :func:`export_module` temporarily swaps any
    ``nn.Dropout(p=0)`` of a user module for ``nn.Identity``, so a Dropout
    node appears exactly when p > 0.

``keep_initializers_as_inputs=False``, ``export_params=True``
    Parameters are graph initializers, not graph inputs (IR version 8).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import io
import json
import os
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

from . import models as M

OPSET = 17
# Weights beyond this go to ONNX external data (a protobuf stops at 2 GB).
EXTERNAL_DATA_BYTES = 3 << 29
ALL_FAMILIES = ("mlp", "gpt2", "llama", "bert")
DTYPE_NAMES = {
    torch.float32: "float32", torch.float16: "float16",
    torch.bfloat16: "bfloat16", torch.float64: "float64",
    torch.int64: "int64", torch.int32: "int32", torch.bool: "bool",
}


# --------------------------------------------------------------------------
# Example inputs
# --------------------------------------------------------------------------

def default_shape(size: str) -> Tuple[int, int]:
    """(batch, seq) used for the export trace; all are dynamic axes anyway."""
    return {"tiny": (2, 16), "small": (8, 128)}.get(size, (1, 128))


def example_inputs(family: str, model: nn.Module, loss: bool, batch: int,
                   seq: int, seed: int = 1234) -> "collections.OrderedDict":
    """Deterministic example inputs, in the order of ``model.input_names``."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.config
    out: "collections.OrderedDict[str, torch.Tensor]" = collections.OrderedDict()
    if family == "mlp":
        out["x"] = torch.randn(batch, cfg.in_features, generator=g)
        if loss:
            out["labels"] = torch.randint(0, cfg.num_classes, (batch,),
                                          generator=g)
        return out
    if seq > cfg.positions:
        raise ValueError(f"seq {seq} exceeds positions {cfg.positions}")
    ids = torch.randint(0, cfg.vocab, (batch, seq), generator=g)
    out["input_ids"] = ids
    if family == "bert":
        mask = torch.ones(batch, seq, dtype=torch.long)
        if batch > 1 and seq > 2:
            mask[-1, seq - seq // 4:] = 0  # some padding on the last row
        out["attention_mask"] = mask
        tt = torch.zeros(batch, seq, dtype=torch.long)
        tt[:, seq // 2:] = 1
        out["token_type_ids"] = tt
    if loss:
        labels = torch.randint(0, cfg.vocab, (batch, seq), generator=g)
        labels[:, 0] = M.IGNORE_INDEX  # exercise ignore_index
        out["labels"] = labels
    assert tuple(out) == tuple(model.input_names), (tuple(out),
                                                    model.input_names)
    return out


def dynamic_axes_for(inputs: Dict[str, torch.Tensor], output_name: str,
                     output_rank: int,
                     dynamic_seq: bool = True) -> Dict[str, Dict[int, str]]:
    axes: Dict[str, Dict[int, str]] = {}
    for name, t in inputs.items():
        if t.dim() >= 1:
            axes[name] = {0: "batch"}
        if t.dim() >= 2 and dynamic_seq:
            axes[name][1] = "seq"
    if output_rank >= 1:
        axes[output_name] = {0: "batch"}
    if output_rank >= 3 and dynamic_seq:
        axes[output_name][1] = "seq"
    return axes


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

@contextlib.contextmanager
def _no_zero_dropout(model: nn.Module):
    """Temporarily replace nn.Dropout(p=0) submodules with nn.Identity."""
    swapped: List[Tuple[nn.Module, str, nn.Module]] = []
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.dropout._DropoutNd) and child.p == 0:
                swapped.append((parent, name, child))
                setattr(parent, name, nn.Identity())
    try:
        yield
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


def _dtype_name(t: torch.Tensor) -> str:
    return DTYPE_NAMES.get(t.dtype, str(t.dtype).replace("torch.", ""))


def _param_mapping(model: nn.Module, onnx_model) -> dict:
    """Map every ONNX initializer to the PyTorch parameter it holds."""
    from onnx import numpy_helper
    params = dict(model.named_parameters())  # shared params listed once
    buffers = dict(model.named_buffers())
    # Every name a parameter is reachable under (ties show up as aliases).
    aliases: Dict[str, List[str]] = collections.defaultdict(list)
    for mod_name, mod in model.named_modules():
        for pname, p in mod._parameters.items():
            if p is not None:
                aliases[id(p)].append(f"{mod_name}.{pname}" if mod_name else pname)
    entries = collections.OrderedDict()
    renamed = []
    used = set()
    for init in onnx_model.graph.initializer:
        arr = numpy_helper.to_array(init)
        entry = {"shape": list(arr.shape),
                 "dtype": arr.dtype.name}
        if init.name in params:
            torch_name, trainable = init.name, True
        elif init.name in buffers:
            torch_name, trainable = init.name, False
        else:
            # Renamed by the exporter: find the tensor by value, possibly
            # transposed (constant-folded Linear weight).
            torch_name, trainable, how = None, False, None
            for name, p in list(params.items()) + list(buffers.items()):
                v = p.detach().cpu().numpy()
                if v.shape == arr.shape and (v == arr).all():
                    torch_name, how = name, "identity"
                elif v.ndim == 2 and v.T.shape == arr.shape and (v.T == arr).all():
                    torch_name, how = name, "transpose"
                if torch_name:
                    trainable = name in params
                    break
            renamed.append({"onnx": init.name, "torch": torch_name,
                            "relation": how})
        entry["torch_name"] = torch_name
        entry["trainable"] = trainable
        if torch_name in params:
            entry["aliases"] = [a for a in aliases[id(params[torch_name])]
                                if a != torch_name]
        entries[init.name] = entry
        if torch_name:
            used.add(torch_name)
    missing = [n for n in params if n not in used]
    return {
        "initializers": entries,
        "renamed": renamed,
        "params_not_in_graph": missing,
        "num_parameters": int(sum(p.numel() for p in params.values())),
    }


def op_counts(onnx_model) -> "collections.Counter":
    return collections.Counter(n.op_type for n in onnx_model.graph.node)


def export_module(model: nn.Module, path: str,
                  inputs: "collections.OrderedDict", output_name: str,
                  metadata: Optional[dict] = None,
                  postprocess=None, dynamic_seq: bool = True,
                  training: bool = True,
                  external_data: Optional[bool] = None) -> dict:
    """Export ``model`` to ``path`` with Parallelize's settings and write the
    ``.params.json`` / ``.inputs.json`` sidecars.  ``postprocess(model,
    onnx_model)``, when given, edits the graph before it is written. The
    batch axis is dynamic, and the sequence axis unless ``dynamic_seq`` is
    false. ``training=False`` exports in the exporter's eval mode
    (``TrainingMode.EVAL``), as a user who leaves torch.onnx.export's
    default would: torch 1.13 then merges equal initializers, which the
    importer warns about (``--untie-initializers`` undoes the merge).
    ``external_data`` writes the weights to ``path + ".data"`` (ONNX
    external data, which the importer reads) instead of into the model;
    None does so when they exceed EXTERNAL_DATA_BYTES, since one protobuf
    cannot hold 2 GB. Returns a summary."""
    import onnx

    with torch.no_grad():
        sample = model(*inputs.values())
    axes = dynamic_axes_for(inputs, output_name, sample.dim(), dynamic_seq)
    if external_data is None:
        external_data = sum(p.numel() * p.element_size()
                            for p in model.parameters()) > EXTERNAL_DATA_BYTES
    tmp = tempfile.TemporaryDirectory() if external_data else None
    # Large models go through a file, where torch.onnx writes external data.
    buf = os.path.join(tmp.name, "model.onnx") if tmp else io.BytesIO()
    with _no_zero_dropout(model):
        torch.onnx.export(
            model, tuple(inputs.values()), buf,
            export_params=True,
            opset_version=OPSET,
            do_constant_folding=False,
            keep_initializers_as_inputs=False,
            training=(torch.onnx.TrainingMode.TRAINING if training
                      else torch.onnx.TrainingMode.EVAL),
            input_names=list(inputs),
            output_names=[output_name],
            dynamic_axes=axes,
        )
    onnx_model = onnx.load(buf) if tmp else onnx.load_from_string(buf.getvalue())
    if tmp:
        tmp.cleanup()
    if postprocess:
        postprocess(model, onnx_model)
    if metadata:
        for k, v in sorted(metadata.items()):
            prop = onnx_model.metadata_props.add()
            prop.key = k
            prop.value = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    base = path[:-len(".onnx")] if path.endswith(".onnx") else path
    # Before saving: writing external data moves the tensors' bytes out.
    mapping = _param_mapping(model, onnx_model)
    if external_data:
        data_file = os.path.basename(path) + ".data"
        if os.path.exists(os.path.join(os.path.dirname(path) or ".", data_file)):
            os.remove(os.path.join(os.path.dirname(path) or ".", data_file))
        onnx.save_model(onnx_model, path, save_as_external_data=True,
                        all_tensors_to_one_file=True, location=data_file, size_threshold=0)
        with open(path, "rb") as f:
            data = f.read()
    else:
        data = onnx_model.SerializeToString()
        with open(path, "wb") as f:
            f.write(data)
    mapping["model"] = os.path.basename(base)
    if metadata:
        mapping["metadata"] = metadata
    with open(base + ".params.json", "w") as f:
        json.dump(mapping, f, indent=1)
        f.write("\n")

    io_desc = {
        "model": os.path.basename(base),
        "opset": OPSET,
        "inputs": [
            {"name": n, "dtype": _dtype_name(t), "shape": list(t.shape),
             "dynamic_axes": {str(k): v for k, v in axes.get(n, {}).items()}}
            for n, t in inputs.items()],
        "outputs": [
            {"name": output_name, "dtype": _dtype_name(sample),
             "shape": list(sample.shape),
             "dynamic_axes": {str(k): v
                              for k, v in axes.get(output_name, {}).items()}}],
    }
    with open(base + ".inputs.json", "w") as f:
        json.dump(io_desc, f, indent=1)
        f.write("\n")

    return {"path": path, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "ops": op_counts(onnx_model),
            "renamed": mapping["renamed"]}


def export_family(family: str, out_dir: str, size: str = "tiny",
                  loss: bool = False, batch: Optional[int] = None,
                  seq: Optional[int] = None, seed: int = 0, **overrides) -> dict:
    """Exports one family; ``overrides`` replace constructor arguments
    (for example ``vocab=253``), as in ``models.build``."""
    model = M.build(family, loss=loss, size=size, seed=seed, **overrides)
    b, s = default_shape(size)
    inputs = example_inputs(family, model, loss, batch or b, seq or s)
    name = family + ("_loss" if loss else "")
    import dataclasses
    meta = {"parallelize.family": family,
            "parallelize.size": size,
            "parallelize.config": dataclasses.asdict(model.config)}
    return export_module(model, os.path.join(out_dir, name + ".onnx"), inputs,
                         "loss" if loss else "logits", meta)


def export_all(out_dir: str, families: Sequence[str] = ALL_FAMILIES,
               size: str = "tiny", batch: Optional[int] = None,
               seq: Optional[int] = None) -> List[dict]:
    os.makedirs(out_dir, exist_ok=True)
    results = []
    for fam in families:
        for loss in (False, True):
            results.append(export_family(fam, out_dir, size, loss, batch, seq))
    return results


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python3 -m parallelize.export",
        description="Export a model's training loss to ONNX for Parallelize: "
        "a MODULE:FACTORY, a Hugging Face model class (--hf) built from a "
        "configuration, or the reference models (--out DIR).",
        epilog="Examples: --hf GPT2LMHeadModel --config n_layer=2,n_embd=64,"
        "n_head=4,vocab_size=256 -o gpt2.onnx;  mypkg.models:make_model -o "
        "m.onnx;  --out build/models --models gpt2,llama")
    ap.add_argument("factory", nargs="?", default=None,
                    help="MODULE:FACTORY: factory() returns an nn.Module whose "
                    "forward gives the loss (a scalar, an output with 'loss', "
                    "or a tuple with the loss first), or (module, inputs)")
    ap.add_argument("--hf", metavar="CLASS", default=None,
                    help="a transformers model class, e.g. GPT2LMHeadModel, "
                    "built from its configuration class with random weights")
    ap.add_argument("--config", default="",
                    help="KEY=VALUE,... for the --hf configuration class")
    ap.add_argument("-o", "--output", default=None,
                    help="the .onnx file to write (--hf or MODULE:FACTORY)")
    ap.add_argument("--inputs", default=None,
                    help="the model's inputs, in order (default: input_ids,"
                    "labels, those of them the forward takes)")
    ap.add_argument("--dynamic-seq", action="store_true",
                    help="make the sequence axis dynamic too (--hf and "
                    "MODULE:FACTORY; the trace's --seq is fixed otherwise)")
    ap.add_argument("--seed", type=int, default=0,
                    help="torch.manual_seed before building an --hf model")
    ap.add_argument("--out", default=None,
                    help="output directory for the reference models")
    ap.add_argument("--models", default=",".join(ALL_FAMILIES),
                    help="comma-separated subset of " + ",".join(ALL_FAMILIES))
    ap.add_argument("--size", default="tiny", choices=M.SIZES)
    ap.add_argument("--batch", type=int, default=None,
                    help="batch size of the export trace (dynamic anyway)")
    ap.add_argument("--seq", type=int, default=None,
                    help="sequence length of the export trace (dynamic anyway)")
    ap.add_argument("--print-ops", action="store_true",
                    help="print the ONNX op types used by each graph")
    ap.add_argument("-q", "--quiet", action="store_true")
    args = ap.parse_args(argv)

    import warnings
    warnings.filterwarnings("ignore")  # torch 1.13 exporter is chatty
    torch.set_num_threads(min(2, torch.get_num_threads()))
    t0 = time.time()
    try:
        if args.hf or args.factory:
            if args.hf and args.factory:
                ap.error("give either --hf or MODULE:FACTORY, not both")
            if not args.output:
                ap.error("-o/--output is required with --hf or MODULE:FACTORY")
            from . import userexport as U
            names = ([n.strip() for n in args.inputs.split(",") if n.strip()]
                     if args.inputs else None)
            results = [U.export_user(
                args.output, hf=args.hf, config=U.parse_config(args.config),
                factory=args.factory, input_names=names,
                batch=args.batch or 2, seq=args.seq or 16, seed=args.seed,
                dynamic_seq=args.dynamic_seq)]
        else:
            if not args.out:
                ap.error("give MODULE:FACTORY, --hf CLASS or --out DIR")
            fams = [f.strip() for f in args.models.split(",") if f.strip()]
            bad = [f for f in fams if f not in ALL_FAMILIES]
            if bad:
                ap.error(f"unknown model(s): {', '.join(bad)}")
            results = export_all(args.out, fams, args.size, args.batch,
                                 args.seq)
    except (ValueError, ImportError, AttributeError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    for r in results:
        if not args.quiet:
            print(f"{r['path']}  {r['bytes']} bytes  sha256 {r['sha256'][:16]}")
        if args.print_ops:
            ops = ", ".join(f"{k}:{v}" for k, v in sorted(r["ops"].items()))
            print(f"  ops: {ops}")
        for w in r.get("warnings", []):
            print(f"  warning: {w}", file=sys.stderr)
        for rn in r["renamed"]:
            print(f"  warning: initializer {rn['onnx']} renamed from "
                  f"{rn['torch']} ({rn['relation']})", file=sys.stderr)
    if not args.quiet:
        print(f"exported {len(results)} graphs in {time.time() - t0:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
