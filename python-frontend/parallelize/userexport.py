"""Export a user's model (``module:factory``) or a Hugging Face model class
built from a configuration as the loss graph Parallelize compiles.

The settings are :func:`parallelize.export.export_module`'s (opset 17,
training mode, no exporter constant folding, parameters as initializers);
this module adds what a model written for PyTorch rather than for this
compiler needs:

* the graph's one output is the model's loss, named ``loss``, whatever the
  model returns: a scalar tensor, a mapping or ``ModelOutput`` with a
  ``loss`` entry, or a tuple whose first element is the loss (Hugging Face's
  ``return_dict=False`` order when labels are given);
* the inputs are named after the forward's arguments (``input_ids``,
  ``attention_mask``, ``labels``, ...), with a dynamic batch axis and, for
  token inputs, a dynamic sequence axis;
* the parameters keep their PyTorch names (the model's own ``forward`` is
  replaced for the export, so no wrapper prefix is added);
* a float buffer that the exporter still writes as an initializer (a
  persistent rotary table, say) becomes a ``Constant`` node, because the
  importer trains every float initializer read as data;
* for a Hugging Face model, ``use_cache`` is turned off (a training graph
  has no key/value cache);
* each ``nn.Embedding(padding_idx=p)`` is recorded in the model's metadata
  under ``parallelize.padding_idx`` (a JSON object, table -> row), so that
  the compiled program gives row ``p`` no gradient from the lookup, as
  PyTorch does.

The Hugging Face path builds the model from its configuration class with
random weights (``torch.manual_seed(seed)``); nothing is downloaded.
"""

from __future__ import annotations

import ast
import collections
import importlib
import inspect
import os
import types
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

IGNORE_INDEX = -100
TOKEN_INPUTS = ("input_ids", "labels", "attention_mask", "token_type_ids",
                "position_ids")


