"""Tests for the user export helper (parallelize.userexport and the
``MODULE:FACTORY`` / ``--hf`` forms of ``python3 -m parallelize.export``).

Run from the repository root:

    PYTHONPATH=python-frontend /usr/bin/python3 -m unittest discover -s python-frontend/tests -v
"""

from __future__ import annotations

import contextlib
import io
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

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402

from parallelize import export as E  # noqa: E402
from parallelize import npeval  # noqa: E402
from parallelize import userexport as U  # noqa: E402

try:
    import transformers  # noqa: F401
    HAVE_HF = True
except ImportError:  # pragma: no cover
    HAVE_HF = False


class TinyLM(nn.Module):
    """A user's model: returns a dict with the loss, holds a persistent
    float buffer (a table it reads as data) and a zero-probability dropout."""

    def __init__(self, vocab=32, hidden=8):
        super().__init__()
        self.config = type("Cfg", (), {"vocab_size": vocab})()
        self.embed = nn.Embedding(vocab, hidden)
        self.register_buffer("scale", torch.linspace(0.5, 1.5, hidden))
        self.drop = nn.Dropout(0.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, input_ids, labels=None):
        h = self.drop(self.embed(input_ids) * self.scale)
        logits = self.head(h)
        loss = nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]),
                                           labels.view(-1))
        return {"loss": loss, "logits": logits}


def make_tiny_lm():
    torch.manual_seed(3)
    return TinyLM()


class NormedLM(TinyLM):
    """TinyLM with two LayerNorms: their scales (ones) and shifts (zeros)
    are equal tensors, which an eval-mode export merges."""

    def __init__(self):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(8), nn.LayerNorm(8)

    def forward(self, input_ids, labels=None):
        logits = self.head(self.norm2(self.norm1(self.embed(input_ids))))
        return nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]),
                                           labels.view(-1))


class UserExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        warnings.filterwarnings("ignore")
        cls.tmp = tempfile.TemporaryDirectory()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def export_cli(self, *args):
        """``python3 -m parallelize.export ARGS`` in a new process."""
        env = dict(os.environ, PYTHONPATH=FRONTEND + os.pathsep + HERE)
        return subprocess.run([sys.executable, "-m", "parallelize.export"] +
                              list(args), env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def export_main(self, *args):
        """The same command line run in this process (torch is loaded
        once); returns (exit status, stderr)."""
        err = io.StringIO()
        with contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            try:
                rc = E.main(list(args))
            except SystemExit as e:  # argparse errors
                rc = e.code
        return rc, err.getvalue()

    def test_parse_config(self):
        self.assertEqual(U.parse_config("a=2, b=0.5,c=True,d=None,e=gelu_new"),
                         {"a": 2, "b": 0.5, "c": True, "d": None,
                          "e": "gelu_new"})
        with self.assertRaises(ValueError):
            U.parse_config("n_layer")

    def test_factory_loss_graph(self):
        path = os.path.join(self.tmp.name, "tiny.onnx")
        r = self.export_cli("test_userexport:make_tiny_lm", "-o", path,
                            "--batch", "3", "--seq", "5", "-q")
        self.assertEqual(r.returncode, 0, r.stderr)
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        g = m.graph
        self.assertEqual([o.name for o in g.output], ["loss"])
        self.assertEqual([i.name for i in g.input], ["input_ids", "labels"])
        for i in g.input:  # dynamic batch, fixed sequence
            dims = i.type.tensor_type.shape.dim
            self.assertEqual(dims[0].dim_param, "batch")
            self.assertEqual(dims[1].dim_value, 5)
        # parameters keep their PyTorch names; the float buffer is a
        # Constant, not a (trainable) initializer; no Dropout for p == 0
        self.assertEqual(sorted(t.name for t in g.initializer),
                         ["embed.weight", "head.bias", "head.weight"])
        self.assertIn("scale", [o for n in g.node if n.op_type == "Constant"
                                for o in n.output])
        self.assertNotIn("Dropout", {n.op_type for n in g.node})
        # the graph computes the module's loss, at another batch size
        model = make_tiny_lm()
        ids = torch.randint(0, 32, (4, 5), generator=torch.Generator()
                            .manual_seed(1))
        labels = torch.randint(0, 32, (4, 5), generator=torch.Generator()
                               .manual_seed(2))
        want = float(model(ids, labels)["loss"])
        got = npeval.run(m, {"input_ids": ids.numpy(),
                             "labels": labels.numpy()})["loss"]
        self.assertLess(abs(float(got) - want), 1e-5 * abs(want))

    def test_training_option(self):
        """training=True (the default) keeps every parameter's initializer;
        training=False exports in eval mode, where torch merges the equal
        norm tensors and names the others through Identity nodes."""
        torch.manual_seed(3)
        model = NormedLM()
        inputs = U.example_inputs(model, ["input_ids", "labels"], 2, 5)
        params = {n for n, _ in model.named_parameters()}
        graphs = {}
        for training in (True, False):
            path = os.path.join(self.tmp.name, f"normed_{training}.onnx")
            if training:
                U.export_loss(model, path, inputs)
            else:
                U.export_loss(model, path, inputs, training=False)
            graphs[training] = onnx.load(path).graph
        self.assertEqual({t.name for t in graphs[True].initializer}, params)
        self.assertNotIn("Identity", {n.op_type for n in graphs[True].node})
        inits = {t.name for t in graphs[False].initializer}
        self.assertEqual(len(inits), len(params) - 2)
        aliases = {n.output[0]: n.input[0] for n in graphs[False].node
                   if n.op_type == "Identity" and n.input[0] in inits}
        self.assertEqual(inits | set(aliases), params)
        self.assertEqual(sorted(aliases), ["norm2.bias", "norm2.weight"])

    def test_errors_exit_2(self):
        out = os.path.join(self.tmp.name, "x.onnx")
        rc, err = self.export_main("--hf", "NoSuchModelClass", "-o", out)
        self.assertEqual(rc, 2)
        self.assertIn("NoSuchModelClass", err)
        rc, err = self.export_main("not_a_factory_spec", "-o", out)
        self.assertEqual(rc, 2)
        self.assertIn("MODULE:FACTORY", err)
        rc, err = self.export_main("--hf", "GPT2LMHeadModel")
        self.assertEqual(rc, 2)
        self.assertIn("-o/--output is required", err)
        self.assertFalse(os.path.exists(out))

    @unittest.skipUnless(HAVE_HF, "transformers is not installed "
                         "(scripts/install-deps.sh installs it)")
    def test_hf_gpt2(self):
        path = os.path.join(self.tmp.name, "gpt2.onnx")
        cfg = ("n_layer=1,n_embd=32,n_head=2,vocab_size=64,n_positions=32,"
               "resid_pdrop=0.0,embd_pdrop=0.0,attn_pdrop=0.0")
        rc, err = self.export_main("--hf", "GPT2LMHeadModel", "--config", cfg,
                                   "-o", path, "-q")
        self.assertEqual(rc, 0, err)
        m = onnx.load(path)
        self.assertEqual([o.name for o in m.graph.output], ["loss"])
        self.assertEqual([i.name for i in m.graph.input],
                         ["input_ids", "labels"])
        names = {t.name for t in m.graph.initializer}
        model = U.build_hf("GPT2LMHeadModel", U.parse_config(cfg), seed=0)
        self.assertEqual(names, {n for n, _ in model.named_parameters()})
        meta = {p.key: p.value for p in m.metadata_props}
        self.assertEqual(meta["parallelize.hf_class"], "GPT2LMHeadModel")
        self.assertEqual(json.loads(meta["parallelize.hf_config"])["n_layer"], 1)
        # the same seed gives the export's weights
        for t in m.graph.initializer:
            w = dict(model.named_parameters())[t.name].detach().numpy()
            np.testing.assert_array_equal(onnx.numpy_helper.to_array(t), w)

    @unittest.skipUnless(HAVE_HF, "transformers is not installed")
    def test_hf_padding_idx_recorded(self):
        path = os.path.join(self.tmp.name, "bert.onnx")
        cfg = ("num_hidden_layers=1,hidden_size=32,num_attention_heads=2,"
               "intermediate_size=64,vocab_size=64,max_position_embeddings=32,"
               "hidden_dropout_prob=0.0,attention_probs_dropout_prob=0.0,"
               "pad_token_id=3")
        rc, err = self.export_main("--hf", "BertForMaskedLM", "--config", cfg,
                                   "--inputs", "input_ids,attention_mask,labels",
                                   "-o", path, "-q")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("padding_idx", err)  # recorded: nothing to warn
        m = onnx.load(path)
        meta = {p.key: p.value for p in m.metadata_props}
        self.assertEqual(json.loads(meta["parallelize.padding_idx"]),
                         {"bert.embeddings.word_embeddings.weight": 3})
        self.assertEqual([i.name for i in m.graph.input],
                         ["input_ids", "attention_mask", "labels"])

    def test_padding_idx_of_a_table_the_graph_lacks_warns(self):
        class Lookup(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(8, 4, padding_idx=-1)

        class Graph:  # an ONNX model without the table
            class graph:
                initializer = []
        meta = {}
        warns = U.record_padding_idx(Lookup(), Graph, meta)
        self.assertEqual(meta, {})
        self.assertEqual(len(warns), 1)
        self.assertIn("emb.weight: nn.Embedding(padding_idx=7)", warns[0])
        self.assertEqual(U.padding_idx_tables(Lookup()), {"emb.weight": 7})

if __name__ == "__main__":
    unittest.main()
