"""Small, deterministic PyTorch reference models for Parallelize.

Every model family comes in two flavours that share *exactly* the same
parameter names (the loss variant subclasses the plain model):

* the plain model returns ``logits``;
* the ``*Loss`` variant takes the same inputs plus integer ``labels``
  (``ignore_index=-100``) and returns only the scalar ``loss``.

Parameter names are chosen to read well as ONNX initializer names and as
checkpoint tensor names (``wte.weight``, ``h.0.attn.c_attn.weight``, ...).

Only the standard library and torch are used.  Everything is deterministic:
``torch.manual_seed(seed)`` is called in each constructor before the
parameters are created, and the custom initialisation that follows only draws
from the global generator in a fixed order.

Notes for the ONNX exporter (torch 1.13):

* Dropout is only *called* when its probability is > 0, so a model built
  with ``dropout=0.0`` never contains a Dropout node, whatever the export
  training mode.
* Attention is written out by hand (torch 1.13 has no
  ``F.scaled_dot_product_attention``).
* Non-trainable tables (the causal mask, rotary cos/sin) are not parameters.
  The causal mask is built in the graph with ``triu`` (ONNX ``Trilu``); the
  rotary tables are non-persistent buffers, so they are not in the state dict
  and are exported as ONNX ``Constant`` nodes rather than initializers.  Hence
  every ONNX initializer is a trainable parameter.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE_INDEX = -100

__all__ = [
    "IGNORE_INDEX",
    "MLPConfig", "MLP", "MLPLoss",
    "GPT2Config", "GPT2", "GPT2Loss",
    "LlamaConfig", "Llama", "LlamaLoss",
    "BertConfig", "Bert", "BertLoss",
    "gpt2_124m", "llama_small", "bert_base", "mlp_large",
    "build", "FAMILIES",
]


def _lm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Token cross-entropy; labels are already aligned with logits."""
    vocab = logits.size(-1)
    return F.cross_entropy(logits.view(-1, vocab), labels.view(-1),
                           ignore_index=IGNORE_INDEX)


