#!/usr/bin/env python3
"""Builds the small ONNX models of the importer's lit tests.

Usage: onnx_gen.py CASE OUT.onnx

Each CASE is a function below that returns a ModelProto (or writes its own
files, for the external-data cases). The models are made in the test, not
committed, so that hostile inputs stay readable as code.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.external_data_helper import set_external_data

F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL


def model(nodes, inputs, outputs, inits=(), opset=17, domains=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs,
                              initializer=list(inits))
    ops = [helper.make_opsetid("", opset)]
    ops += [helper.make_opsetid(d, 1) for d in domains]
    m = helper.make_model(graph, opset_imports=ops)
    m.ir_version = 8
    return m


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, array):
    return helper.make_node("Constant", [], [name], name=name,
                            value=numpy_helper.from_array(np.asarray(array),
                                                          name))


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

def unsupported():
    """Four unsupported ops of three types, one in another domain."""
    n = [helper.make_node("Conv", ["x", "w"], ["c1"], name="conv1"),
         helper.make_node("Conv", ["c1", "w"], ["c2"], name="conv2"),
         helper.make_node("MaxPool", ["c2"], ["p"], name="pool",
                          kernel_shape=[2, 2]),
         helper.make_node("FusedGemm", ["p", "p"], ["y"], name="fg",
                          domain="com.microsoft"),
         helper.make_node("Relu", ["y"], ["z"], name="relu")]
    return model(n, [vi("x", F, [1, 1, 8, 8])], [vi("z", F, None)],
                 [init("w", np.ones((1, 1, 3, 3), np.float32))],
                 domains=["com.microsoft"])


def opset12():
    n = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(n, [vi("x", F, [2])], [vi("y", F, [2])], opset=12)


def opset22():
    n = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(n, [vi("x", F, [2])], [vi("y", F, [2])], opset=22)


def missing_input():
    n = [helper.make_node("Relu", ["x"], ["a"], name="first"),
         helper.make_node("Add", ["a", "nowhere"], ["y"], name="the_add")]
    return model(n, [vi("x", F, [2])], [vi("y", F, [2])])


def no_outputs():
    n = [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    return model(n, [vi("x", F, [2])], [])


def runtime_shape():
    """Reshape whose shape is a data input: an error at the node."""
    n = [helper.make_node("Relu", ["x"], ["r"], name="relu"),
         helper.make_node("Reshape", ["r", "s"], ["y"], name="reshape")]
    return model(n, [vi("x", F, [2, 3]), vi("s", I64, [2])],
                 [vi("y", F, None)])


def bad_matmul():
    """Contraction dims that differ: the node is named, nothing aborts."""
    n = [helper.make_node("MatMul", ["a", "b"], ["y"], name="mm")]
    return model(n, [vi("a", F, [2, 3]), vi("b", F, [4, 5])],
                 [vi("y", F, None)])


def split_overflow():
    """Split sizes whose sum overflows int64 (found by the onnx fuzz target)."""
    big = np.iinfo(np.int64).max
    n = [const("sp", np.array([2, big], np.int64)),
         helper.make_node("Split", ["x", "sp"], ["s0", "s1"], name="split",
                          axis=1)]
    return model(n, [vi("x", F, [2, 6])], [vi("s0", F, None), vi("s1", F, None)])


def scatter_mul():
    """ScatterElements with reduction 'mul', which the importer refuses."""
    n = [helper.make_node("ScatterElements", ["x", "i", "u"], ["y"],
                          name="scatter", axis=1, reduction="mul")]
    return model(n, [vi("x", F, [2, 4]), vi("u", F, [2, 2])],
                 [vi("y", F, None)], [init("i", np.zeros((2, 2), np.int64))],
                 opset=18)


def bad_tile():
    """Tile repeats with one entry too few."""
    n = [helper.make_node("Tile", ["x", "r"], ["y"], name="tile")]
    return model(n, [vi("x", F, [2, 4])], [vi("y", F, None)],
                 [init("r", np.array([2], np.int64))])


def bad_gather_elements():
    """GatherElements indices larger than the input on a dim but the axis."""
    n = [helper.make_node("GatherElements", ["x", "i"], ["y"], name="ge",
                          axis=0)]
    return model(n, [vi("x", F, [2, 4]), vi("i", I64, [2, 5])],
                 [vi("y", F, None)])


def complex_input():
    n = [helper.make_node("Identity", ["x"], ["y"], name="id")]
    return model(n, [vi("x", TensorProto.COMPLEX64, [2])],
                 [vi("y", TensorProto.COMPLEX64, [2])])


def cycle():
    n = [helper.make_node("Relu", ["b"], ["a"], name="r1"),
         helper.make_node("Relu", ["a"], ["b"], name="r2")]
    return model(n, [vi("x", F, [2])], [vi("b", F, [2])])


# --------------------------------------------------------------------------
# Constant folding and lowering
# --------------------------------------------------------------------------

def shape_subgraph():
    """The shape arithmetic exporters emit folds away: a flatten of x to
    [batch, -1] computed from Shape(x)."""
    n = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
         const("zero", np.array(0, np.int64)),
         helper.make_node("Gather", ["s", "zero"], ["b"], name="gather",
                          axis=0),
         const("ax", np.array([0], np.int64)),
         helper.make_node("Unsqueeze", ["b", "ax"], ["bu"], name="unsq"),
         const("m1", np.array([-1], np.int64)),
         helper.make_node("Concat", ["bu", "m1"], ["shp"], name="concat",
                          axis=0),
         helper.make_node("Reshape", ["x", "shp"], ["y"], name="reshape"),
         helper.make_node("ConstantOfShape", ["shp2"], ["ones"], name="cos",
                          value=numpy_helper.from_array(
                              np.array([1.0], np.float32))),
         const("shp2", np.array([1, 12], np.int64)),
         helper.make_node("Mul", ["y", "ones"], ["z"], name="mul")]
    return model(n, [vi("x", F, ["batch", 3, 4])], [vi("z", F, None)])


ROTARY_INV_FREQ = (1.0 / 10000.0 ** (np.arange(0, 8, 2) / 8.0)).astype(
    np.float32)


def rotary_tables():
    """What exporters emit for rotary embeddings and position ids, all on
    constants: Range -> Cast -> MatMul with the inverse frequencies ->
    Concat -> Cos / Sin (then Tile over the batch), and a CumSum of an
    attention mask minus one. Every node but the two runtime Muls and the
    Add folds."""
    n = [const("start", np.array(0, np.int64)),
         const("limit", np.array(16, np.int64)),
         const("delta", np.array(1, np.int64)),
         helper.make_node("Range", ["start", "limit", "delta"], ["pos"],
                          name="range"),
         helper.make_node("Cast", ["pos"], ["posf"], name="cast_pos", to=F),
         const("ax1", np.array([1], np.int64)),
         helper.make_node("Unsqueeze", ["posf", "ax1"], ["pos_col"],
                          name="unsq_pos"),
         const("inv_freq", ROTARY_INV_FREQ.reshape(1, 4)),
         helper.make_node("MatMul", ["pos_col", "inv_freq"], ["freqs"],
                          name="matmul_freqs"),
         helper.make_node("Concat", ["freqs", "freqs"], ["emb"],
                          name="concat_emb", axis=1),
         helper.make_node("Cos", ["emb"], ["cos"], name="cos"),
         helper.make_node("Sin", ["emb"], ["sin"], name="sin"),
         const("ax0", np.array([0], np.int64)),
         helper.make_node("Unsqueeze", ["cos", "ax0"], ["cos3"],
                          name="unsq_cos"),
         const("reps", np.array([2, 1, 1], np.int64)),
         helper.make_node("Tile", ["cos3", "reps"], ["cos_b"], name="tile"),
         helper.make_node("Mul", ["x", "cos_b"], ["xc"], name="mul_cos"),
         helper.make_node("Mul", ["x", "sin"], ["xs"], name="mul_sin"),
         const("mask", np.array([[1] * 16, [0] * 4 + [1] * 12], np.int64)),
         const("axis", np.array(1, np.int64)),
         helper.make_node("CumSum", ["mask", "axis"], ["csum"],
                          name="cumsum"),
         const("one", np.array(1, np.int64)),
         helper.make_node("Sub", ["csum", "one"], ["ids"], name="sub_ids"),
         helper.make_node("Cast", ["ids"], ["idsf"], name="cast_ids", to=F),
         const("ax2", np.array([2], np.int64)),
         helper.make_node("Unsqueeze", ["idsf", "ax2"], ["ids3"],
                          name="unsq_ids"),
         helper.make_node("Add", ["xc", "ids3"], ["y"], name="add_ids")]
    return model(n, [vi("x", F, [2, 16, 8])],
                 [vi("y", F, None), vi("xs", F, None)])


def big_constant_matmul():
    """A MatMul of two constants with 2^31 multiply-adds: too much work to
    fold, so it stays a runtime op (on splat constants)."""
    fill = numpy_helper.from_array(np.array([0.5], np.float32))
    n = [const("sa", np.array([1024, 2048], np.int64)),
         const("sb", np.array([2048, 1024], np.int64)),
         helper.make_node("ConstantOfShape", ["sa"], ["a"], name="a",
                          value=fill),
         helper.make_node("ConstantOfShape", ["sb"], ["b"], name="b",
                          value=fill),
         helper.make_node("MatMul", ["a", "b"], ["c"], name="mm"),
         helper.make_node("Add", ["x", "c"], ["y"], name="add")]
    return model(n, [vi("x", F, [1024, 1024])], [vi("y", F, None)])


def masks():
    """Equal, Less, Not and Trilu on run-time values become pz.compare,
    pz.not and pz.trilu; Where selects."""
    n = [helper.make_node("Equal", ["a", "b"], ["eq"], name="eq"),
         helper.make_node("Less", ["a", "b"], ["lt"], name="lt"),
         helper.make_node("Not", ["lt"], ["ge"], name="not"),
         const("k", np.array(1, np.int64)),
         helper.make_node("Trilu", ["a", "k"], ["up"], name="triu", upper=1),
         helper.make_node("Where", ["ge", "a", "up"], ["w"], name="where"),
         helper.make_node("Cast", ["eq"], ["eqf"], name="cast", to=F),
         helper.make_node("Add", ["w", "eqf"], ["y"], name="add")]
    return model(n, [vi("a", F, [4, 4]), vi("b", F, [4])],
                 [vi("y", F, None)])


def unsigned():
    """uint8 arithmetic at run time; Pow with a uint32 exponent (cast to
    the base type); constants folded with wrapping: uint8 200 + 100 = 44
    and 255 + 1 = 0, uint64 0 - 1 = 2^64 - 1, halved by unsigned division;
    a Cast of uint8 to uint64."""
    U8, U32, U64 = TensorProto.UINT8, TensorProto.UINT32, TensorProto.UINT64
    n = [helper.make_node("Sub", ["a", "b"], ["d"], name="sub"),
         helper.make_node("Div", ["d", "b"], ["q"], name="div"),
         const("k1", np.array([200, 255], np.uint8)),
         const("k2", np.array([100, 1], np.uint8)),
         helper.make_node("Add", ["k1", "k2"], ["k"], name="kadd"),
         helper.make_node("Mul", ["q", "k"], ["y"], name="mul"),
         helper.make_node("Pow", ["x", "e"], ["p"], name="pow"),
         const("zero", np.array(0, np.uint64)),
         const("one", np.array(1, np.uint64)),
         const("two", np.array(2, np.uint64)),
         helper.make_node("Sub", ["zero", "one"], ["max"], name="ksub"),
         helper.make_node("Div", ["max", "two"], ["half"], name="kdiv"),
         helper.make_node("Cast", ["y"], ["y64"], name="cast", to=U64),
         helper.make_node("Add", ["y64", "half"], ["z"], name="add_half"),
         helper.make_node("Add", ["z", "max"], ["z2"], name="add_max")]
    return model(n, [vi("a", U8, [2]), vi("b", U8, [2]), vi("x", F, [3]),
                     vi("e", U32, [3])],
                 [vi("p", F, None), vi("z2", U64, None)])


def gemm():
    """Gemm with transA, alpha and beta; Gather on a parameter is an
    embedding, on other data a gather with normalised indices."""
    n = [helper.make_node("Gemm", ["a", "w", "c"], ["g"], name="gemm",
                          transA=1, transB=1, alpha=2.0, beta=0.5),
         const("ids", np.array([[0, -1], [2, 1]], np.int64)),
         helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
         const("idx", np.array([-1, 0], np.int64)),
         helper.make_node("Gather", ["g", "idx"], ["h"], name="pick",
                          axis=1)]
    return model(n, [vi("a", F, [3, 2])],
                 [vi("h", F, None), vi("e", F, None)],
                 [init("w", np.ones((5, 3), np.float32)),
                  init("c", np.zeros((5,), np.float32)),
                  init("table", np.ones((4, 8), np.float32))])


def runtime_gather():
    """Gather with run-time indices: on a parameter an embedding (ids taken
    to be in range), on data a gather whose negative indices wrap."""
    n = [helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
         helper.make_node("Gather", ["x", "ids"], ["g"], name="pick",
                          axis=1)]
    return model(n, [vi("x", F, [2, 6]), vi("ids", I64, [3])],
                 [vi("e", F, None), vi("g", F, None)],
                 [init("table", np.ones((10, 4), np.float32))])


def data_movement():
    """Split (opset 13 input), Slice with negative and clamped bounds,
    Expand, Transpose, Squeeze, Unsqueeze, Flatten, 1-D MatMul."""
    n = [const("sp", np.array([2, 6], np.int64)),
         helper.make_node("Split", ["x", "sp"], ["s0", "s1"], name="split",
                          axis=1),
         const("st", np.array([-4], np.int64)),
         const("en", np.array([1000], np.int64)),
         const("ax", np.array([1], np.int64)),
         const("stp", np.array([2], np.int64)),
         helper.make_node("Slice", ["s1", "st", "en", "ax", "stp"], ["sl"],
                          name="slice"),
         const("es", np.array([3, 4, 2], np.int64)),
         helper.make_node("Expand", ["sl", "es"], ["ex"], name="expand"),
         helper.make_node("Transpose", ["ex"], ["t"], name="transpose",
                          perm=[2, 0, 1]),
         const("uax", np.array([0, -1], np.int64)),
         helper.make_node("Unsqueeze", ["s0", "uax"], ["u"], name="unsq"),
         helper.make_node("Squeeze", ["u"], ["q"], name="squeeze"),
         helper.make_node("Flatten", ["t"], ["fl"], name="flatten", axis=1),
         helper.make_node("MatMul", ["v", "m"], ["mv"], name="matvec")]
    return model(n, [vi("x", F, [4, 8]), vi("v", F, [3]),
                     vi("m", F, [3, 5])],
                 [vi("q", F, None), vi("fl", F, None), vi("mv", F, None)])


def reversals():
    """Slice with negative steps: torch.flip's export (start -1, end
    INT64_MIN), a clamped start with step -2, steps that take one element or
    none, and a reversal of a constant shape (folded)."""
    lo = np.iinfo(np.int64).min

    def sl(name, src, starts, ends, axes, steps):
        return [const(name + "_st", np.array(starts, np.int64)),
                const(name + "_en", np.array(ends, np.int64)),
                const(name + "_ax", np.array(axes, np.int64)),
                const(name + "_sp", np.array(steps, np.int64)),
                helper.make_node("Slice", [src, name + "_st", name + "_en",
                                           name + "_ax", name + "_sp"],
                                 [name], name=name)]
    n = (sl("flip", "x", [-1, -1], [lo, lo], [0, 1], [-1, -1]) +
         sl("rev2", "x", [100], [0], [1], [-2]) +
         sl("one", "x", [2], [1], [0], [-5]) +
         sl("none", "x", [0], [3], [0], [-1]) +
         [helper.make_node("Shape", ["x"], ["shp"], name="shape")] +
         sl("rshp", "shp", [-1], [lo], [0], [-1]) +
         [helper.make_node("Reshape", ["x", "rshp"], ["t"], name="reshape")])
    return model(n, [vi("x", F, [4, 6])],
                 [vi(o, F, None) for o in ("flip", "rev2", "one", "none",
                                           "t")])


def reductions():
    """Reduce* with opset-13 attribute axes and input axes, Softmax with a
    negative axis, LayerNormalization with its Mean output."""
    n = [helper.make_node("ReduceMean", ["x"], ["rm"], name="rmean",
                          axes=[-1], keepdims=1),
         const("axes", np.array([0], np.int64)),
         helper.make_node("ReduceSum", ["x", "axes"], ["rs"], name="rsum",
                          keepdims=0),
         helper.make_node("ReduceMax", ["x"], ["rx"], name="rmax",
                          keepdims=0),
         helper.make_node("Softmax", ["x"], ["sm"], name="softmax", axis=-1),
         helper.make_node("LayerNormalization", ["x", "w", "b"],
                          ["ln", "mean"], name="ln", axis=-1, epsilon=1e-6)]
    return model(n, [vi("x", F, [2, 3, 4])],
                 [vi(o, F, None) for o in ("rm", "rs", "rx", "sm", "ln",
                                           "mean")],
                 [init("w", np.ones((4,), np.float32)),
                  init("b", np.zeros((4,), np.float32))])


def opset18():
    """Opset 18: ReduceMean and ReduceMax take axes as an input; Split takes
    num_outputs (the last chunk may be smaller)."""
    n = [const("axes", np.array([-1], np.int64)),
         helper.make_node("ReduceMean", ["x", "axes"], ["rm"], name="rmean",
                          keepdims=1),
         helper.make_node("ReduceMax", ["x", "axes"], ["rx"], name="rmax",
                          keepdims=0),
         helper.make_node("Split", ["x"], ["s0", "s1", "s2"], name="split",
                          axis=1, num_outputs=3)]
    return model(n, [vi("x", F, [2, 5])],
                 [vi(o, F, None) for o in ("rm", "rx", "s0", "s1", "s2")],
                 opset=18)


def training_ops():
    """Dropout in training mode; SoftmaxCrossEntropyLoss with class weights
    (spelled out) and without (pz.cross_entropy); an NLL loss on a
    log-softmax over the class dim."""
    n = [const("ratio", np.array(0.1, np.float32)),
         const("train", np.array(True)),
         helper.make_node("Dropout", ["x", "ratio", "train"], ["d"],
                          name="drop", seed=42),
         helper.make_node("SoftmaxCrossEntropyLoss", ["d", "y"], ["l1"],
                          name="sce", reduction="sum", ignore_index=-1),
         helper.make_node("SoftmaxCrossEntropyLoss", ["d", "y", "cw"],
                          ["l2"], name="sce_w"),
         helper.make_node("LogSoftmax", ["x"], ["lsm"], name="lsm", axis=1),
         helper.make_node("NegativeLogLikelihoodLoss", ["lsm", "y"], ["l3"],
                          name="nll", reduction="none")]
    return model(n, [vi("x", F, [4, 5]), vi("y", I64, [4])],
                 [vi("l1", F, None), vi("l2", F, None), vi("l3", F, None)],
                 [init("cw", np.ones((5,), np.float32))])


def names_and_order():
    """Unnamed nodes, nodes out of topological order, an integer
    initializer (a constant) next to a float one (a parameter)."""
    n = [helper.make_node("Add", ["h", "bias"], ["y"]),
         helper.make_node("Gather", ["x", "ids"], ["h"])]
    return model(n, [vi("x", F, [3, 4])], [vi("y", F, None)],
                 [init("ids", np.array([2, 0], np.int64)),
                  init("bias", np.zeros((4,), np.float32))])


# --------------------------------------------------------------------------
# External data: the weight `w` of y = x @ w, stored in a file beside the
# model. The hostile variants point elsewhere or misstate offset/length.
# --------------------------------------------------------------------------

def _external(out, location, offset=None, length=None, data_file=None,
              data=None):
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = numpy_helper.from_array(w, "w")
    d = os.path.dirname(out)
    blob = w.tobytes() if data is None else data
    with open(os.path.join(d, data_file or "weights.bin"), "wb") as f:
        f.write(blob)
    kwargs = {}
    if offset is not None:
        kwargs["offset"] = offset
    if length is not None:
        kwargs["length"] = length
    set_external_data(t, location, **kwargs)
    t.ClearField("raw_data")
    n = [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    m = model(n, [vi("x", F, [4, 2])], [vi("y", F, None)], [t])
    # set_external_data stores offset/length as given; hostile values are
    # written by hand below.
    return m


def _set_entry(m, key, value):
    t = m.graph.initializer[0]
    for e in t.external_data:
        if e.key == key:
            e.value = value
            return m
    e = t.external_data.add()
    e.key, e.value = key, value
    return m


def ext_ok(out):
    return _external(out, "weights.bin")


def ext_offset_ok(out):
    w = np.arange(6, dtype=np.float32).reshape(2, 3)
    return _external(out, "weights.bin", offset=8, length=24,
                     data=b"\0" * 8 + w.tobytes())


def ext_absolute(out):
    return _external(out, "/etc/passwd")


def ext_dotdot(out):
    return _external(out, "../weights.bin")


def ext_dotdot_inner(out):
    return _external(out, "sub/../../weights.bin")


def ext_symlink(out):
    d = os.path.dirname(out)
    link = os.path.join(d, "link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink("/etc/hostname", link)
    return _external(out, "link.bin")


def ext_directory(out):
    d = os.path.dirname(out)
    os.makedirs(os.path.join(d, "adir"), exist_ok=True)
    return _external(out, "adir")


def ext_fifo(out):
    d = os.path.dirname(out)
    fifo = os.path.join(d, "pipe.bin")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    return _external(out, "pipe.bin")


def ext_missing(out):
    return _external(out, "nothere.bin")


def ext_negative_offset(out):
    return _set_entry(_external(out, "weights.bin"), "offset", "-8")


def ext_offset_past_eof(out):
    return _set_entry(_external(out, "weights.bin"), "offset", "4096")


def ext_length_past_eof(out):
    return _set_entry(_external(out, "weights.bin"), "length", "4096")


def ext_length_mismatch(out):
    return _set_entry(_external(out, "weights.bin"), "length", "20")


def ext_short_file(out):
    return _external(out, "weights.bin", data=b"\0" * 10)


def ext_no_location(out):
    m = _external(out, "weights.bin")
    t = m.graph.initializer[0]
    keep = [(e.key, e.value) for e in t.external_data if e.key != "location"]
    del t.external_data[:]
    for k, v in keep:
        e = t.external_data.add()
        e.key, e.value = k, v
    return m


def huge_input():
    """A graph input of 2^62 x 32 elements: beyond the 2^48 bound."""
    return model([helper.make_node("Relu", ["x"], ["y"], name="r")],
                 [vi("x", F, [4611686018427387904, 32])], [vi("y", F, None)])


def huge_initializer():
    """A complex128 initializer of 2^59 elements and no data: its byte size
    (2^63) does not fit int64."""
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.COMPLEX128
    t.dims.extend([1 << 59])
    t.raw_data = b""
    return model([helper.make_node("Identity", ["w"], ["y"], name="id")],
                 [], [vi("y", TensorProto.COMPLEX128, None)], inits=[t])


def huge_reshape():
    """An empty x (0x4) reshaped to 0 x 2^40 x 2^40 (allowzero), then summed
    over the empty dim: 2^80 elements, which no int64 count can hold."""
    shape = const("shape", np.array([0, 1 << 40, 1 << 40], dtype=np.int64))
    axes = const("axes", np.array([0], dtype=np.int64))
    nodes = [shape, axes,
             helper.make_node("Reshape", ["x", "shape"], ["r"], name="big",
                              allowzero=1),
             helper.make_node("ReduceSum", ["r", "axes"], ["y"], name="sum",
                              keepdims=0)]
    return model(nodes, [vi("x", F, [0, 4])], [vi("y", F, None)])


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field."""
    if isinstance(payload, str):
        payload = payload.encode()
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def eval_merged():
    """What an eval-mode export does to a 2-layer model: the two layers'
    LayerNorm scales of ones became one initializer ("ones", read in h.0
    and h.1), while the token table is tied to the LM head on purpose (read
    outside numbered layers)."""
    ln = lambda i, x, y: helper.make_node(
        "LayerNormalization", [x, "ones", "zeros"], [y],
        name=f"/transformer/h.{i}/ln_1/LayerNormalization", axis=-1)
    nodes = [helper.make_node("Gather", ["wte", "ids"], ["e"], name="/transformer/wte/Gather"),
             ln(0, "e", "h0"), ln(1, "h0", "h1"),
             helper.make_node("MatMul", ["h1", "wte_t"], ["logits"], name="/lm_head/MatMul"),
             helper.make_node("Transpose", ["wte"], ["wte_t"], name="/lm_head/Transpose",
                              perm=[1, 0])]
    return model(nodes, [vi("ids", I64, [2, 3])], [vi("logits", F, [2, 3, 5])],
                 [init("wte", np.ones((5, 4), np.float32)),
                  init("ones", np.ones(4, np.float32)),
                  init("zeros", np.zeros(4, np.float32))])


