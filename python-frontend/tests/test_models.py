"""Tests for parallelize.models / parallelize.export (unittest; pytest also works).

Run from the repository root:

    PYTHONPATH=python-frontend /usr/bin/python3 -m unittest discover -s python-frontend/tests -v
"""

from __future__ import annotations

import collections
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
FRONTEND = os.path.dirname(HERE)
if FRONTEND not in sys.path:
    sys.path.insert(0, FRONTEND)

try:
    import numpy as np
    import onnx
    import torch
    HAVE_DEPS = True
except ImportError:  # pragma: no cover
    HAVE_DEPS = False

if HAVE_DEPS:
    from parallelize import export as E
    from parallelize import models as M
    from parallelize import npeval

NAMES = [f + s for f in ("mlp", "gpt2", "llama", "bert") for s in ("", "_loss")]

# Every ONNX op type the reference exports may use.  The importer must support
# all of them; a new op showing up here is an interface change.
ALLOWED_OPS = {
    "Add", "Cast", "Concat", "Constant", "ConstantOfShape", "Div", "Equal",
    "Erf", "Expand", "Gather", "Gemm", "LayerNormalization", "MatMul", "Mul",
    "Neg", "Pow", "Range", "ReduceMean", "Reshape", "Shape", "Sigmoid",
    "Slice", "Softmax", "SoftmaxCrossEntropyLoss", "Split", "Sqrt", "Squeeze",
    "Sub", "Tanh", "Transpose", "Trilu", "Unsqueeze", "Where",
}


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@unittest.skipUnless(HAVE_DEPS, "needs torch, onnx and numpy")
class ExportTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        warnings.filterwarnings("ignore")
        torch.set_num_threads(1)
        cls._tmp = tempfile.TemporaryDirectory(prefix="pz-export-")
        cls.dir_a = os.path.join(cls._tmp.name, "a")
        cls.dir_b = os.path.join(cls._tmp.name, "b")
        cls.results = {os.path.basename(r["path"])[:-5]: r
                       for r in E.export_all(cls.dir_a)}
        E.export_all(cls.dir_b)
        cls.onnx = {n: onnx.load(os.path.join(cls.dir_a, n + ".onnx"))
                    for n in NAMES}

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    @staticmethod
    def model_for(name):
        fam, _, loss = name.partition("_")
        return fam, bool(loss), M.build(fam, loss=bool(loss))

    def sidecar(self, name, kind):
        with open(os.path.join(self.dir_a, f"{name}.{kind}.json")) as f:
            return json.load(f)

    # ------------------------------------------------------------------
    def test_files_written(self):
        for n in NAMES:
            for suffix in (".onnx", ".params.json", ".inputs.json"):
                self.assertTrue(os.path.isfile(os.path.join(self.dir_a, n + suffix)),
                                n + suffix)

    def test_check_model(self):
        for n in NAMES:
            with self.subTest(model=n):
                onnx.checker.check_model(self.onnx[n], full_check=True)
                self.assertEqual([o.version for o in self.onnx[n].opset_import
                                  if o.domain in ("", "ai.onnx")], [17])

    def test_initializer_names_are_parameter_names(self):
        for n in NAMES:
            with self.subTest(model=n):
                _, _, model = self.model_for(n)
                inits = [i.name for i in self.onnx[n].graph.initializer]
                params = [k for k, _ in model.named_parameters()]
                self.assertEqual(len(inits), len(set(inits)))
                self.assertEqual(sorted(inits), sorted(params))
                # No parameter is a graph input (keep_initializers_as_inputs=False).
                inputs = [i.name for i in self.onnx[n].graph.input]
                self.assertFalse(set(inputs) & set(params))
                # Values survive unchanged.
                sd = dict(model.named_parameters())
                for init in self.onnx[n].graph.initializer:
                    np.testing.assert_array_equal(
                        onnx.numpy_helper.to_array(init),
                        sd[init.name].detach().numpy())

    def test_params_sidecar(self):
        for n in NAMES:
            with self.subTest(model=n):
                _, _, model = self.model_for(n)
                side = self.sidecar(n, "params")
                self.assertEqual(side["renamed"], [])
                self.assertEqual(side["params_not_in_graph"], [])
                sd = dict(model.named_parameters())
                self.assertEqual(sorted(side["initializers"]), sorted(sd))
                for k, v in side["initializers"].items():
                    self.assertEqual(v["torch_name"], k)
                    self.assertTrue(v["trainable"])
                    self.assertEqual(v["shape"], list(sd[k].shape))
                    self.assertEqual(v["dtype"], "float32")
                self.assertEqual(side["num_parameters"],
                                 sum(p.numel() for p in sd.values()))

    def test_inputs_sidecar_and_graph_io(self):
        for n in NAMES:
            with self.subTest(model=n):
                fam, loss, model = self.model_for(n)
                side = self.sidecar(n, "inputs")
                g = self.onnx[n].graph
                self.assertEqual([i["name"] for i in side["inputs"]],
                                 list(model.input_names))
                self.assertEqual([i.name for i in g.input],
                                 list(model.input_names))
                self.assertEqual([o.name for o in g.output],
                                 ["loss" if loss else "logits"])
                for desc, vi in zip(side["inputs"], g.input):
                    dims = vi.type.tensor_type.shape.dim
                    self.assertEqual(desc["dtype"],
                                     "float32" if desc["name"] == "x" else "int64")
                    self.assertEqual(dims[0].dim_param, "batch")
                    if len(dims) > 1 and fam != "mlp":
                        self.assertEqual(dims[1].dim_param, "seq")
                out = g.output[0].type.tensor_type.shape.dim
                if loss:
                    self.assertEqual(len(out), 0)
                    self.assertEqual(side["outputs"][0]["shape"], [])

    def test_tied_embedding_single_initializer(self):
        g = self.onnx["gpt2"].graph
        names = [i.name for i in g.initializer]
        self.assertEqual(names.count("wte.weight"), 1)
        self.assertFalse(any("lm_head" in x for x in names))
        users = sorted(nd.op_type for nd in g.node if "wte.weight" in nd.input)
        self.assertEqual(users, ["Gather", "Transpose"])  # embedding + head
        # Llama's head is untied.
        self.assertIn("lm_head.weight",
                      [i.name for i in self.onnx["llama"].graph.initializer])

    def test_deterministic(self):
        for n in NAMES:
            with self.subTest(model=n):
                for suffix in (".onnx", ".params.json", ".inputs.json"):
                    self.assertEqual(sha256(os.path.join(self.dir_a, n + suffix)),
                                     sha256(os.path.join(self.dir_b, n + suffix)))

    def test_cli_matches_in_process_export(self):
        out = os.path.join(self._tmp.name, "cli")
        env = dict(os.environ, PYTHONPATH=FRONTEND)
        subprocess.run([sys.executable, "-m", "parallelize.export", "--out", out,
                        "--models", "gpt2,bert", "-q"],
                       check=True, env=env, cwd=FRONTEND)
        for n in ("gpt2", "gpt2_loss", "bert", "bert_loss"):
            self.assertEqual(sha256(os.path.join(out, n + ".onnx")),
                             sha256(os.path.join(self.dir_a, n + ".onnx")), n)

    def test_op_types(self):
        print()
        for n in NAMES:
            ops = collections.Counter(nd.op_type for nd in self.onnx[n].graph.node)
            print(f"{n:11s} " + ", ".join(f"{k}:{v}" for k, v in sorted(ops.items())))
            with self.subTest(model=n):
                self.assertLessEqual(set(ops), ALLOWED_OPS, n)
                self.assertNotIn("Dropout", ops)
                self.assertNotIn("Identity", ops)
                self.assertEqual(ops["SoftmaxCrossEntropyLoss"],
                                 1 if n.endswith("_loss") else 0)
                if n.startswith(("gpt2", "bert")):
                    self.assertGreater(ops["LayerNormalization"], 0)
                if n.startswith(("gpt2", "llama")):
                    self.assertEqual(ops["Trilu"], 2)  # one causal mask per layer
                if n.startswith("llama"):
                    self.assertEqual(ops["LayerNormalization"], 0)
                    self.assertEqual(ops["ReduceMean"], 5)  # 2 per layer + final

    def test_matches_torch_at_other_shapes(self):
        """The graphs are evaluated (numpy oracle) at a batch/seq different from
        the export trace, which also exercises the dynamic axes."""
        for n in NAMES:
            with self.subTest(model=n):
                fam, loss, model = self.model_for(n)
                inputs = E.example_inputs(fam, model, loss, 3, 11, seed=99)
                with torch.no_grad():
                    ref = model(*inputs.values()).numpy()
                got = npeval.run(self.onnx[n], {k: v.numpy()
                                                for k, v in inputs.items()})
                got = got["loss" if loss else "logits"]
                self.assertEqual(got.shape, ref.shape)
                np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)

    def test_external_data_holds_the_same_weights(self):
        # Models past EXTERNAL_DATA_BYTES keep their weights beside the graph
        # (the 2 GB protobuf limit); forced here on a small one.
        from onnx import numpy_helper
        with tempfile.TemporaryDirectory() as d:
            model = M.GPT2()
            inputs = E.example_inputs("gpt2", model, False, 2, 8)
            inline = E.export_module(model, os.path.join(d, "a.onnx"), inputs, "logits")
            ext = E.export_module(model, os.path.join(d, "b.onnx"), inputs, "logits",
                                  external_data=True)
            self.assertLess(ext["bytes"], inline["bytes"] // 4)
            bare = onnx.load(os.path.join(d, "b.onnx"), load_external_data=False)
            locations = {i.data_location for i in bare.graph.initializer}
            self.assertEqual(locations, {onnx.TensorProto.EXTERNAL})
            self.assertTrue(os.path.exists(os.path.join(d, "b.onnx.data")))
            a = {i.name: numpy_helper.to_array(i)
                 for i in onnx.load(os.path.join(d, "a.onnx")).graph.initializer}
            b = {i.name: numpy_helper.to_array(i)
                 for i in onnx.load(os.path.join(d, "b.onnx")).graph.initializer}
            self.assertEqual(sorted(a), sorted(b))
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])
            self.assertEqual(json.load(open(os.path.join(d, "a.params.json")))["initializers"],
                             json.load(open(os.path.join(d, "b.params.json")))["initializers"])

    def test_dropout_kept_only_when_positive(self):
        with tempfile.TemporaryDirectory() as d:
            for p, want in ((0.1, 1 + 3 * 2), (0.0, 0)):  # wte drop + 3 per layer
                model = M.GPT2(dropout=p)
                inputs = E.example_inputs("gpt2", model, False, 2, 8)
                E.export_module(model, os.path.join(d, "m.onnx"), inputs, "logits")
                ops = collections.Counter(
                    nd.op_type for nd in onnx.load(os.path.join(d, "m.onnx")).graph.node)
                self.assertEqual(ops["Dropout"], want, p)
            # A user module with nn.Dropout(p=0) exports no Dropout either.
            mlp = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.0))
            mlp.config = None
            E.export_module(mlp, os.path.join(d, "s.onnx"),
                            collections.OrderedDict(x=torch.ones(2, 4)), "logits")
            ops = [nd.op_type for nd in onnx.load(os.path.join(d, "s.onnx")).graph.node]
            self.assertEqual(ops, ["Gemm"])
            self.assertIsInstance(mlp[1], torch.nn.Dropout)  # restored