def _init_normal_(module: nn.Module, std: float) -> None:
    """GPT-2 style init: N(0, std) weights, zero biases, unit norms."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, mean=0.0, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, mean=0.0, std=std)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


# --------------------------------------------------------------------------
# MLP classifier
# --------------------------------------------------------------------------

@dataclasses.dataclass
class MLPConfig:
    in_features: int = 32
    hidden: int = 64
    num_classes: int = 10
    activation: str = "gelu"  # "gelu" or "relu"
    seed: int = 0


class MLP(nn.Module):
    """``x [B, in] -> fc1 -> act -> fc2 -> logits [B, classes]``."""

    input_names = ("x",)

    def __init__(self, in_features: int = 32, hidden: int = 64,
                 num_classes: int = 10, activation: str = "gelu",
                 seed: int = 0):
        super().__init__()
        if activation not in ("gelu", "relu"):
            raise ValueError(f"unknown activation {activation!r}")
        self.config = MLPConfig(in_features, hidden, num_classes, activation,
                                seed)
        torch.manual_seed(seed)
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, num_classes)
        self.activation = activation

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        h = self.fc1(x)
        h = F.gelu(h) if self.activation == "gelu" else F.relu(h)
        return self.fc2(h)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits(x)


class MLPLoss(MLP):
    """``(x [B, in], labels [B]) -> loss []``."""

    input_names = ("x", "labels")

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(x), labels,
                               ignore_index=IGNORE_INDEX)


# --------------------------------------------------------------------------
# GPT-2
# --------------------------------------------------------------------------

@dataclasses.dataclass
class GPT2Config:
    vocab: int = 256
    positions: int = 64
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    dropout: float = 0.0
    eps: float = 1e-5
    seed: int = 0


class GPT2Attention(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        assert cfg.hidden % cfg.heads == 0
        self.heads = cfg.heads
        self.head_dim = cfg.hidden // cfg.heads
        self.hidden = cfg.hidden
        self.c_attn = nn.Linear(cfg.hidden, 3 * cfg.hidden)
        self.c_proj = nn.Linear(cfg.hidden, cfg.hidden)
        self.p = cfg.dropout
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.resid_dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q, k, v = self.c_attn(x).split(self.hidden, dim=2)
        q = q.view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = k.view(b, s, self.heads, self.head_dim).transpose(1, 2)
        v = v.view(b, s, self.heads, self.head_dim).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        causal = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        probs = F.softmax(scores, dim=-1)
        if self.p > 0:
            probs = self.attn_dropout(probs)
        y = torch.matmul(probs, v)
        y = y.transpose(1, 2).reshape(b, s, self.hidden)
        y = self.c_proj(y)
        if self.p > 0:
            y = self.resid_dropout(y)
        return y


class GPT2MLP(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        self.c_fc = nn.Linear(cfg.hidden, 4 * cfg.hidden)
        self.c_proj = nn.Linear(4 * cfg.hidden, cfg.hidden)
        self.p = cfg.dropout
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c_proj(F.gelu(self.c_fc(x), approximate="tanh"))
        if self.p > 0:
            y = self.dropout(y)
        return y


class GPT2Block(nn.Module):
    def __init__(self, cfg: GPT2Config):
        super().__init__()
        self.ln_1 = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.attn = GPT2Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.mlp = GPT2MLP(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        x = x + self.mlp(self.ln_2(x))
        return x


class GPT2(nn.Module):
    """GPT-2 decoder; the LM head is tied to ``wte.weight``.

    ``input_ids [B, S] int64 -> logits [B, S, vocab]``.
    """

    input_names = ("input_ids",)

    def __init__(self, vocab: int = 256, positions: int = 64, hidden: int = 64,
                 layers: int = 2, heads: int = 4, dropout: float = 0.0,
                 eps: float = 1e-5, seed: int = 0):
        super().__init__()
        cfg = GPT2Config(vocab, positions, hidden, layers, heads, dropout, eps,
                         seed)
        self.config = cfg
        torch.manual_seed(seed)
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(positions, hidden)
        self.p = dropout
        self.drop = nn.Dropout(dropout)
        self.h = nn.ModuleList([GPT2Block(cfg) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(hidden, eps=eps)
        _init_normal_(self, 0.02)
        # GPT-2: residual projections scaled by 1/sqrt(2 * n_layer).
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        s = input_ids.size(1)
        pos = torch.arange(s, dtype=torch.long, device=input_ids.device)
        x = self.wte(input_ids) + self.wpe(pos)
        if self.p > 0:
            x = self.drop(x)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        return F.linear(x, self.wte.weight)  # tied LM head

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.logits(input_ids)


class GPT2Loss(GPT2):
    """``(input_ids, labels) -> loss``; labels are the already shifted targets."""

    input_names = ("input_ids", "labels")

    def forward(self, input_ids: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        return _lm_loss(self.logits(input_ids), labels)


# --------------------------------------------------------------------------
# Llama
# --------------------------------------------------------------------------

@dataclasses.dataclass
class LlamaConfig:
    vocab: int = 256
    positions: int = 64
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 176
    eps: float = 1e-6
    rope_theta: float = 10000.0
    seed: int = 0


class RMSNorm(nn.Module):
    """HF LlamaRMSNorm: ``w * (x * rsqrt(mean(x^2, -1) + eps))``."""

    def __init__(self, hidden: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        return self.weight * x


def _rotate_half(x: torch.Tensor, half: int) -> torch.Tensor:
    # ``half`` is a Python int (head_dim // 2) so that the export slices with
    # constants instead of computing it from Shape.
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


class LlamaAttention(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        assert cfg.hidden % cfg.heads == 0 and cfg.heads % cfg.kv_heads == 0
        self.heads = cfg.heads
        self.kv_heads = cfg.kv_heads
        self.head_dim = cfg.hidden // cfg.heads
        self.n_rep = cfg.heads // cfg.kv_heads
        self.q_proj = nn.Linear(cfg.hidden, cfg.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(cfg.hidden, cfg.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(cfg.hidden, cfg.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(cfg.heads * self.head_dim, cfg.hidden, bias=False)

    def _repeat_kv(self, x: torch.Tensor) -> torch.Tensor:
        # [B, kvh, S, D] -> [B, kvh * n_rep, S, D] (HF repeat_kv).
        if self.n_rep == 1:
            return x
        b, _, s, _ = x.shape
        x = x[:, :, None, :, :].expand(-1, -1, self.n_rep, -1, -1)
        return x.reshape(b, self.heads, s, self.head_dim)

    def forward(self, x: torch.Tensor, cos: torch.Tensor,
                sin: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
        half = self.head_dim // 2
        q = q * cos + _rotate_half(q, half) * sin
        k = k * cos + _rotate_half(k, half) * sin
        k = self._repeat_kv(k)
        v = self._repeat_kv(v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        causal = torch.ones(s, s, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        probs = F.softmax(scores, dim=-1)
        y = torch.matmul(probs, v)
        y = y.transpose(1, 2).reshape(b, s, self.heads * self.head_dim)
        return self.o_proj(y)


class LlamaMLP(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden, cfg.ffn, bias=False)
        self.up_proj = nn.Linear(cfg.hidden, cfg.ffn, bias=False)
        self.down_proj = nn.Linear(cfg.ffn, cfg.hidden, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class LlamaBlock(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.hidden, cfg.eps)
        self.self_attn = LlamaAttention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.hidden, cfg.eps)
        self.mlp = LlamaMLP(cfg)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x


class Llama(nn.Module):
    """Llama decoder: RMSNorm, SwiGLU, RoPE, GQA, no biases, untied head.

    ``input_ids [B, S] int64 -> logits [B, S, vocab]``.
    """

    input_names = ("input_ids",)

    def __init__(self, vocab: int = 256, positions: int = 64, hidden: int = 64,
                 layers: int = 2, heads: int = 4, kv_heads: int = 2,
                 ffn: int = 176, eps: float = 1e-6, rope_theta: float = 10000.0,
                 seed: int = 0):
        super().__init__()
        cfg = LlamaConfig(vocab, positions, hidden, layers, heads, kv_heads, ffn,
                          eps, rope_theta, seed)
        self.config = cfg
        torch.manual_seed(seed)
        self.embed_tokens = nn.Embedding(vocab, hidden)
        self.layers = nn.ModuleList([LlamaBlock(cfg) for _ in range(layers)])
        self.norm = RMSNorm(hidden, eps)
        self.lm_head = nn.Linear(hidden, vocab, bias=False)
        _init_normal_(self, 0.02)
        # Precomputed rotary tables [positions, head_dim] (HF layout: the two
        # halves repeat the same frequencies).  Non-persistent: not
        # parameters, not in the state dict, exported as Constant nodes.
        head_dim = hidden // heads
        inv_freq = 1.0 / (rope_theta ** (
            torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim))
        t = torch.arange(positions, dtype=torch.float64)
        freqs = torch.outer(t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("rope_cos", emb.cos().float(), persistent=False)
        self.register_buffer("rope_sin", emb.sin().float(), persistent=False)

    def logits(self, input_ids: torch.Tensor) -> torch.Tensor:
        s = input_ids.size(1)
        cos = self.rope_cos[:s]
        sin = self.rope_sin[:s]
        x = self.embed_tokens(input_ids)
        for block in self.layers:
            x = block(x, cos, sin)
        x = self.norm(x)
        return self.lm_head(x)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.logits(input_ids)


class LlamaLoss(Llama):
    input_names = ("input_ids", "labels")

    def forward(self, input_ids: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        return _lm_loss(self.logits(input_ids), labels)


# --------------------------------------------------------------------------
# BERT
# --------------------------------------------------------------------------

@dataclasses.dataclass
class BertConfig:
    vocab: int = 128
    positions: int = 64
    type_vocab: int = 2
    hidden: int = 64
    layers: int = 2
    heads: int = 4
    intermediate: int = 256
    dropout: float = 0.0
    eps: float = 1e-12
    seed: int = 0


class BertSelfAttention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.heads = cfg.heads
        self.head_dim = cfg.hidden // cfg.heads
        self.hidden = cfg.hidden
        self.query = nn.Linear(cfg.hidden, cfg.hidden)
        self.key = nn.Linear(cfg.hidden, cfg.hidden)
        self.value = nn.Linear(cfg.hidden, cfg.hidden)
        self.p = cfg.dropout
        self.dropout = nn.Dropout(cfg.dropout)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        return x.view(b, s, self.heads, self.head_dim).transpose(1, 2)

    def forward(self, x: torch.Tensor, mask_add: torch.Tensor) -> torch.Tensor:
        b, s, _ = x.shape
        q = self._split(self.query(x))
        k = self._split(self.key(x))
        v = self._split(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        scores = scores + mask_add
        probs = F.softmax(scores, dim=-1)
        if self.p > 0:
            probs = self.dropout(probs)
        y = torch.matmul(probs, v)
        return y.transpose(1, 2).reshape(b, s, self.hidden)


class BertSelfOutput(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.p = cfg.dropout
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, h: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        h = self.dense(h)
        if self.p > 0:
            h = self.dropout(h)
        return self.LayerNorm(h + residual)


class BertAttention(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.self = BertSelfAttention(cfg)
        self.output = BertSelfOutput(cfg)

    def forward(self, x, mask_add):
        return self.output(self.self(x, mask_add), x)


class BertIntermediate(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.intermediate)

    def forward(self, x):
        return F.gelu(self.dense(x))  # erf GELU


class BertOutput(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.intermediate, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.p = cfg.dropout
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, h, residual):
        h = self.dense(h)
        if self.p > 0:
            h = self.dropout(h)
        return self.LayerNorm(h + residual)


class BertLayer(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.attention = BertAttention(cfg)
        self.intermediate = BertIntermediate(cfg)
        self.output = BertOutput(cfg)

    def forward(self, x, mask_add):
        a = self.attention(x, mask_add)
        return self.output(self.intermediate(a), a)


class BertEmbeddings(nn.Module):
    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab, cfg.hidden)
        self.position_embeddings = nn.Embedding(cfg.positions, cfg.hidden)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.p = cfg.dropout
        self.dropout = nn.Dropout(cfg.dropout)

    def forward(self, input_ids, token_type_ids):
        s = input_ids.size(1)
        pos = torch.arange(s, dtype=torch.long, device=input_ids.device)
        x = (self.word_embeddings(input_ids) + self.position_embeddings(pos)
             + self.token_type_embeddings(token_type_ids))
        x = self.LayerNorm(x)
        if self.p > 0:
            x = self.dropout(x)
        return x


class BertMLMHead(nn.Module):
    """HF BertLMPredictionHead: dense + gelu + LN + decoder (untied here)."""

    def __init__(self, cfg: BertConfig):
        super().__init__()
        self.dense = nn.Linear(cfg.hidden, cfg.hidden)
        self.LayerNorm = nn.LayerNorm(cfg.hidden, eps=cfg.eps)
        self.decoder = nn.Linear(cfg.hidden, cfg.vocab)

    def forward(self, x):
        return self.decoder(self.LayerNorm(F.gelu(self.dense(x))))


class Bert(nn.Module):
    """BERT encoder with an MLM head.

    ``(input_ids [B,S], attention_mask [B,S], token_type_ids [B,S]) -> logits``.
    ``attention_mask`` is 1 for tokens to attend to and 0 for padding; it is
    turned into the additive mask ``(1 - mask) * -10000`` as in the original
    BERT.  ``attention_mask``/``token_type_ids`` default to all-ones/zeros in
    eager mode, but the ONNX export always has all three inputs.
    """

    input_names = ("input_ids", "attention_mask", "token_type_ids")

    def __init__(self, vocab: int = 128, positions: int = 64, type_vocab: int = 2,
                 hidden: int = 64, layers: int = 2, heads: int = 4,
                 intermediate: int = 256, dropout: float = 0.0,
                 eps: float = 1e-12, seed: int = 0):
        super().__init__()
        cfg = BertConfig(vocab, positions, type_vocab, hidden, layers, heads,
                         intermediate, dropout, eps, seed)
        self.config = cfg
        torch.manual_seed(seed)
        self.embeddings = BertEmbeddings(cfg)
        self.encoder = nn.ModuleList([BertLayer(cfg) for _ in range(layers)])
        self.cls = BertMLMHead(cfg)
        _init_normal_(self, 0.02)

    def logits(self, input_ids, attention_mask=None, token_type_ids=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids)
        mask = attention_mask[:, None, None, :].to(x.dtype)
        mask_add = (1.0 - mask) * -10000.0
        for layer in self.encoder:
            x = layer(x, mask_add)
        return self.cls(x)

    def forward(self, input_ids: torch.Tensor,
                attention_mask: Optional[torch.Tensor] = None,
                token_type_ids: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.logits(input_ids, attention_mask, token_type_ids)


class BertLoss(Bert):
    input_names = ("input_ids", "attention_mask", "token_type_ids", "labels")

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                token_type_ids: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        return _lm_loss(self.logits(input_ids, attention_mask, token_type_ids),
                        labels)


# --------------------------------------------------------------------------
# Size presets
# --------------------------------------------------------------------------

def gpt2_124m() -> dict:
    """GPT-2 small (124M parameters with the tied head)."""
    return dict(vocab=50257, positions=1024, hidden=768, layers=12, heads=12)


def llama_small() -> dict:
    """A GPT-2-small-sized Llama (about 110M parameters, 32k vocab)."""
    return dict(vocab=32000, positions=1024, hidden=768, layers=12, heads=12,
                kv_heads=4, ffn=2048)


def bert_base() -> dict:
    """BERT-base (110M encoder + MLM head)."""
    return dict(vocab=30522, positions=512, type_vocab=2, hidden=768,
                layers=12, heads=12, intermediate=3072)


def mlp_large() -> dict:
    return dict(in_features=784, hidden=4096, num_classes=1000)


FAMILIES = {
    # family: (plain class, loss class, tiny kwargs, large kwargs factory)
    "mlp": (MLP, MLPLoss, {}, mlp_large),
    "gpt2": (GPT2, GPT2Loss, {}, gpt2_124m),
    "llama": (Llama, LlamaLoss, {}, llama_small),
    "bert": (Bert, BertLoss, {}, bert_base),
}

# "small": about 1M parameters, byte vocabularies, 128 positions: big enough
# to learn something from a page of text in a few hundred CPU steps (the
# model `make demo` trains), small enough for seconds per dozen steps.
SMALL = {
    "mlp": dict(in_features=256, hidden=1024, num_classes=256),
    "gpt2": dict(positions=128, hidden=128, layers=4, heads=4),
    "llama": dict(positions=128, hidden=128, layers=4, heads=4, kv_heads=2,
                  ffn=352),
    "bert": dict(vocab=256, positions=128, hidden=128, layers=4, heads=4,
                 intermediate=512),
}

SIZES = ("tiny", "small", "124m")


def build(family: str, loss: bool = False, size: str = "tiny",
          seed: int = 0, **overrides) -> nn.Module:
    """Build ``family`` ("mlp", "gpt2", "llama", "bert") at ``size``
    ("tiny", "small" or "124m"); ``overrides`` replace constructor
    arguments."""
    plain, lossy, tiny, large = FAMILIES[family]
    if size == "tiny":
        kwargs = dict(tiny)
    elif size == "small":
        kwargs = dict(SMALL[family])
    elif size == "124m":
        kwargs = large()
    else:
        raise ValueError(f"unknown size {size!r} ({', '.join(SIZES)})")
    kwargs.update(overrides)
    kwargs["seed"] = seed
    return (lossy if loss else plain)(**kwargs)
