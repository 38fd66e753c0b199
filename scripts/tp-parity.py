#!/usr/bin/env python3
"""Tensor parallelism (alone, with sequence parallelism, DDP and ZeRO) and
context parallelism (alone and with all of those but sp) train the
single-rank model.

For mlp_loss, llama_loss (grouped-query attention: 4 heads, 2 kv heads;
two labels of each row -100, ignored),
gpt2_loss and bert_loss (a padding mask, two segments), with the optimizer and data of dp-parity.py (AdamW, clipping at
0.5, one global batch of G rows per step fed through --data-npy):

  * the single-rank program: micro-batches of G rows;
  * each case: tp n x dp_replicate m (x dp_shard d under ZeRO stage z),
    grad_accum K, micro-batches of G / (m d K) rows, started on n m d ranks
    by `parallelize run` (the tp ranks of one replica read the same rows);
    with cp c (the 8th field), n m d c ranks, the cp ranks of one replica
    reading their zigzag chunks of the same rows (chunks r and 2c-1-r of
    2c along the sequence).

Gates, per case against the single-rank run:
  * loss of every step within 1e-5 relative; the gradient norm (which
    clipping reads) within 1e-5;
  * final weights from the --save checkpoint (each rank's blocks) within
    1e-4 x max(max|single|, 1) per tensor;
  * the split: the parameters Megatron splits are split (column parallel:
    fc1, q/k/v, GPT-2's fused c_attn by heads (each rank's block is its
    heads of q, of k and of v: pz-interleave-qkv), gate, up, c_fc; row
    parallel: fc2, o, down, c_proj; the word embedding and the head on the
    vocabulary) and no other; BERT's MLM head stays whole (its dense
    layer's output is normalized whole); with tp above Llama's kv heads (tp 4 over 2) q and o split and
    k and v are replicated: whole on every rank, each rank attending with
    the kv head its query heads share;
  * communication, on every rank and step, by reason, equal to report.json
    and to the formula (b s h = rows x seq x hidden of one micro-batch,
    ring(B) = 2(n-1)/n B, S the split parameters):
      vocabulary (when tp divides it; the word embedding and the head's
      weight split on it, b s tokens):
      tp.vocab_parallel_embedding  all_reduce  K x ring(4 b s h)
      tp.vocab_parallel_max        all_reduce  K x 2 ring(4 b s) (the loss
                                     and its gradient each take the max and
      tp.vocab_parallel_sum_exp    all_reduce  K x 2 ring(4 b s)  the sum)
      tp.vocab_parallel_target     all_reduce  K x ring(4 b s)
      tp.partial_sum  all_reduce  K x A + ring(4)  where A is, per split
                        block, ring(4 b s h) forward and ring(4 b s h)
                        backward (Megatron: an attention block and an MLP
                        block per layer; the backward all-reduce sums the
                        gradients of the block's column-parallel inputs, q,
                        k and v or gate and up, before it communicates);
                        the MLP: ring(4 rows classes) (fc2's output; no
                        backward all-reduce, x is data); the one ring(4)
                        is the gradient norm's sum of squares over the split
                        parameters (when S is not empty); with a split
                        vocabulary A has one more ring(4 b s h), the
                        head's input gradient (a sum over the classes);
      tp.kv_replica_grad all_reduce  K x layers x 2 ring(4 b kv s d) (tp
                        above the kv heads: the key and value gradients,
                        each rank's head among zeros, summed whole)
      with sp (half(B) = (n-1)/n B, L layers, v = 1 with a split
      vocabulary): each block's all-reduce is a reduce-scatter and an
      all-gather of the same b s h, and every whole parameter the split
      hidden states meet gets an all-reduced partial gradient:
      sp.partial_sum reduce_scatter K x (4 L + v) x half(4 b s h)
      sp.all_gather  all_gather  K x ((6 L + 3 v) x half(4 b s h) + half(4 s h)
                        for a position table): 2 L block inputs forward and
                        again backward (Megatron keeps them split across
                        the step), 2 L output gradients backward; the
                        head's input twice and the embedding's cotangent
      sp.vocab_parallel_embedding reduce_scatter K x half(4 b s h)
      tp.partial_sum all_reduce  K x ring(4 W) + ring(4), W the elements of
                        the whole parameters but the lookup tables
      ddp.grad_bucket all_reduce  2(m-1)/m x 4 P_local  (m > 1, no dp_shard;
                        P_local the parameter elements of one rank's blocks);
      zero.*, zero3.*, hsdp.*   (dp_shard d > 1) dp-parity's formulas on
                        each rank's blocks: ZeRO chunks each block, so C is
                        the sum over parameters of ceil(P_local,p / d);
  * activation memory (GPT-2, Llama, BERT without cp or dropout): the bytes
    one micro-batch keeps for the backward pass (report.json's
    saved_activation_bytes) equal Korthikanti et al.'s terms for the
    model: norms' inputs and outputs whole on every tp rank, the rest
    split, everything split under sp (saved_activations);
  * memory: every rank's measured peak equals report.json's plan; its
    parameters, gradients and AdamW state are 4, 4 and 8 bytes per element
    of its blocks (P_local), under ZeRO dp-parity's 4P or 4C, 4P or 4C
    and 8C with P_local for P;
  * under ZeRO, checkpoints hold each rank's chunk of its block as boxes
    of the whole tensor (the split check reads them: every box lies inside
    one tp block), and a tp 2 x dp_shard 2 zero 1 checkpoint continues on
    one rank and under tp 2 x dp_replicate 2 (RESHARD);
  * dropout (VARIANTS: GPT-2 exported again with dropout 0.1): the same
    gates, the attention split by heads (each rank's dropout of its
    probabilities draws its elements' masks in the whole tensor), tp 2 x
    dp 2 x grad_accum 2 and tp 2 sp x grad_accum 2 drawing the single
    rank's masks;
  * a vocabulary tp does not divide (VARIANTS: the models exported
    again with 253 classes): the same gates; the word embedding (and
    Llama's head, BERT's decoder and its bias) hold ceil(V / tp) rows or
    columns per rank, the last block partly padding (zero, masked out of
    the loss), which checkpoints do not store; the program still checks
    token ids against the real vocabulary (an id of 253 exits 2) and draws
    synthetic ids below it;
  * resharding (RESHARD): the checkpoint a case saves after --steps/2 steps
    loads on one rank and under another tp, which train the remaining
    steps within 1e-6 of that layout's uninterrupted run.

Usage: /usr/bin/python3 scripts/tp-parity.py [--bin DIR] [--models DIR]
       [--work DIR] [--steps N] [--only NAME,...] [--full]
Exit status 1 when a gate fails.
"""