def _padding_idx(meta, table_shape=(6, 4), gathered="wte"):
    """A lookup of `gathered` in a 6-row table `wte`, weighted by a constant
    and summed: the loss. A second table `other` is read by a MatMul, not
    by a Gather. `meta` is the `parallelize.padding_idx` metadata value."""
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Gather", [gathered, "ids"], ["e"], name="/wte/Gather"),
             const("c", rng.standard_normal((2, 3, 4)).astype(np.float32)),
             helper.make_node("Mul", ["e", "c"], ["ec"], name="/Mul"),
             helper.make_node("MatMul", ["ec", "other"], ["eo"], name="/MatMul"),
             helper.make_node("ReduceSum", ["eo"], ["loss"], name="/ReduceSum",
                              keepdims=0)]
    m = model(nodes, [vi("ids", I64, [2, 3])], [vi("loss", F, [])],
              [init("wte", rng.standard_normal(table_shape).astype(np.float32)),
               init("other", rng.standard_normal((4, 1)).astype(np.float32))])
    if meta is not None:
        helper.set_model_props(m, {"parallelize.padding_idx": meta,
                                   "parallelize.seed": "0"})
    return m


def padding_idx():
    return _padding_idx('{"wte": 1}')


def padding_idx_none():
    return _padding_idx(None)


