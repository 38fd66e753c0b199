#!/usr/bin/env python3
"""Models for control-flow.test: If and Loop whose condition and trip count
fold, the sequence ops and ScatterND on constants, and the forms the
importer refuses (a condition, trip count or ScatterND input computed at run
time).

Usage: control_flow_gen.py CASE OUT.onnx
"""
import sys

import numpy as np
from onnx import helper

from onnx_gen import B, F, I64, const, init, model, vi


def if_fold():
    """torch's squeeze-if-one: If(Equal(dim 1 of x, 1), Squeeze, ...). The
    then branch adds its own initializer; the else branch holds an If on
    the negated condition, read from the enclosing scope. Both branches
    define a value named 't' (renamed apart when inlined)."""
    then_g = helper.make_graph(
        [const("axes", np.array([1], np.int64)),
         helper.make_node("Squeeze", ["x", "axes"], ["t"], name="squeeze"),
         helper.make_node("Add", ["t", "bias"], ["out_then"], name="add")],
        "then", [], [vi("out_then", F, None)],
        initializer=[init("bias", np.full(4, 0.5, np.float32))])
    inner_then = helper.make_graph(
        [helper.make_node("Neg", ["t"], ["u"], name="neg")],
        "inner_then", [], [vi("u", F, None)])
    inner_else = helper.make_graph(
        [helper.make_node("Identity", ["t"], ["u2"], name="ident_inner")],
        "inner_else", [], [vi("u2", F, None)])
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["t"], name="ident"),
         helper.make_node("Not", ["eq"], ["ne"], name="not"),
         helper.make_node("If", ["ne"], ["out_else"], name="inner_if",
                          then_branch=inner_then, else_branch=inner_else)],
        "else", [], [vi("out_else", F, None)])
    n = [helper.make_node("Shape", ["x"], ["shape"], name="shape"),
         const("one_idx", np.array(1, np.int64)),
         helper.make_node("Gather", ["shape", "one_idx"], ["dim"],
                          name="gather"),
         const("one", np.array(1, np.int64)),
         helper.make_node("Equal", ["dim", "one"], ["eq"], name="equal"),
         helper.make_node("If", ["eq"], ["y"], name="squeeze_if",
                          then_branch=then_g, else_branch=else_g)]
    return model(n, [vi("x", F, [2, "d", 4])], [vi("y", F, None)])


def if_runtime():
    """An If on a condition the model computes from data."""
    then_g = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["a"], name="neg")], "then", [],
        [vi("a", F, None)])
    else_g = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["b"], name="ident")], "else",
        [], [vi("b", F, None)])
    n = [helper.make_node("If", ["c"], ["y"], name="data_if",
                          then_branch=then_g, else_branch=else_g)]
    return model(n, [vi("c", B, []), vi("x", F, [2])], [vi("y", F, None)])


def _interleave_body():
    """Loop body over a split table (GPT-J's repeat_interleave): item i of
    the outer sequence 'parts', each element twice, inserted into the
    carried sequence; the run-time sum 'acc' plus the item; the item times
    2 as a scan output."""
    return helper.make_graph(
        [helper.make_node("SequenceAt", ["parts", "i"], ["item"], name="at"),
         const("ax", np.array([1], np.int64)),
         helper.make_node("Unsqueeze", ["item", "ax"], ["col"], name="unsq"),
         const("shape2", np.array([2, 2], np.int64)),
         helper.make_node("Expand", ["col", "shape2"], ["pair"],
                          name="expand"),
         const("flat", np.array([4], np.int64)),
         helper.make_node("Reshape", ["pair", "flat"], ["rep"],
                          name="reshape"),
         helper.make_node("SequenceInsert", ["s", "rep"], ["s2"],
                          name="insert"),
         helper.make_node("Add", ["acc", "item"], ["acc2"], name="acc_add"),
         const("two", np.array(2, np.float32)),
         helper.make_node("Mul", ["item", "two"], ["scan"], name="scan_mul"),
         helper.make_node("Identity", ["c"], ["c2"], name="cond")],
        "body", [vi("i", I64, []), vi("c", B, []), vi("s", F, None),
                 vi("acc", F, [2])],
        [vi("c2", B, []), vi("s2", F, None), vi("acc2", F, [2]),
         vi("scan", F, [2])])


