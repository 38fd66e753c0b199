"""GPU training throughput: our CUDA binary against PyTorch eager and
torch.compile on the same model, batch and weights, in one run.

Two halves, because the compiler needs MLIR (here) and the run needs a GPU
(the device machine has no MLIR):

  prepare  (any machine with the build): exports the model, compiles it
           with --backend cuda --precision bf16 for the largest micro-batch
           the memory plan fits into --memory-limit, and copies what the
           run needs (train, report.json, the .params.json mapping) into
           --carry DIR/CASE. The initial weights (hundreds of MB) stay
           behind: the run writes them from PyTorch's own model.
  run      (the GPU machine): builds the same PyTorch model from
           python-frontend's models.py, writes its weights as our
           init.safetensors through the export's mapping (so both sides
           start from the same weights), trains --steps steps with ours,
           eager and torch.compile (bf16 autocast, fp32 master weights,
           fused AdamW), and writes tokens/s and MFU of each to --json.

The references run models.py's model with its attention through
F.scaled_dot_product_attention (--no-sdpa keeps the explicit softmax the
model is written with for torch 1.13's exporter). MFU counts nanoGPT's 6 N + 12 L H Q T flops per token (N: parameters less
the position table; L layers, H heads of Q dims, T the sequence) against
the GPU's dense bf16 peak (989.4 TFLOP/s for H100 SXM and H200).

Cases: gpt2 (GPT-2 124M, sequence 1024) and llama1b (a ~1.1B
Llama-style model: hidden 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632,
vocabulary 32000, sequence 2048; MFU only). Its weights pass 2 GB, one
protobuf's limit: the exporter writes them as ONNX external data.

  /usr/bin/python3 bench/gpu_train.py prepare --carry .gpu/bench
  python3 bench/gpu_train.py run --carry .gpu/bench --json bench/results/gpu_train.json
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "python-frontend"))

CASES = {
    "gpt2": {"family": "gpt2", "size": "124m", "seq": 1024, "overrides": {},
             "batches": [32, 16, 8, 4]},
    "llama1b": {"family": "llama", "size": "124m", "seq": 2048,
                "overrides": {"vocab": 32000, "positions": 2048, "hidden": 2048, "layers": 22,
                              "heads": 32, "kv_heads": 4, "ffn": 5632},
                "batches": [8, 4, 2, 1]},
}
PEAK_BF16 = {"H100": 989.4e12, "H200": 989.4e12}


def prepare(a):
    """Exports and compiles each case; copies the run's files to --carry."""
    from parallelize import export as E
    for name in a.cases:
        c = CASES[name]
        work = os.path.join(a.work, name)
        os.makedirs(work, exist_ok=True)
        chosen = None
        # Batch and sequence are dynamic axes of the export: trace it small,
        # compile it at the benchmark's shapes.
        model = os.path.join(work, c["family"] + "_loss.onnx")
        if not os.path.exists(model):
            E.export_family(c["family"], work, size=c["size"], loss=True, batch=1, seq=32,
                            **c["overrides"])
        for batch in ([a.batch] if a.batch else c["batches"]):
            out = os.path.join(work, f"b{batch}", "out")
            shape = f"{batch}x{c['seq']}"
            cmd = [os.path.join(a.bin, "parallelize"), "compile", model, "-o", out,
                   "--backend", "cuda", "--gpu-arch", a.gpu_arch, "--precision", "bf16",
                   "--memory-limit", a.memory_limit,
                   "--input-shape", "input_ids=" + shape, "--input-shape", "labels=" + shape]
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode == 0:
                chosen = (batch, model, out)
                break
            if "does not fit" not in r.stderr:
                sys.exit(f"compile failed ({' '.join(cmd)}):\n{r.stderr}")
            print(f"{name}: micro-batch {batch} does not fit {a.memory_limit}", flush=True)
        if not chosen:
            sys.exit(f"{name}: no micro-batch fits {a.memory_limit}")
        batch, model, out = chosen
        dest = os.path.join(a.carry, name)
        shutil.rmtree(dest, ignore_errors=True)
        os.makedirs(dest)
        for f in ("train", "report.json"):
            shutil.copy2(os.path.join(out, f), dest)
        shutil.copy2(model[:-len(".onnx")] + ".params.json", os.path.join(dest, "params.json"))
        with open(os.path.join(dest, "case.json"), "w") as f:
            json.dump({"case": name, "batch": batch, **c}, f, indent=1)
        print(f"{name}: micro-batch {batch}, {dest}", flush=True)


def build_torch(c, seed=0, sdpa=True):
    """models.py's model; with sdpa, its attention goes through
    F.scaled_dot_product_attention (flash), as a torch 2 user writes it."""
    from parallelize import models as M
    model = M.build(c["family"], loss=True, size=c["size"], seed=seed, **c["overrides"])
    if sdpa:
        import types
        for m in model.modules():
            if isinstance(m, M.GPT2Attention):
                m.forward = types.MethodType(_gpt2_sdpa, m)
            elif isinstance(m, M.LlamaAttention):
                m.forward = types.MethodType(_llama_sdpa, m)
    return model


def _gpt2_sdpa(self, x):
    import torch.nn.functional as F
    b, s, _ = x.shape
    q, k, v = self.c_attn(x).split(self.hidden, dim=2)
    q, k, v = (t.view(b, s, self.heads, self.head_dim).transpose(1, 2) for t in (q, k, v))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    return self.c_proj(y.transpose(1, 2).reshape(b, s, self.hidden))