def padding_idx_not_json():
    return _padding_idx('{"wte": ')


def padding_idx_not_object():
    return _padding_idx('[1]')


def padding_idx_unknown():
    return _padding_idx('{"wpe": 1}')


def padding_idx_out_of_range():
    return _padding_idx('{"wte": 6}')


def padding_idx_negative():
    return _padding_idx('{"wte": -1}')


def padding_idx_not_integer():
    return _padding_idx('{"wte": "1"}')


def padding_idx_fraction():
    return _padding_idx('{"wte": 1.5}')


def padding_idx_rank():
    m = _padding_idx('{"scale": 0}')
    m.graph.initializer.append(init("scale", np.ones(4, np.float32)))
    return m


def padding_idx_unread():
    m = _padding_idx('{"spare": 0}')
    m.graph.initializer.append(init("spare", np.zeros((3, 4), np.float32)))
    return m


def extrema():
    """Max and Min (variadic, broadcasting), Clip with either bound, on
    float and int8 data, and their folding on int64 constants at the ends of
    the range."""
    big = np.iinfo(np.int64).max
    nodes = [helper.make_node("Max", ["x", "y", "z"], ["mx"], name="max3"),
             helper.make_node("Min", ["x"], ["m1"], name="min1"),
             helper.make_node("Min", ["mx", "y"], ["mn"], name="min2"),
             const("lo", np.array(-1.0, np.float32)),
             helper.make_node("Clip", ["mn", "lo", ""], ["c1"], name="clip_lo"),
             helper.make_node("Clip", ["c1", "", "hi"], ["c2"], name="clip_hi"),
             const("qlo", np.array(-100, np.int8)),
             const("qhi", np.array(100, np.int8)),
             helper.make_node("Clip", ["q", "qlo", "qhi"], ["qc"], name="clip_q"),
             const("k1", np.array([big, -5, 7], np.int64)),
             const("k2", np.array([big - 1, -7, 7], np.int64)),
             helper.make_node("Max", ["k1", "k2"], ["kmax"], name="kmax"),
             helper.make_node("Min", ["k1", "k2"], ["kmin"], name="kmin"),
             const("kx", np.array([-3, big, 0], np.int64)),
             const("klo", np.array(-2, np.int64)),
             helper.make_node("Clip", ["kx", "klo", ""], ["kclip"], name="kclip")]
    return model(nodes,
                 [vi("x", F, [2, 3]), vi("y", F, [3]), vi("z", F, []),
                  vi("hi", F, []), vi("q", TensorProto.INT8, [4])],
                 [vi("m1", F, [2, 3]), vi("c2", F, [2, 3]),
                  vi("qc", TensorProto.INT8, [4]), vi("kmax", I64, [3]),
                  vi("kmin", I64, [3]), vi("kclip", I64, [3])])