def parse_config(text: str) -> Dict[str, object]:
    """``n_layer=2,n_embd=64,use_cache=False`` -> a dict. Values are Python
    literals (ints, floats, True/False/None, quoted strings); anything else
    is taken as a string."""
    out: Dict[str, object] = {}
    for item in filter(None, (s.strip() for s in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--config item {item!r} is not KEY=VALUE")
        try:
            out[key.strip()] = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            out[key.strip()] = value.strip()
    return out


def build_hf(class_name: str, config: Dict[str, object],
             seed: int = 0) -> nn.Module:
    """``transformers.<class_name>`` built from its configuration class with
    ``config``, random weights drawn after ``torch.manual_seed(seed)``."""
    try:
        import transformers
    except ImportError as e:
        raise ValueError("--hf needs the transformers package "
                         "(scripts/install-deps.sh installs it)") from e
    cls = getattr(transformers, class_name, None)
    if cls is None or not hasattr(cls, "config_class"):
        raise ValueError(f"transformers has no model class {class_name!r}")
    cfg = cls.config_class(**config)
    if hasattr(cfg, "use_cache"):
        cfg.use_cache = False
    torch.manual_seed(seed)
    model = cls(cfg)
    model.train()
    return model


def load_factory(spec: str):
    """``pkg.module:factory`` -> what ``factory()`` returns: a module, or a
    ``(module, inputs)`` pair with ``inputs`` a mapping name -> tensor."""
    mod_name, sep, attr = spec.partition(":")
    if not sep or not mod_name or not attr:
        raise ValueError(f"{spec!r} is not MODULE:FACTORY")
    fn = importlib.import_module(mod_name)
    for part in attr.split("."):
        fn = getattr(fn, part)
    got = fn()
    if isinstance(got, tuple):
        model, inputs = got
        return model, collections.OrderedDict(inputs)
    return got, None


def forward_names(model: nn.Module) -> List[str]:
    return list(inspect.signature(model.forward).parameters)


def vocab_size(model: nn.Module) -> Optional[int]:
    cfg = getattr(model, "config", None)
    for key in ("vocab_size", "vocab"):
        if cfg is not None and isinstance(getattr(cfg, key, None), int):
            return getattr(cfg, key)
    return None


def masked_lm(model: nn.Module) -> bool:
    return "MaskedLM" in type(model).__name__


def example_inputs(model: nn.Module, names: Sequence[str], batch: int,
                   seq: int, seed: int = 1234) -> "collections.OrderedDict":
    """Deterministic example inputs for the token inputs ``names``: ids and
    labels below the vocabulary, a mask of ones with padding at the end of
    the last row, token types 0 then 1. Causal-LM labels are the ids' kind
    (the model shifts them); masked-LM labels are ``IGNORE_INDEX`` except at
    about one position in six."""
    vocab = vocab_size(model)
    if vocab is None:
        raise ValueError("cannot make token inputs: the model has no "
                         "config.vocab_size; return (module, inputs) from "
                         "the factory instead")
    g = torch.Generator().manual_seed(seed)
    out: "collections.OrderedDict[str, torch.Tensor]" = collections.OrderedDict()
    for name in names:
        if name == "input_ids":
            out[name] = torch.randint(0, vocab, (batch, seq), generator=g)
        elif name == "labels":
            labels = torch.randint(0, vocab, (batch, seq), generator=g)
            if masked_lm(model):
                keep = torch.rand(batch, seq, generator=g) < 1 / 6
                keep[:, 0] = True
                labels[~keep] = IGNORE_INDEX
            out[name] = labels
        elif name == "attention_mask":
            mask = torch.ones(batch, seq, dtype=torch.long)
            if batch > 1 and seq > 2:
                mask[-1, seq - seq // 4:] = 0
            out[name] = mask
        elif name == "token_type_ids":
            tt = torch.zeros(batch, seq, dtype=torch.long)
            tt[:, seq // 2:] = 1
            out[name] = tt
        elif name == "position_ids":
            out[name] = torch.arange(seq).expand(batch, seq).contiguous()
        else:
            raise ValueError(f"no example value for input {name!r} (token "
                             f"inputs: {', '.join(TOKEN_INPUTS)})")
    return out


def _loss_of(result):
    if isinstance(result, torch.Tensor):
        loss = result
    elif isinstance(result, dict) or hasattr(result, "keys"):
        if "loss" not in result.keys() or result["loss"] is None:
            raise ValueError("the model's output has no 'loss' (give it "
                             "labels)")
        loss = result["loss"]
    elif isinstance(result, (tuple, list)) and result:
        loss = result[0]
    else:
        raise ValueError(f"cannot find the loss in a {type(result).__name__}")
    if not isinstance(loss, torch.Tensor) or loss.dim() != 0:
        raise ValueError("the model's loss is not a scalar tensor")
    return loss


class _LossForward:
    """Replaces ``model.forward`` by one that takes the inputs positionally
    (in ``names`` order), passes them by name and returns the loss alone."""

    def __init__(self, model: nn.Module, names: Sequence[str]):
        self.model, self.names = model, list(names)
        self.orig = model.forward

    def __enter__(self):
        orig, names = self.orig, self.names

        def forward(_self, *args):
            return _loss_of(orig(**dict(zip(names, args))))
        self.model.forward = types.MethodType(forward, self.model)
        return self.model

    def __exit__(self, *exc):
        del self.model.forward  # the class's forward again


def buffers_to_constants(model: nn.Module, onnx_model) -> List[str]:
    """Turns every float initializer that holds a buffer (not a parameter)
    into a ``Constant`` node; returns their names."""
    from onnx import helper
    params = {n for n, _ in model.named_parameters()}
    buffers = {n for n, b in model.named_buffers() if b.is_floating_point()}
    moved = []
    keep = []
    for init in onnx_model.graph.initializer:
        if init.name in buffers and init.name not in params:
            node = helper.make_node("Constant", [], [init.name],
                                    name=f"/buffer/{init.name}", value=init)
            onnx_model.graph.node.insert(0, node)
            moved.append(init.name)
        else:
            keep.append(init)
    if moved:
        del onnx_model.graph.initializer[:]
        onnx_model.graph.initializer.extend(keep)
    return moved


PADDING_IDX_KEY = "parallelize.padding_idx"


def padding_idx_tables(model: nn.Module) -> Dict[str, int]:
    """The parameter name of every ``nn.Embedding`` table with a
    ``padding_idx`` -> that row (a negative ``padding_idx`` counted from the
    end, as PyTorch stores it). A table shared by several modules is named
    as ``named_parameters`` names it (the exporter's initializer name)."""
    names = {}
    for name, p in model.named_parameters():
        names.setdefault(id(p), name)
    out: Dict[str, int] = {}
    for mod in model.modules():
        if isinstance(mod, nn.Embedding) and mod.padding_idx is not None:
            name = names.get(id(mod.weight))
            if name is not None:
                out[name] = int(mod.padding_idx) % mod.num_embeddings
    return out


def record_padding_idx(model: nn.Module, onnx_model,
                       metadata: dict) -> List[str]:
    """Adds the ``parallelize.padding_idx`` metadata for the embedding
    tables with a ``padding_idx`` that the graph holds as initializers: a
    JSON object, table name -> row, ``{"bert.embeddings.word_embeddings.
    weight": 0}``. The importer puts the row on the lookup (``pz.embedding
    {padding_idx}``), whose gradient then skips the tokens with that id, as
    PyTorch's does. Returns a warning for each table the graph does not
    hold under its name (it would train the row)."""
    import json
    tables = padding_idx_tables(model)
    inits = {t.name for t in onnx_model.graph.initializer}
    kept = {n: i for n, i in tables.items() if n in inits}
    if kept:
        metadata[PADDING_IDX_KEY] = json.dumps(kept, sort_keys=True)
    return [f"{n}: nn.Embedding(padding_idx={i}) gets no gradient in row {i} "
            f"from PyTorch's lookup, but the graph holds no initializer "
            f"named {n!r} to record it on; the compiled program trains that "
            f"row wherever token {i} is an input"
            for n, i in sorted(tables.items()) if n not in kept]


def export_loss(model: nn.Module, path: str,
                inputs: "collections.OrderedDict",
                metadata: Optional[dict] = None,
                dynamic_seq: bool = False, training: bool = True) -> dict:
    """Exports the loss of ``model`` on ``inputs`` to ``path`` (with the
    sidecars of :func:`parallelize.export.export_module`). The batch axis is
    dynamic; the sequence axis only with ``dynamic_seq``: torch 1.13 writes
    data-dependent control flow (``If`` around a squeeze, ``Loop`` for
    ``repeat_interleave``) for shapes it does not know. Each embedding's
    ``padding_idx`` is recorded in the metadata (:func:`record_padding_idx`).
    ``training=False`` exports the model in eval mode, with the exporter's
    ``TrainingMode.EVAL`` (its equal initializers merged: see
    :func:`parallelize.export.export_module`)."""
    from . import export as E
    model.train(training)
    metadata = dict(metadata or {})
    warnings: List[str] = []

    def postprocess(m, onnx_model):
        buffers_to_constants(m, onnx_model)
        warnings.extend(record_padding_idx(m, onnx_model, metadata))

    with _LossForward(model, inputs.keys()):
        summary = E.export_module(model, path, inputs, "loss", metadata,
                                  postprocess=postprocess,
                                  dynamic_seq=dynamic_seq, training=training)
    summary["warnings"] = warnings
    return summary


def export_user(path: str, hf: Optional[str] = None,
                config: Optional[Dict[str, object]] = None,
                factory: Optional[str] = None,
                input_names: Optional[Sequence[str]] = None,
                batch: int = 2, seq: int = 16, seed: int = 0,
                dynamic_seq: bool = False, training: bool = True) -> dict:
    """The command line's user export: a Hugging Face class with ``config``
    or a ``module:factory``; ``training=False`` exports in eval mode
    (:func:`export_loss`)."""
    import json
    inputs = None
    if hf:
        model = build_hf(hf, config or {}, seed)
        meta = {"parallelize.hf_class": hf,
                "parallelize.hf_config": json.dumps(config or {},
                                                    sort_keys=True),
                "parallelize.seed": str(seed)}
    else:
        model, inputs = load_factory(factory)
        meta = {"parallelize.factory": factory}
    if inputs is None:
        if input_names is None:
            sig = forward_names(model)
            input_names = [n for n in ("input_ids", "labels") if n in sig]
        inputs = example_inputs(model, input_names, batch, seq)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return export_loss(model, path, inputs, meta, dynamic_seq, training)
