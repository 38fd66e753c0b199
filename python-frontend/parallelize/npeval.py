"""A small numpy interpreter for the ONNX ops the reference exports use.

onnx 1.12 (Debian 12) ships no reference evaluator and onnxruntime is not
installed, so this is the test oracle that checks an exported graph computes
what the PyTorch module computes.  It is deliberately simple: one function
per op, float32 arithmetic as the graph says, no shape inference.

    from parallelize.npeval import run
    outs = run(onnx.load("gpt2.onnx"), {"input_ids": ids})  # name -> array

Unsupported ops raise ``NotImplementedError`` naming the op.
"""

from __future__ import annotations

import math
from typing import Callable, Dict, List

import numpy as np

_OPS: Dict[str, Callable] = {}


def _op(*names):
    def deco(fn):
        for n in names:
            _OPS[n] = fn
        return fn
    return deco


def supported_ops() -> List[str]:
    return sorted(_OPS)


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _np_dtype(onnx_type: int):
    from onnx import mapping
    return mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type]


def _tensor(t) -> np.ndarray:
    from onnx import numpy_helper
    return numpy_helper.to_array(t)


# ---------------------------------------------------------------- constants
@_op("Constant")
def _constant(node, a, ins):
    if "value" in a:
        return [_tensor(a["value"])]
    if "value_float" in a:
        return [np.array(a["value_float"], np.float32)]
    if "value_floats" in a:
        return [np.array(a["value_floats"], np.float32)]
    if "value_int" in a:
        return [np.array(a["value_int"], np.int64)]
    if "value_ints" in a:
        return [np.array(a["value_ints"], np.int64)]
    raise NotImplementedError("Constant without value/value_float/value_int")


@_op("ConstantOfShape")
def _constant_of_shape(node, a, ins):
    v = _tensor(a["value"]) if "value" in a else np.zeros(1, np.float32)
    return [np.full(tuple(int(d) for d in ins[0]), v.reshape(-1)[0], v.dtype)]


@_op("Range")
def _range(node, a, ins):
    start, limit, delta = (x.item() for x in ins)
    return [np.arange(start, limit, delta).astype(ins[0].dtype)]


@_op("Identity")
def _identity(node, a, ins):
    return [ins[0]]


@_op("Dropout")
def _dropout(node, a, ins):
    ratio = float(ins[1]) if len(ins) > 1 and ins[1] is not None else 0.5
    training = bool(ins[2]) if len(ins) > 2 and ins[2] is not None else False
    if training and ratio > 0:
        raise NotImplementedError("Dropout with ratio > 0 in training mode")
    return [ins[0], np.ones(ins[0].shape, bool)]


# ------------------------------------------------------------------ shapes
@_op("Shape")
def _shape(node, a, ins):
    shape = np.array(ins[0].shape, np.int64)
    return [shape[a.get("start", 0):a.get("end", len(shape))]]


def _norm_axes(axes, rank):
    return sorted(int(x) + rank if x < 0 else int(x) for x in axes)


@_op("Unsqueeze")
def _unsqueeze(node, a, ins):
    x, axes = ins[0], ins[1]
    out = x
    for ax in _norm_axes(axes, x.ndim + len(axes)):
        out = np.expand_dims(out, ax)
    return [out]


@_op("Squeeze")
def _squeeze(node, a, ins):
    x = ins[0]
    if len(ins) > 1 and ins[1] is not None:
        return [np.squeeze(x, axis=tuple(_norm_axes(ins[1], x.ndim)))]
    return [np.squeeze(x)]


@_op("Concat")
def _concat(node, a, ins):
    return [np.concatenate(ins, axis=a["axis"])]