@unittest.skipUnless(HAVE_DEPS, "needs torch")
class ModelTest(unittest.TestCase):

    def test_init_deterministic(self):
        for fam in ("mlp", "gpt2", "llama", "bert"):
            a = M.build(fam).state_dict()
            b = M.build(fam, loss=True).state_dict()
            self.assertEqual(list(a), list(b))  # loss variant: same names
            for k in a:
                self.assertTrue(torch.equal(a[k], b[k]), (fam, k))

    def test_parameter_names(self):
        g = dict(M.GPT2().named_parameters())
        for k in ("wte.weight", "wpe.weight", "h.0.ln_1.weight",
                  "h.0.attn.c_attn.weight", "h.0.attn.c_attn.bias",
                  "h.1.mlp.c_proj.weight", "ln_f.bias"):
            self.assertIn(k, g)
        ll = dict(M.Llama().named_parameters())
        self.assertFalse([k for k in ll if k.endswith("bias")])
        self.assertEqual(tuple(ll["layers.0.self_attn.k_proj.weight"].shape), (32, 64))
        self.assertIn("lm_head.weight", ll)
        self.assertEqual(M.Llama().state_dict().keys(), ll.keys())  # no buffers

    def test_gpt2_124m_size(self):
        cfg = M.gpt2_124m()
        h, l, v, p = cfg["hidden"], cfg["layers"], cfg["vocab"], cfg["positions"]
        n = v * h + p * h + l * (12 * h * h + 13 * h) + 2 * h
        self.assertEqual(n, 124439808)  # the well-known GPT-2 small count

    def test_gpt2_causal(self):
        m = M.GPT2()
        ids = torch.randint(0, 256, (1, 10))
        ids2 = ids.clone()
        ids2[0, 7:] = 0
        with torch.no_grad():
            a, b = m(ids), m(ids2)
        self.assertTrue(torch.allclose(a[0, :7], b[0, :7], atol=1e-6))

    def test_bert_padding_mask(self):
        m = M.Bert()
        ids = torch.randint(0, 128, (1, 10))
        mask = torch.ones(1, 10, dtype=torch.long)
        mask[0, 6:] = 0
        ids2 = ids.clone()
        ids2[0, 6:] = 5
        tt = torch.zeros_like(ids)
        with torch.no_grad():
            a, b = m(ids, mask, tt), m(ids2, mask, tt)
        self.assertTrue(torch.allclose(a[0, :6], b[0, :6], atol=1e-5))

    def test_llama_gqa_matches_repeat_interleave(self):
        m = M.Llama()
        attn = m.layers[0].self_attn
        x = torch.randn(2, attn.kv_heads, 5, attn.head_dim)
        self.assertTrue(torch.equal(attn._repeat_kv(x),
                                    x.repeat_interleave(attn.n_rep, dim=1)))

    def test_loss_ignore_index(self):
        m = M.GPT2Loss()
        ids = torch.randint(0, 256, (2, 8))
        labels = torch.randint(0, 256, (2, 8))
        labels[:, :4] = -100
        with torch.no_grad():
            logits = M.GPT2.forward(m, ids)
            want = torch.nn.functional.cross_entropy(
                logits[:, 4:].reshape(-1, 256), labels[:, 4:].reshape(-1))
            self.assertTrue(torch.allclose(m(ids, labels), want, atol=1e-6))


if __name__ == "__main__":
    unittest.main()