def _llama_sdpa(self, x, cos, sin):
    import torch.nn.functional as F
    from parallelize.models import _rotate_half
    b, s, _ = x.shape
    q = self.q_proj(x).view(b, s, self.heads, self.head_dim).transpose(1, 2)
    k = self.k_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
    v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim).transpose(1, 2)
    half = self.head_dim // 2
    q = q * cos + _rotate_half(q, half) * sin
    k = k * cos + _rotate_half(k, half) * sin
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
    return self.o_proj(y.transpose(1, 2).reshape(b, s, self.heads * self.head_dim))


def write_init(model, mapping, path):
    """Our init.safetensors from the PyTorch model's weights (fp32)."""
    from safetensors.torch import save_file
    params = dict(model.named_parameters())
    tensors = {}
    for onnx_name, e in mapping["initializers"].items():
        if not e.get("trainable"):
            continue
        t = params[e["torch_name"]].detach().float().cpu()
        if e.get("relation") == "transpose":
            t = t.t()
        tensors[onnx_name] = t.contiguous()
    for r in mapping.get("renamed", []):
        if r.get("relation") == "transpose":
            tensors[r["onnx"]] = params[r["torch"]].detach().float().cpu().t().contiguous()
    save_file(tensors, path)


def flops_per_token(model, c):
    cfg = model.config
    n = sum(p.numel() for p in model.parameters())
    for name, p in model.named_parameters():
        if "wpe" in name or "position" in name:
            n -= p.numel()
    head = cfg.hidden // cfg.heads
    return 6 * n + 12 * cfg.layers * cfg.heads * head * c["seq"], n


def time_torch(model, batch, seq, vocab, steps, warmup, compiled):
    import torch
    model = model.cuda().train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.1, fused=True)
    fn = torch.compile(model) if compiled else model
    g = torch.Generator(device="cuda").manual_seed(0)
    ids = torch.randint(0, vocab, (batch, seq), device="cuda", generator=g)
    labels = torch.randint(0, vocab, (batch, seq), device="cuda", generator=g)
    times = []
    for step in range(warmup + steps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = fn(ids, labels)
        loss.backward()
        opt.step()
        torch.cuda.synchronize()
        if step >= warmup:
            times.append(time.perf_counter() - t0)
    peak = torch.cuda.max_memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    return times, peak


def run(a):
    import torch
    gpu = torch.cuda.get_device_name(0)
    peak = next((v for k, v in PEAK_BF16.items() if k in gpu), None)
    results = {"benchmark": "gpu_train", "gpu": gpu, "peak_bf16_flops": peak, "cases": {}}
    for name in a.cases:
        dest = os.path.join(a.carry, name)
        if not os.path.exists(os.path.join(dest, "case.json")):
            print(f"{name}: not prepared ({dest})", flush=True)
            continue
        c = json.load(open(os.path.join(dest, "case.json")))
        batch, seq = c["batch"], c["seq"]
        model = build_torch(c)
        fpt, n = flops_per_token(model, c)
        write_init(model, json.load(open(os.path.join(dest, "params.json"))),
                   os.path.join(dest, "init.safetensors"))
        metrics = os.path.join(dest, "metrics.jsonl")
        if os.path.exists(metrics):
            os.remove(metrics)
        t0 = time.perf_counter()
        r = subprocess.run([os.path.join(dest, "train"), "--steps", str(a.warmup + a.steps),
                            "--data", "synthetic", "--metrics", metrics, "--log-every", "0"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        case = {"batch": batch, "seq": seq, "params": n, "flops_per_token": fpt}
        if r.returncode:
            case["ours"] = {"error": r.stderr[-3000:], "wall_s": time.perf_counter() - t0}
        else:
            rows = [json.loads(l) for l in open(metrics)][a.warmup:]
            case["ours"] = {"step_s": [row["step_time_s"] for row in rows],
                            "peak_bytes": rows[-1].get("peak_bytes")}
        for key, compiled in (("pytorch_eager", False), ("torch_compile", True)):
            if name != "gpt2" and key == "pytorch_eager" and not a.all_refs:
                continue  # the ~1B case reports MFU only
            times, mem = time_torch(build_torch(c, sdpa=not a.no_sdpa), batch, seq, model.config.vocab, a.steps,
                                    a.warmup, compiled)
            case[key] = {"step_s": times, "peak_bytes": mem}
        for key in ("ours", "pytorch_eager", "torch_compile"):
            if key in case and "step_s" in case[key]:
                s = statistics.median(case[key]["step_s"])
                tps = batch * seq / s
                case[key].update({"median_step_s": s, "tokens_per_s": tps,
                                  "mfu": tps * fpt / peak if peak else None})
        results["cases"][name] = case
        print(json.dumps({name: {k: {kk: vv for kk, vv in v.items() if kk != "step_s"}
                                 if isinstance(v, dict) else v for k, v in case.items()}},
                         indent=1), flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(results, f, indent=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    p.add_argument("--work", default="/tmp/pz-gpu-bench")
    p.add_argument("--gpu-arch", default="sm_90")
    p.add_argument("--memory-limit", default="70GiB")
    p.add_argument("--batch", type=int, default=None, help="skip the search")
    r = sub.add_parser("run")
    r.add_argument("--json", default=os.path.join(ROOT, "bench", "results", "gpu_train.json"))
    r.add_argument("--steps", type=int, default=10)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--all-refs", action="store_true", help="eager for the ~1B case too")
    r.add_argument("--no-sdpa", action="store_true",
                   help="the references keep models.py's explicit softmax attention")
    for q in (p, r):
        q.add_argument("--carry", default=os.path.join(ROOT, ".gpu", "bench"))
        q.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    a = ap.parse_args()
    (prepare if a.cmd == "prepare" else run)(a)


if __name__ == "__main__":
    main()