def folded_head():
    """A tied LM head as do_constant_folding writes it: `head` holds wte
    transposed as its own initializer. `near` is wte transposed with one
    element changed (not a copy: left alone)."""
    rng = np.random.default_rng(3)
    wte = rng.standard_normal((5, 4)).astype(np.float32)
    near = wte.T.copy()
    near[1, 2] += 1.0
    nodes = [helper.make_node("Gather", ["wte", "ids"], ["e"], name="/wte/Gather"),
             helper.make_node("MatMul", ["e", "head"], ["logits"], name="/lm_head/MatMul"),
             helper.make_node("MatMul", ["e", "near"], ["other"], name="/other/MatMul")]
    return model(nodes, [vi("ids", I64, [2, 3])],
                 [vi("logits", F, [2, 3, 5]), vi("other", F, [2, 3, 5])],
                 [init("wte", wte), init("head", wte.T.copy()), init("near", near)])


def attention_unfused():
    """Three attentions of q, v and their own keys k0..k2 (each [1, 2, 4, 8],
    so that CSE keeps their scores apart): one the pattern fuses
    (scaled, causal through Where), one with dropout on its probabilities
    (training mode) and one whose softmax runs over the queries (dim 2)."""
    def scores(i):
        return [helper.make_node("Transpose", [f"k{i}"], [f"kt{i}"], name=f"/a{i}/Transpose",
                                 perm=[0, 1, 3, 2]),
                helper.make_node("MatMul", ["q", f"kt{i}"], [f"s{i}"], name=f"/a{i}/MatMul")]
    tri = np.triu(np.ones((4, 4), bool), 1)
    n = scores(0) + [
        const("scale", np.array(0.25, np.float32)), const("tri", tri),
        const("ninf", np.array(-np.inf, np.float32)),
        helper.make_node("Mul", ["s0", "scale"], ["ss0"], name="/a0/Mul"),
        helper.make_node("Where", ["tri", "ninf", "ss0"], ["m0"], name="/a0/Where"),
        helper.make_node("Softmax", ["m0"], ["p0"], name="/a0/Softmax", axis=-1),
        helper.make_node("MatMul", ["p0", "v"], ["o0"], name="/a0/MatMul_1")]
    n += scores(1) + [
        const("ratio", np.array(0.1, np.float32)), const("train", np.array(True)),
        helper.make_node("Softmax", ["s1"], ["p1"], name="/a1/Softmax", axis=-1),
        helper.make_node("Dropout", ["p1", "ratio", "train"], ["d1"], name="/a1/Dropout",
                         seed=1),
        helper.make_node("MatMul", ["d1", "v"], ["o1"], name="/a1/MatMul_1")]
    n += scores(2) + [
        helper.make_node("Softmax", ["s2"], ["p2"], name="/a2/Softmax", axis=2),
        helper.make_node("MatMul", ["p2", "v"], ["o2"], name="/a2/MatMul_1")]
    qkv = [vi(x, F, [1, 2, 4, 8]) for x in ("q", "k0", "k1", "k2", "v")]
    return model(n, qkv, [vi(f"o{i}", F, [1, 2, 4, 8]) for i in range(3)])