def loop_unroll():
    table = np.array([[1, 2], [3, 4], [5, 6]], np.float32)
    n = [const("table", table),
         helper.make_node("SplitToSequence", ["table"], ["parts"],
                          name="split", axis=0, keepdims=0),
         helper.make_node("SequenceLength", ["parts"], ["count"],
                          name="length"),
         helper.make_node("SequenceEmpty", [], ["empty"], name="empty",
                          dtype=F),
         helper.make_node("Loop", ["count", "", "empty", "x"],
                          ["seq", "acc", "scans"], name="loop",
                          body=_interleave_body()),
         helper.make_node("ConcatFromSequence", ["seq"], ["inter"],
                          name="concat", axis=0),
         helper.make_node("Mul", ["w", "inter"], ["y"], name="mul_y"),
         helper.make_node("Add", ["v", "scans"], ["z"], name="add_z")]
    return model(n, [vi("x", F, [2]), vi("w", F, [12]), vi("v", F, [3, 2])],
                 [vi("y", F, None), vi("acc", F, None), vi("z", F, None)])


def loop_runtime():
    """A Loop whose trip count is a graph input."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c2"], name="cond"),
         helper.make_node("Neg", ["a"], ["a2"], name="neg")],
        "body", [vi("i", I64, []), vi("c", B, []), vi("a", F, [2])],
        [vi("c2", B, []), vi("a2", F, [2])])
    n = [helper.make_node("Loop", ["m", "", "x"], ["y"], name="data_loop",
                          body=body)]
    return model(n, [vi("m", I64, []), vi("x", F, [2])], [vi("y", F, None)])


def scatternd():
    """Bloom's causal-mask builder: a boolean mask written by slice
    assignment (ScatterND) and or-ed with another; a float ScatterND with
    add over a repeated index."""
    seq = np.arange(4)
    causal = seq[:, None] < seq[None, :]
    rows = np.arange(4, dtype=np.int64).reshape(4, 1)
    n = [const("base", np.zeros((4, 4), bool)),
         const("rows", rows),
         const("causal", causal),
         helper.make_node("ScatterND", ["base", "rows", "causal"], ["mask"],
                          name="scatter_mask"),
         const("pad", np.array([[False, False, False, True]])),
         helper.make_node("Or", ["mask", "pad"], ["full"], name="or_mask"),
         const("neg", np.array(-1e9, np.float32)),
         helper.make_node("Where", ["full", "neg", "s"], ["masked"],
                          name="where_mask"),
         const("zeros", np.zeros((2, 3), np.float32)),
         const("idx", np.array([[1], [1], [0]], np.int64)),
         const("upd", np.array([[1, 2, 3], [10, 20, 30], [0.5, 0.25, 0.125]],
                               np.float32)),
         helper.make_node("ScatterND", ["zeros", "idx", "upd"], ["acc"],
                          name="scatter_add", reduction="add"),
         helper.make_node("Mul", ["w", "acc"], ["y"], name="mul_acc")]
    return model(n, [vi("s", F, [4, 4]), vi("w", F, [2, 3])],
                 [vi("masked", F, None), vi("y", F, None)])


def scatternd_runtime():
    """ScatterND into a tensor computed at run time."""
    n = [const("idx", np.array([[0]], np.int64)),
         const("upd", np.array([[1, 2]], np.float32)),
         helper.make_node("ScatterND", ["x", "idx", "upd"], ["y"],
                          name="data_scatter")]
    return model(n, [vi("x", F, [2, 2])], [vi("y", F, None)])


def main():
    name, out = sys.argv[1], sys.argv[2]
    import onnx
    onnx.save(globals()[name](), out)


if __name__ == "__main__":
    main()