import collections
import importlib.util
import json
import os
import re
import sys
import tempfile
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pzparity as P  # noqa: E402

_spec = importlib.util.spec_from_file_location("dp_parity", os.path.join(HERE, "dp-parity.py"))
D = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(D)

LOSS_RTOL, WEIGHT_RTOL, RESHARD_RTOL = D.LOSS_RTOL, D.WEIGHT_RTOL, D.RESHARD_RTOL
GLOBAL_ROWS = 8
# (model, tp, dp_replicate, grad_accum, dp_shard, zero)
CASES = [("mlp_loss", 2, 1, 1, 1, 0), ("llama_loss", 2, 1, 1, 1, 0), ("llama_loss", 2, 2, 2, 1, 0),
         ("llama_loss", 4, 1, 1, 1, 0), ("gpt2_loss", 2, 1, 1, 1, 0), ("bert_loss", 2, 1, 1, 1, 0),
         ("llama_loss", 2, 1, 1, 2, 1), ("gpt2_loss", 2, 1, 2, 2, 3),
         # sequence parallelism (the 7th field)
         ("llama_loss", 2, 1, 1, 1, 0, True), ("gpt2_loss", 4, 1, 1, 1, 0, True),
         ("bert_loss", 2, 2, 2, 1, 0, True), ("llama_loss", 2, 1, 1, 2, 3, True),
         # context parallelism (the 8th field): alone, with tp and grad_accum
         # (the gradients summed over cp once per step), with ZeRO and
         # grad_accum (once per micro-batch), with tp and dp_replicate, over
         # 4 ranks
         ("llama_loss", 1, 1, 1, 1, 0, False, 2), ("gpt2_loss", 2, 1, 2, 1, 0, False, 2),
         ("bert_loss", 1, 1, 2, 2, 1, False, 2), ("llama_loss", 2, 2, 1, 1, 0, False, 2),
         ("gpt2_loss", 1, 1, 1, 1, 0, False, 4),
         # sequence parallelism inside context parallelism: the sequence
         # split over cp, each cp rank's tokens over tp
         ("llama_loss", 2, 1, 1, 1, 0, True, 2)]
FULL_CASES = [(mo, t, m, k, 1, 0) for mo in ("mlp_loss", "llama_loss", "gpt2_loss", "bert_loss")
              for t in (2, 4) for m in (1, 2) for k in (1, 2) if t * m <= 8] + \
             [(mo, t, m, k, 2, z) for mo in ("mlp_loss", "llama_loss", "gpt2_loss", "bert_loss")
              for t in (2, 4) for m in (1, 2) for z in (1, 2, 3) for k in (1, 2)
              if t * m * 2 <= 8 and (k == 1 or z == 3)]
# every case of the transformers again with sequence parallelism
FULL_CASES += [c + (True,) for c in FULL_CASES if not c[0].startswith("mlp")]
# context parallelism: cp 2 with tp {1, 2, 4} (tp 4 above Llama's kv heads),
# dp_replicate 2, dp_shard 2 under ZeRO 1 and 3, grad_accum 2 without ZeRO
# and under ZeRO 3, up to 8 ranks; cp 4 alone and with tp 2
FULL_CASES += [(mo, t, m, k, n, z, False, 2) for mo in ("llama_loss", "gpt2_loss", "bert_loss")
               for t in (1, 2, 4) for (m, n, z) in ((1, 1, 0), (2, 1, 0), (1, 2, 1), (1, 2, 3))
               for k in (1, 2) if t * 2 * m * n <= 8 and (k == 1 or z in (0, 3))] + \
              [(mo, t, 1, 1, 1, 0, False, 4) for mo in ("llama_loss", "gpt2_loss", "bert_loss")
               for t in (1, 2)]