def attention_alibi():
    """Bloom's attention on q [1, 2, 4, 8], k^T [1, 2, 8, 4] (already
    transposed) and v [1, 2, 4, 8]: heads merged to [2, 4, 8], the scores
    scaled plus an ALiBi constant [2, 1, 4] (baddbmm), reshaped to
    [1, 2, 4, 4], masked_fill with finfo.min by the causal masked-out mask,
    softmax, the probabilities merged to [2, 4, 4] for bmm with the merged
    values."""
    slopes = np.array([0.25, 0.0625], np.float32)
    alibi = (slopes[:, None, None] * np.arange(4, dtype=np.float32)).astype(np.float32)
    tri = np.triu(np.ones((1, 1, 4, 4), bool), 1)
    n = [const("s3q", np.array([2, 4, 8], np.int64)), const("s3k", np.array([2, 8, 4], np.int64)),
         const("s4", np.array([1, 2, 4, 4], np.int64)), const("s3p", np.array([2, 4, 4], np.int64)),
         const("alpha", np.array(8 ** -0.5, np.float32)), const("alibi", alibi),
         const("tri", tri), const("fmin", np.array(np.finfo(np.float32).min, np.float32)),
         helper.make_node("Reshape", ["q", "s3q"], ["q3"], name="/attn/Reshape"),
         helper.make_node("Reshape", ["kt", "s3k"], ["k3"], name="/attn/Reshape_1"),
         helper.make_node("Reshape", ["v", "s3q"], ["v3"], name="/attn/Reshape_2"),
         helper.make_node("MatMul", ["q3", "k3"], ["s"], name="/attn/MatMul"),
         helper.make_node("Mul", ["s", "alpha"], ["ss"], name="/attn/Mul"),
         helper.make_node("Add", ["ss", "alibi"], ["sb"], name="/attn/Add"),
         helper.make_node("Reshape", ["sb", "s4"], ["s4d"], name="/attn/Reshape_3"),
         helper.make_node("Where", ["tri", "fmin", "s4d"], ["m"], name="/attn/Where"),
         helper.make_node("Softmax", ["m"], ["p"], name="/attn/Softmax", axis=-1),
         helper.make_node("Reshape", ["p", "s3p"], ["p3"], name="/attn/Reshape_4"),
         helper.make_node("MatMul", ["p3", "v3"], ["o"], name="/attn/MatMul_1")]
    ins = [vi("q", F, [1, 2, 4, 8]), vi("kt", F, [1, 2, 8, 4]), vi("v", F, [1, 2, 4, 8])]
    return model(n, ins, [vi("o", F, [2, 4, 8])])


def deep_subgraphs(out):
    """If nodes whose then_branch holds an If node, 10,000 deep (30,000
    nested messages), written as raw protobuf: a parser that recursed per
    level would overflow the stack."""
    graph = _field(2, "leaf")  # GraphProto.name
    for _ in range(10000):
        attr = (_field(1, "then_branch") + _varint(20 << 3) + _varint(5)  # GRAPH
                + _field(6, graph))                       # AttributeProto.g
        node = _field(1, "c") + _field(2, "y") + _field(4, "If") + _field(5, attr)
        graph = _field(1, node) + _field(2, "g")          # GraphProto.node, name
    opset = _field(1, "") + _varint(2 << 3) + _varint(17)
    data = _varint(1 << 3) + _varint(8) + _field(8, opset) + _field(7, graph)
    with open(out, "wb") as f:
        f.write(data)


def main():
    name, out = sys.argv[1], sys.argv[2]
    fn = globals()[name]
    m = fn(out) if fn.__code__.co_argcount else fn()
    if m is not None:
        onnx.save(m, out)


if __name__ == "__main__":
    main()