@_op("Reshape")
def _reshape(node, a, ins):
    x, shape = ins[0], [int(d) for d in ins[1]]
    if not a.get("allowzero", 0):
        shape = [x.shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return [x.reshape(shape)]


@_op("Transpose")
def _transpose(node, a, ins):
    return [np.transpose(ins[0], a.get("perm"))]


@_op("Gather")
def _gather(node, a, ins):
    return [np.take(ins[0], ins[1].astype(np.int64), axis=a.get("axis", 0))]


@_op("Slice")
def _slice(node, a, ins):
    x, starts, ends = ins[0], ins[1], ins[2]
    axes = ins[3] if len(ins) > 3 and ins[3] is not None else range(len(starts))
    steps = ins[4] if len(ins) > 4 and ins[4] is not None else [1] * len(starts)
    sl = [slice(None)] * x.ndim
    for s, e, ax, st in zip(starts, ends, axes, steps):
        sl[int(ax)] = slice(int(s), int(e), int(st))
    return [x[tuple(sl)]]


@_op("Split")
def _split(node, a, ins):
    x, axis = ins[0], a.get("axis", 0)
    if len(ins) > 1 and ins[1] is not None:
        sizes = [int(s) for s in ins[1]]
    else:
        n = len(node.output)
        sizes = [x.shape[axis] // n] * n
    idx = np.cumsum(sizes)[:-1]
    return list(np.split(x, idx, axis=axis))


@_op("Expand")
def _expand(node, a, ins):
    shape = np.broadcast_shapes(ins[0].shape, tuple(int(d) for d in ins[1]))
    return [np.broadcast_to(ins[0], shape).copy()]


@_op("Trilu")
def _trilu(node, a, ins):
    k = int(ins[1]) if len(ins) > 1 and ins[1] is not None else 0
    f = np.triu if a.get("upper", 1) else np.tril
    return [f(ins[0], k)]


@_op("Cast")
def _cast(node, a, ins):
    return [ins[0].astype(_np_dtype(a["to"]))]


# -------------------------------------------------------------- elementwise
def _binary(fn):
    def impl(node, a, ins):
        x, y = ins
        r = fn(x, y)
        return [np.asarray(r).astype(x.dtype, copy=False)]
    return impl


def _div(x, y):
    if np.issubdtype(x.dtype, np.integer):
        return np.trunc(x / y).astype(x.dtype)
    return x / y


_OPS["Add"] = _binary(np.add)
_OPS["Sub"] = _binary(np.subtract)
_OPS["Mul"] = _binary(np.multiply)
_OPS["Div"] = _binary(_div)
_OPS["Pow"] = _binary(np.power)


@_op("Equal")
def _equal(node, a, ins):
    return [np.equal(ins[0], ins[1])]


@_op("Greater")
def _greater(node, a, ins):
    return [np.greater(ins[0], ins[1])]


@_op("Less")
def _less(node, a, ins):
    return [np.less(ins[0], ins[1])]


@_op("Not")
def _not(node, a, ins):
    return [np.logical_not(ins[0])]


@_op("Where")
def _where(node, a, ins):
    return [np.where(ins[0], ins[1], ins[2])]


def _unary(fn):
    def impl(node, a, ins):
        x = ins[0]
        return [np.asarray(fn(x)).astype(x.dtype, copy=False)]
    return impl


_erf = np.vectorize(math.erf, otypes=[np.float64])
_OPS["Sqrt"] = _unary(np.sqrt)
_OPS["Reciprocal"] = _unary(np.reciprocal)
_OPS["Neg"] = _unary(np.negative)
_OPS["Tanh"] = _unary(np.tanh)
_OPS["Exp"] = _unary(np.exp)
_OPS["Log"] = _unary(np.log)
_OPS["Erf"] = _unary(_erf)
_OPS["Sigmoid"] = _unary(lambda x: 1.0 / (1.0 + np.exp(-x)))
_OPS["Relu"] = _unary(lambda x: np.maximum(x, 0))


# ------------------------------------------------------- linear algebra/nn
@_op("MatMul")
def _matmul(node, a, ins):
    return [np.matmul(ins[0], ins[1])]


@_op("Gemm")
def _gemm(node, a, ins):
    A, B = ins[0], ins[1]
    if a.get("transA", 0):
        A = A.T
    if a.get("transB", 0):
        B = B.T
    y = a.get("alpha", 1.0) * (A @ B)
    if len(ins) > 2 and ins[2] is not None:
        y = y + a.get("beta", 1.0) * ins[2]
    return [y.astype(ins[0].dtype)]


def _softmax_np(x, axis):
    m = np.max(x, axis=axis, keepdims=True)
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


@_op("Softmax")
def _softmax(node, a, ins):
    return [_softmax_np(ins[0], a.get("axis", -1)).astype(ins[0].dtype)]


@_op("ReduceMean")
def _reduce_mean(node, a, ins):
    axes = a.get("axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = [int(x) for x in ins[1]]
    keep = bool(a.get("keepdims", 1))
    ax = None if axes is None else tuple(axes)
    return [np.mean(ins[0], axis=ax, keepdims=keep).astype(ins[0].dtype)]


@_op("LayerNormalization")
def _layer_norm(node, a, ins):
    x, scale = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    axis = a.get("axis", -1)
    axis = axis + x.ndim if axis < 0 else axis
    axes = tuple(range(axis, x.ndim))
    xd = x.astype(np.float64)
    mean = xd.mean(axis=axes, keepdims=True)
    var = ((xd - mean) ** 2).mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(var + a.get("epsilon", 1e-5))
    y = (xd - mean) * inv * scale
    if bias is not None:
        y = y + bias
    return [y.astype(x.dtype), mean.astype(np.float32), inv.astype(np.float32)]


@_op("SoftmaxCrossEntropyLoss")
def _sce_loss(node, a, ins):
    scores, labels = ins[0], ins[1].astype(np.int64)
    weights = ins[2] if len(ins) > 2 and ins[2] is not None else None
    ignore = a.get("ignore_index")
    reduction = a.get("reduction", "mean")
    if isinstance(reduction, bytes):
        reduction = reduction.decode()
    logp = np.log(_softmax_np(scores.astype(np.float64), 1))
    lab = labels.copy()
    valid = np.ones(lab.shape, bool) if ignore is None else lab != ignore
    lab[~valid] = 0
    picked = np.take_along_axis(logp, np.expand_dims(lab, 1), axis=1)
    picked = np.squeeze(picked, 1)
    w = np.where(valid, 1.0, 0.0)
    if weights is not None:
        w = w * weights[lab]
    loss = -picked * w
    if reduction == "none":
        out = loss
    elif reduction == "sum":
        out = loss.sum()
    else:
        out = loss.sum() / w.sum()
    return [np.asarray(out, scores.dtype), logp.astype(scores.dtype)]


# ------------------------------------------------------------------ driver
def run(model, feeds: Dict[str, np.ndarray], outputs=None) -> Dict[str, np.ndarray]:
    """Evaluate ``model`` (an onnx ModelProto) on ``feeds``; returns the
    graph outputs (or the named ``outputs``) as numpy arrays."""
    g = model.graph
    env: Dict[str, np.ndarray] = {"": None}
    for init in g.initializer:
        env[init.name] = _tensor(init)
    for inp in g.input:
        if inp.name not in env:
            if inp.name not in feeds:
                raise KeyError(f"missing input {inp.name!r}")
            env[inp.name] = np.asarray(feeds[inp.name])
    for node in g.node:
        fn = _OPS.get(node.op_type)
        if fn is None or (node.domain not in ("", "ai.onnx")):
            raise NotImplementedError(f"npeval: op {node.domain}:{node.op_type}")
        ins = [env[i] if i else None for i in node.input]
        outs = fn(node, _attrs(node), ins)
        for name, val in zip(node.output, outs):
            if name:
                env[name] = val
    names = outputs or [o.name for o in g.output]
    return {n: env[n] for n in names}