# and every cp case with tp again with sequence parallelism
FULL_CASES += [c[:6] + (True, c[7]) for c in FULL_CASES if len(c) > 7 and c[1] > 1]
# Variants of the models, exported again (python-frontend) with other
# constructor arguments: (directory, label, overrides, cases, full cases).
# A vocabulary tp does not divide (padded; tied head: GPT-2, separate head:
# Llama, a decoder with a bias: BERT); dropout (its masks index the global
# batch, so dp and grad_accum draw the single rank's; tp runs it whole).
PADDED_VOCAB = 253
PADDED_CASES = [("llama_loss", 2, 2, 2, 1, 0), ("llama_loss", 4, 1, 1, 1, 0),
                ("gpt2_loss", 2, 1, 1, 1, 0), ("llama_loss", 2, 1, 1, 2, 3),
                ("llama_loss", 2, 1, 1, 1, 0, False, 2)]
VARIANTS = [
    (f"vocab{PADDED_VOCAB}", f" (vocabulary {PADDED_VOCAB}, padded)", {"vocab": PADDED_VOCAB},
     PADDED_CASES, PADDED_CASES + [("gpt2_loss", 4, 2, 1, 1, 0), ("bert_loss", 2, 1, 2, 1, 0),
                                   ("bert_loss", 4, 1, 1, 1, 0), ("gpt2_loss", 4, 1, 1, 2, 1),
                                   ("bert_loss", 2, 1, 1, 2, 2), ("llama_loss", 4, 1, 1, 1, 0, True),
                                   ("gpt2_loss", 2, 2, 1, 1, 0, True),
                                   ("bert_loss", 2, 1, 1, 2, 3, True),
                                   ("gpt2_loss", 2, 1, 1, 1, 0, False, 2),
                                   ("bert_loss", 4, 1, 1, 1, 0, False, 2)]),
    ("dropout", " (dropout 0.1)", {"dropout": 0.1}, [("gpt2_loss", 2, 2, 2, 1, 0),
                                                     ("gpt2_loss", 2, 1, 2, 1, 0, True),
                                                     ("gpt2_loss", 2, 1, 2, 1, 0, False, 2)],
     [("gpt2_loss", 2, 2, 2, 1, 0), ("gpt2_loss", 4, 1, 2, 1, 0), ("gpt2_loss", 2, 1, 2, 2, 3),
      ("gpt2_loss", 2, 1, 2, 1, 0, True), ("gpt2_loss", 4, 2, 1, 1, 0, True),
      ("gpt2_loss", 2, 1, 2, 2, 3, True), ("gpt2_loss", 1, 1, 2, 1, 0, False, 2),
      ("gpt2_loss", 2, 1, 2, 1, 0, False, 2), ("gpt2_loss", 1, 2, 1, 1, 0, False, 2),
      ("gpt2_loss", 2, 1, 1, 1, 0, True, 2), ("gpt2_loss", 1, 1, 1, 1, 0, False, 4)]),
]
# A case's checkpoint loads under these (None: one rank); under padding
# the last block of tp 2 holds 126 of its 127 rows, of tp 4 61 of 64.
# A tp x ZeRO checkpoint holds each rank's chunk of its block as the boxes
# of the tensor the chunk covers.
RESHARD = {("llama_loss", 2, 2, 2, 1, 0): [None, ("llama_loss", 4, 1, 1, 1, 0),
                                          ("llama_loss", 2, 1, 1, 2, 3)],  # padded: chunks of
           # clipped blocks (the padded variant's zero 3 case)
           ("llama_loss", 2, 1, 1, 2, 1): [None, ("llama_loss", 2, 2, 2, 1, 0)],
           # GPT-2's fused QKV in its per-rank order: one rank reads the model's
           # layout; ZeRO 3 reads each chunk's pieces of the three parts
           ("gpt2_loss", 2, 1, 1, 1, 0): [None, ("gpt2_loss", 2, 1, 2, 2, 3)],
           # sequence parallelism changes no parameter's layout
           ("llama_loss", 2, 1, 1, 1, 0, True): [None, ("llama_loss", 4, 1, 1, 1, 0)],
           # nor does context parallelism (its data position moves alike)
           ("llama_loss", 1, 1, 1, 1, 0, False, 2): [None, ("llama_loss", 2, 2, 1, 1, 0, False, 2)]}

check, failures = D.check, D.failures


def ranks_of(case):
    return case[1] * case[2] * case[4] * cp_of(case)


def sp_of(case):
    """Whether the case runs sequence parallelism (an optional 7th field)."""
    return len(case) > 6 and case[6]


def cp_of(case):
    """The case's context parallelism (an optional 8th field; 1: none)."""
    return case[7] if len(case) > 7 else 1


def case_name(case):
    _, tp, m, k, n, zero = case[:6]
    return f"tp {tp}" + (" sp" if sp_of(case) else "") + \
        (f" x cp {cp_of(case)}" if cp_of(case) > 1 else "") + f" x dp_replicate {m}" + \
        (f" x dp_shard {n} zero {zero}" if n > 1 else "") + f" grad_accum {k}"


def tp_blocks(entry, tp):
    """Whether a checkpoint tensor's slices are the tp blocks of one dim
    (or, under ZeRO, boxes that each lie inside one of those blocks: a
    ZeRO chunk of an unsplit tensor is saved as a flat range instead)."""
    shape, slices = entry["shape"], entry["slices"]
    if any("flat" in sl for sl in slices):
        return False
    for d, g in enumerate(shape):
        size = -(-g // tp)
        if size < g and all(sl["offsets"][d] // size ==
                            (sl["offsets"][d] + sl["extents"][d] - 1) // size for sl in slices):
            return True
    return False


def vocab_parallel(model, cfg, tp):
    """Whether the word embedding and the logits split on the vocabulary
    (padded to a multiple of tp when tp does not divide it)."""
    return not model.startswith("mlp")


def local_elements(cfg, tp, name, v, split):
    """Elements of parameter `name` on one rank: its block when split; a
    tensor with a vocabulary dim holds ceil(V / tp) of its rows."""
    if name not in split:
        return int(v.size)
    vocab = cfg.get("vocab")
    if vocab and vocab % tp and vocab in v.shape:
        return -(-vocab // tp) * (int(v.size) // vocab)
    return int(v.size) // tp


def split_params(model, cfg, tp):
    """The parameters tp splits, from the model's structure."""
    if model.startswith("mlp"):
        return re.compile(r"^fc1\.|^fc2\.weight$")
    vocab = vocab_parallel(model, cfg, tp)
    if model.startswith("llama"):
        # tp above the kv heads (a multiple of them): q and o split, k and v
        # replicated (whole on every rank)
        attn = "q_proj|k_proj|v_proj|o_proj" if cfg["kv_heads"] % tp == 0 else "q_proj|o_proj"
        blocks = attn + "|gate_proj|up_proj|down_proj"
        head = r"|^embed_tokens\.weight$|^lm_head\.weight$" if vocab else ""
        return re.compile(r"\.(%s)\.weight$%s" % (blocks, head))
    if model.startswith("bert"):  # the encoder, the word embedding and the decoder; the
        # MLM head's dense layer (its output is normalized whole) stays whole
        head = r"|^embeddings\.word_embeddings\.|^cls\.decoder\." if vocab else ""
        return re.compile(r"\.self\.(query|key|value)\.|\.attention\.output\.dense\.weight$|"
                          r"\.intermediate\.dense\.|\.[0-9]+\.output\.dense\.weight$" + head)
    head = r"|^wte\.weight$" if vocab else ""  # GPT-2: wte is also the head; the fused
    # c_attn is split by heads (pz-interleave-qkv), its weight and its bias
    # (with dropout on the attention probabilities too: each rank draws the
    # masks of its heads' elements in the whole tensor)
    return re.compile(r"\.attn\.c_attn\.|\.attn\.c_proj\.weight$|\.mlp\.c_fc\.|"
                      r"\.mlp\.c_proj\.weight$" + head)


def local_params(cfg, tp, params, split):
    """Each parameter's block on one rank, as dp-parity's formulas read
    it (its size and number of dims)."""
    return {p: types.SimpleNamespace(size=local_elements(cfg, tp, p, v, split), ndim=v.ndim)
            for p, v in params.items()}


def expected_bytes(model, cfg, params, case, rows, seq):
    """Bytes per step per reason (ZeRO's, of the local blocks, from
    dp-parity; stage 3's gathers are checked there and None here)."""
    _, tp, m, k, n, zero = case[:6]
    ring = lambda b, n: 2 * (n - 1) * b // n  # noqa: E731
    split = split_params(model, cfg, tp)
    s = [p for p in params if split.search(p)] if tp > 1 else []
    cp, full_seq = cp_of(case), seq
    seq //= cp  # tp's collectives move each rank's tokens
    out = D.expected_bytes(local_params(cfg, tp, params, s), m, n, zero, k) if n > 1 else {}
    if model.startswith("mlp"):
        act = ring(4 * rows * cfg["num_classes"], tp)
    else:
        bsh, tokens = 4 * rows * seq * cfg["hidden"], 4 * rows * seq
        # an attention and an MLP block per layer
        act = cfg["layers"] * 2 * 2 * ring(bsh, tp)
        if model.startswith("llama") and cfg["kv_heads"] % tp:
            # the key and value gradients of the replicated kv heads, whole:
            # b x kv_heads x s x head_dim each, per layer (the whole sequence
            # under cp too: keys and values are gathered along it)
            kv = 4 * rows * full_seq * cfg["kv_heads"] * cfg["hidden"] // cfg["heads"]
            out["tp.kv_replica_grad"] = k * cfg["layers"] * 2 * ring(kv, tp)
        if vocab_parallel(model, cfg, tp):
            act += ring(bsh, tp)  # the head's input gradient, a partial sum over the classes
            out["tp.vocab_parallel_embedding"] = k * ring(bsh, tp)
            out["tp.vocab_parallel_max"] = k * 2 * ring(tokens, tp)  # loss and its gradient
            out["tp.vocab_parallel_sum_exp"] = k * 2 * ring(tokens, tp)
            out["tp.vocab_parallel_target"] = k * ring(tokens, tp)
    out["tp.partial_sum"] = k * act + (ring(4, tp) if s else 0)
    whole = sequence_parallel_bytes(out, model, cfg, params, s, k, tp, rows, seq) \
        if sp_of(case) else 0
    # the gradients' sums over cp: once per step with grad_accum and no
    # ZeRO (context_parallel_bytes)
    per_step = 1 if k > 1 and n == 1 else k
    if cp > 1:
        context_parallel_bytes(out, model, cfg, params, s, k, tp, cp, rows, full_seq,
                               sp_of(case), per_step)
    if whole and cp > 1:
        # sp with cp: the whole parameters the split hidden states meet get
        # gradients partial over the tokens of every cp and tp rank, each
        # all-reduced once over both axes (instead of over tp, then cp)
        out["tp.partial_sum"] -= k * ring(4 * whole, tp)
        out["cp.partial_sum"] -= per_step * ring(4 * whole, cp)
        out["cp+tp.partial_sum"] = per_step * ring(4 * whole, cp * tp)
    if m > 1 and n == 1:
        local = sum(local_elements(cfg, tp, p, v, s) for p, v in params.items())
        out["ddp.grad_bucket"] = ring(4 * local, m)
    return {r: b for r, b in out.items() if b != 0}, s


def saved_activations(model, cfg, case, rows, seq):
    """The bytes one micro-batch's forward pass keeps for its backward pass
    on each rank (report.json's saved_activation_bytes), in Korthikanti et
    al.'s terms (Reducing Activation Recomputation in Large Transformer
    Models, 2022, section 4): per layer, values tp leaves whole on every
    rank (the two norms' inputs and outputs: 4 s b h) and values it splits
    (GPT-2: q, k, v, the attention's output, the MLP's 4h pre- and post-GELU
    values, 12 s b h; Llama: q, the attention's output, k and v at kv/a of
    h each, and the SwiGLU's gate, up and their two products at the ffn
    width), s b h (4 + 12/t) without sp and 16 s b h / t with it, as their
    sbh (10 + 24/t) and 34 sbh / t; in fp32, with a fused attention (no
    s^2 scores kept) and dropout masks regenerated, not stored. Then the
    final norm's input and output (2 s b h, split under sp), the logits (the
    rank's classes) and the int64 labels. Replicated kv heads (tp above
    Llama's kv heads) are whole on every rank. BERT (post-norm): per layer
    the same 4 s b h of norms and GPT-2's split values at its intermediate
    width; outside the layers, the embeddings' norm (2 s b h) and the MLM
    head's dense, GELU and norm outputs (3 s b h), split under sp, and the
    padding mask (b s floats, whole). None where the terms are not derived:
    an unfused attention (dropout), cp."""
    _, tp, _, _, _, _ = case[:6]
    if cp_of(case) > 1 or cfg.get("dropout", 0) > 0 or model.split("_")[0] not in (
            "gpt2", "llama", "bert"):
        return None
    sp = sp_of(case)
    b, s, h, a = rows, seq, cfg["hidden"], cfg["heads"]
    sbh = s * b * h
    norms = 4 * sbh
    outside, mask = 2 * sbh, 0
    if model.startswith("gpt2"):
        divided, whole = 4 * sbh + 2 * 4 * sbh, 0
    elif model.startswith("bert"):
        divided, whole = 4 * sbh + 2 * s * b * cfg["intermediate"], 0
        outside, mask = 5 * sbh, b * s
    else:
        kv = 2 * sbh * cfg["kv_heads"] // a
        mlp = 4 * s * b * cfg["ffn"]
        divided, whole = (2 * sbh + mlp, kv) if cfg["kv_heads"] % tp else \
            (2 * sbh + kv + mlp, 0)
    per_layer = (norms + divided) / tp + whole if sp else norms + divided / tp + whole
    vocab = cfg["vocab"]
    classes = -(-vocab // tp) if vocab_parallel(model, cfg, tp) else vocab
    elements = cfg["layers"] * per_layer + (outside / tp if sp else outside) + mask + \
        b * s * classes
    return int(4 * elements) + 8 * b * s


def context_parallel_bytes(out, model, cfg, params, split, k, tp, cp, rows, seq, sp, per_step):
    """Context parallelism over cp ranks, per micro-batch and layer.

    Ring attention (the kv heads split or whole, not replicated by tp): each
    step passes the rank's key and value block (b x kv heads of the rank x
    s/cp x head_dim each) to the next rank, with the block's positions (s/cp
    int64, causal) or its padding mask (BERT: b x s/cp floats): cp - 1
    shifts forward and again backward (cp.ring_kv_shift), and the key and
    value gradients travel with their block, cp shifts (cp.ring_kv_grad_shift).
    With tp above Llama's kv heads the attention reads its key and value
    all-gathered (half(B) = (cp-1)/cp B) and all-reduces their gradients,
    which come out whole (ring). An attention with dropout on its
    probabilities is not fused (softmax, dropout and two matmuls): its
    key and value are all-gathered alike, and their gradients, partial sums
    over the ranks' queries, are all-reduced whole (cp.partial_sum; a
    transpose sits between the all-reduce and the slice, so they are not
    one reduce-scatter). Under sp the forward's gathered key and value
    are not kept for the backward pass: it gathers them again, as it does
    every all-gather of the forward pass.

    Every parameter's gradient (the rank's block) is a partial sum over the
    ranks' tokens, all-reduced: with grad_accum K > 1 once per step, in
    @finalize_grads after the accumulation, except under ZeRO (dp_shard > 1,
    whose reduce-scatter chunks the gradients inside each micro-batch): K
    times. The loss's sum and its token count (forward and backward) are
    all-reduced."""
    half = lambda b: (cp - 1) * b // cp  # noqa: E731
    ring = lambda b: 2 * (cp - 1) * b // cp  # noqa: E731
    heads = cfg["heads"]
    kv_heads = cfg.get("kv_heads", heads)
    layers = cfg["layers"]
    explicit = cfg.get("dropout", 0) > 0
    if explicit or (tp > 1 and kv_heads % tp):
        kv_local = kv_heads if kv_heads % tp else kv_heads // tp
        kv = 4 * rows * kv_local * seq * (cfg["hidden"] // heads)
        out["cp.all_gather"] = k * layers * 2 * half(kv) * (2 if sp else 1)
        out["cp.partial_sum" if explicit else "cp.kv_grad"] = k * layers * 2 * ring(kv)
    else:
        block = 4 * rows * (kv_heads // tp) * (seq // cp) * (cfg["hidden"] // heads)
        travels = 2 * block + (4 * rows * (seq // cp) if model.startswith("bert")
                               else 8 * (seq // cp))
        out["cp.ring_kv_shift"] = k * layers * 2 * (cp - 1) * travels
        out["cp.ring_kv_grad_shift"] = k * layers * cp * 2 * block
    local = sum(local_elements(cfg, tp, p, v, split) for p, v in params.items())
    out["cp.partial_sum"] = out.get("cp.partial_sum", 0) + per_step * ring(4 * local)
    out["cp.loss_sum"] = k * ring(4)
    out["cp.loss_count"] = k * 2 * ring(4)


# Tables read by a lookup whose gradient needs the whole cotangent (so no
# partial sum): the position and token-type embeddings.
LOOKUP_TABLES = {"wpe.weight", "embeddings.position_embeddings.weight",
                 "embeddings.token_type_embeddings.weight"}


def sequence_parallel_bytes(out, model, cfg, params, split, k, tp, rows, seq):
    """Sequence parallelism: each block's all-reduce is a reduce-scatter
    (sp.partial_sum) and an all-gather (sp.all_gather) of the same b s h,
    half of ring(4 b s h) each, plus Megatron's all-gather of each block's
    input again for the weight gradients; the whole parameters the split hidden
    states meet (norms, row-parallel biases, BERT's MLM head) get partial
    gradients, all-reduced whole (tp.partial_sum)."""
    half = lambda b: (tp - 1) * b // tp  # noqa: E731 (a reduce-scatter or an all-gather)
    ring = lambda b: 2 * (tp - 1) * b // tp  # noqa: E731
    bsh = 4 * rows * seq * cfg["hidden"]
    blocks = cfg["layers"] * 2 * 2  # attention and MLP, forward and backward
    vocab = vocab_parallel(model, cfg, tp)
    # with a split vocabulary: the head's input gradient is scattered too
    out["sp.partial_sum"] = k * (blocks + vocab) * half(bsh)
    # gathered: each block's input (forward, and again in the backward pass
    # for its weight gradients: Megatron keeps it split across the step)
    # and its output's gradient (backward); the head's input (forward and
    # backward) and the word embedding's cotangent; a position table's
    # gradient, summed over the batch, s h
    gathers = (blocks + cfg["layers"] * 2 + 3 * vocab) * half(bsh)
    if any(p in params for p in ("wpe.weight", "embeddings.position_embeddings.weight")):
        gathers += half(4 * seq * cfg["hidden"])
    out["sp.all_gather"] = k * gathers
    if vocab:
        out["sp.vocab_parallel_embedding"] = k * half(bsh)
        del out["tp.vocab_parallel_embedding"]
    # (replicated k and v projections: their gradients come from the whole
    # key and value gradients and the gathered input, whole; no partial sum)
    replicated = re.compile(r"\.(k_proj|v_proj)\.")
    whole = sum(int(v.size) for p, v in params.items()
                if p not in split and p not in LOOKUP_TABLES and not replicated.search(p))
    out["tp.partial_sum"] = k * ring(4 * whole) + ring(4)
    return whole


def compile_program(a, onnx_path, out, row_shape, rows, case):
    _, tp, m, k, n, zero = case[:6]
    shapes = []
    for key, tail in row_shape.items():
        shapes += ["--input-shape", key + "=" + "x".join(map(str, [rows] + tail))]
    plan = ["--tp", tp, "--dp-replicate", m, "--grad-accum", k] + (["--sp"] if sp_of(case) else []) \
        + (["--cp", cp_of(case)] if cp_of(case) > 1 else [])
    if n > 1:
        plan += ["--dp-shard", n, "--zero", zero]
    r = P.run([os.path.join(a.bin, "parallelize"), "compile", onnx_path, "-o", out]
              + shapes + D.FLAGS + plan)
    if r.returncode:
        raise RuntimeError(f"compile failed: {r.stderr.strip()}")
    return json.load(open(os.path.join(out, "report.json"))), r.stderr


def check_case(a, name, case, cfg, onnx_path, params, row_shape, feeds, cwork, ref, ref_w):
    model, tp, m, k, n, zero = case[:6]
    ranks = ranks_of(case)
    rows = a.rows // (m * n * k)
    report, remarks = compile_program(a, onnx_path, cwork, row_shape, rows, case)
    got, per_rank, got_w = D.train(a.bin, cwork, ranks, feeds, a.steps, cwork)
    D.check_trained(check, name, a.steps, got, ref, got_w, ref_w, params)
    theory, split = expected_bytes(model, cfg, params, case, rows,
                                   row_shape.get("input_ids", [1])[0])
    if "zero3.param_gather" in theory:
        theory["zero3.param_gather"] = D.zero3_gathers(
            name, report, local_params(cfg, tp, params, split), n, k)
    # The split the program holds: the checkpoint index's slices.
    index = json.load(open(os.path.join(cwork, "ckpt", "index.json")))
    held = sorted(p for p, t in index["tensors"].items()
                  if p in params and tp_blocks(t, tp))
    check(held == sorted(split),
          f"{name}: {len(held)} parameters are split into {tp} blocks, as Megatron splits "
          f"them ({len(split)} expected{'; ' + remarks.strip()[:160] if remarks.strip() else ''})")
    comm = report["communication"]
    check(comm["bytes_per_step_by_reason"] == theory,
          f"{name}: report.json predicts {comm['bytes_per_step_by_reason']}; the formulas give "
          f"{theory}")
    measured = {json.dumps(line["comm_bytes_by_reason"], sort_keys=True)
                for r in per_rank for line in r}
    check(len(per_rank) == ranks and measured == {json.dumps(theory, sort_keys=True)},
          f"{name}: measured per rank and step {sorted(measured)}")
    kept = saved_activations(model, cfg, case, rows, row_shape.get("input_ids", [1])[0])
    if kept is not None:
        counted = report["memory"]["per_rank"][0]["saved_activation_bytes"]
        check(counted == kept, f"{name}: activations kept for the backward pass {counted} "
              f"bytes per micro-batch = Korthikanti's terms {kept}")
    planned = report["memory"]["per_rank"][0]["peak_bytes"]
    peaks = sorted({line["peak_bytes"] for r in per_rank for line in r})
    check(peaks == [planned], f"{name}: measured peak bytes per rank {peaks} = planned {planned}")
    # Each rank holds its blocks of the split parameters (P_local elements):
    # 4 P_local of parameters and of gradients, 8 P_local of AdamW state.
    # Under ZeRO, C is the sum of each block's chunk, ceil(P_local,p / n),
    # and the terms are dp-parity's: 4P or 4C, 4P or 4C, 8C.
    blocks = local_params(cfg, tp, params, split)
    local = sum(v.size for v in blocks.values())
    chunks = sum(-(-v.size // n) for v in blocks.values())
    breakdown = report["memory"]["per_rank"][0]["breakdown"]
    got_mem = {key: breakdown[key] for key in ("parameters", "gradients", "optimizer_state")}
    want = {"parameters": 4 * (chunks if zero >= 3 else local),
            "gradients": 4 * (chunks if zero >= 2 else local),
            "optimizer_state": 8 * chunks}
    check(got_mem == want, f"{name}: parameters, gradients, optimizer state per rank {got_mem} = "
          f"{want} (P_local = {local} of {sum(int(v.size) for v in params.values())}, "
          f"C = {chunks})")
    return got


def check_reshard(a, name, case, runs, single_out, feeds, ref):
    half = a.steps // 2
    cwork = runs[case][0]
    part = os.path.join(cwork, "reshard")
    os.makedirs(part, exist_ok=True)
    D.train(a.bin, cwork, ranks_of(case), feeds, half, part)
    for target in RESHARD[case]:
        if target is not None and target not in runs:  # not a case of this variant
            continue
        if target is None:
            out, ranks, uninterrupted, what = single_out, 1, ref, "1 rank"
        else:
            out, uninterrupted = runs[target]
            ranks, what = ranks_of(target), case_name(target)
        resumed = os.path.join(part, "resumed-" + os.path.basename(out))
        os.makedirs(resumed, exist_ok=True)
        got, _, _ = D.train(a.bin, out, ranks, feeds, a.steps - half, resumed,
                            extra=["--load", os.path.join(part, "ckpt")])
        want = [r["loss"] for r in uninterrupted][half:]
        loss = [r["loss"] for r in got]
        worst = max(D.rel(g, w) for g, w in zip(loss, want)) if loss else 1.0
        check(len(loss) == len(want) and worst <= RESHARD_RTOL,
              f"{name}: saved after {half} steps, loaded under {what}: worst loss rel err "
              f"{worst:.2e} against that layout's uninterrupted run (gate {RESHARD_RTOL:g})")


def export_variant(out, models, overrides):
    """The models exported with constructor `overrides` (python-frontend)."""
    sys.path.insert(0, os.path.join(HERE, "..", "python-frontend"))
    from parallelize import export as E  # noqa: E402 (needs torch)
    os.makedirs(out, exist_ok=True)
    for model in models:
        E.export_family(model[:-len("_loss")], out, loss=True, **overrides)
    return out


def check_vocabulary(a, name, case, cwork, feeds, vocab):
    """The split (padded) program still knows the whole vocabulary: an id
    of V (a padded row of the table) is refused with exit 2, and synthetic
    data draws ids below V."""
    run = [os.path.join(a.bin, "parallelize"), "run", "-n", ranks_of(case), cwork, "--", "--steps", 1,
           "--log-every", 0]
    ids = [f for f in feeds if f.startswith("input_ids=")][0].split("=", 1)[1]
    bad = np.load(ids)
    bad[1, 2] = vocab
    path = os.path.join(cwork, "bad_input_ids.npy")
    np.save(path, bad)
    others = [f for f in feeds if not f.startswith("input_ids=")]
    r = P.run(run + ["--data-npy", ",".join(others + [f"input_ids={path}"])], timeout=300)
    want = f"outside the model's vocabulary [0, {vocab})"
    said = [line for line in r.stderr.splitlines() if want in line]
    check(r.returncode == 2 and said,
          f"{name}: an id of {vocab} exits 2 (exit {r.returncode}: "
          f"{(said or r.stderr.strip().splitlines()[-1:] or [''])[0][:200]})")
    r = P.run(run + ["--data", "synthetic"], timeout=300)
    check(r.returncode == 0, f"{name}: synthetic data trains (exit {r.returncode} "
          f"{r.stderr.strip()[-160:]})")


def run_model(a, model, models_dir, cases, work, label):
    onnx_path = os.path.join(models_dir, model + ".onnx")
    cfg = json.loads(P.onnx_metadata(onnx_path)["parallelize.config"])
    params = P.onnx_params(onnx_path)
    data, row_shape = D.global_batches(models_dir, model, a.steps, a.rows)
    if model.startswith("bert"):  # a padding mask (the first token kept) and two segments
        rng = np.random.default_rng(13)
        data["attention_mask"] = (rng.random(data["attention_mask"].shape) < 0.8).astype(
            np.int64)
        data["attention_mask"][:, 0] = 1
        data["token_type_ids"] = rng.integers(0, 2, data["token_type_ids"].shape).astype(
            np.int64)
    if model.startswith("llama"):  # ignored labels: the mean is over the others
        # Two per row, so that every micro-batch keeps as many tokens and the
        # mean of the micro-batch means (dp, grad_accum: 0009) is the mean.
        rng = np.random.default_rng(17)
        labels = data["labels"].reshape(-1, data["labels"].shape[-1])
        for row in labels:
            row[rng.choice(row.size, 2, replace=False)] = -100
    mwork = os.path.join(work, model)
    feeds = D.save_feeds(data, mwork)
    single = os.path.join(mwork, "single")
    try:
        compile_program(a, onnx_path, single, row_shape, a.rows, (model, 1, 1, 1, 1, 0))
        ref, _, ref_w = D.train(a.bin, single, 1, feeds, a.steps, single)
    except RuntimeError as e:
        check(False, f"{model}{label} single rank: {e}")
        return
    runs = {}
    for case in cases:
        _, tp, m, k, n, zero = case[:6]
        name = f"{model}{label} {case_name(case)}"
        cwork = os.path.join(mwork, f"tp{tp}-r{m}-k{k}" + (f"-s{n}-z{zero}" if n > 1 else "") +
                             ("-sp" if sp_of(case) else "") +
                             (f"-cp{cp_of(case)}" if cp_of(case) > 1 else ""))
        try:
            runs[case] = (cwork, check_case(a, name, case, cfg, onnx_path, params, row_shape,
                                            feeds, cwork, ref, ref_w))
        except RuntimeError as e:
            check(False, f"{name}: {e}")
    if "vocabulary" in label and cases[0] in runs:
        check_vocabulary(a, f"{model}{label} {case_name(cases[0])}", cases[0],
                         runs[cases[0]][0], feeds, cfg["vocab"])
    for case in cases:
        if case in RESHARD and case in runs and not a.full:
            try:
                check_reshard(a, f"{model}{label} reshard from {case_name(case)}",
                              case, runs, single, feeds, ref)
            except (RuntimeError, KeyError) as e:
                check(False, f"{model}{label} reshard from {case}: {e}")


def main():
    ap = P.parity_argparser(__doc__, steps=10)
    ap.add_argument("--full", action="store_true")
    a = ap.parse_args()
    a.rows = GLOBAL_ROWS
    work = a.work or tempfile.mkdtemp(prefix="pz-tp-parity-")
    chosen = lambda mo: not a.only or mo in a.only.split(",")  # noqa: E731
    suites = [(a.models, FULL_CASES if a.full else CASES, work, "")]
    for folder, label, overrides, cases, full in VARIANTS:
        cases = [c for c in (full if a.full else cases) if chosen(c[0])]
        if cases:
            vwork = os.path.join(work, folder)
            models = list(collections.OrderedDict((c[0], 0) for c in cases))
            suites.append((export_variant(vwork, models, overrides), cases, vwork, label))
    for models_dir, cases, swork, label in suites:
        for model in collections.OrderedDict((c[0], 0) for c in cases):
            if chosen(model):
                run_model(a, model, models_dir, [c for c in cases if c[0] == model], swork,
                          label)
    print(f"{len(failures)} failure(s)" if failures else "all tensor-parallel checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
