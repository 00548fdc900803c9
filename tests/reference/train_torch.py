#!/usr/bin/python3
"""An independent PyTorch training of the LLaDA mask predictor (or its autoregressive twin), to
compare learning curves with `llada train` over many steps: the unit tests compare one batch's
loss and gradients, this compares what hundreds of optimizer steps make of them.

Independent of the C++ code: the model is tests/reference/llada_torch.py (autograd for the
gradients), the optimizer torch.optim.AdamW with torch's clip_grad_norm_, the data read from the
token shard with `struct` (docs/data.md layout), the masking written from spec section 2 with numpy
random numbers. What is shared with the engine is only the starting point: the weights of a model
directory (`llada init`), so both trainers start from the same parameters.

usage: train_torch.py --init MODEL_DIR --train train.tok [--heldout heldout.tok] --out DIR
                      [--objective diffusion|ar] [--steps N] [--batch B] [--seq-len L] [--lr LR]
                      [--schedule constant|cosine|wsd] [--warmup W] [--weight-decay WD] ...
Writes DIR/metrics.jsonl (the same fields as llada train's: step, loss, lr, grad_norm; eval_loss)
and DIR/final (config.json, tokenizer, model.safetensors in f32: loadable by llada and by
llada_torch.LLaDA.load).
"""
import argparse
import json
import math
import os
import shutil
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_torch as lt  # noqa: E402


def read_token_shard(path):
    """(tokens as int64 array, document start offsets [n_docs+1]) of a .tok shard."""
    data = open(path, "rb").read()
    if len(data) < 64 or data[:8] != b"LLADATOK":
        raise SystemExit(f"{path}: not a token shard (magic {data[:8]!r})")
    _version, width, n_tokens, n_docs, _vocab, _eos = struct.unpack_from("<IIQQQi", data, 8)
    dtype = np.uint16 if width == 2 else np.uint32
    tokens = np.frombuffer(data, dtype=dtype, count=n_tokens, offset=64).astype(np.int64)
    body = (n_tokens * width + 7) // 8 * 8
    offsets = np.frombuffer(data, dtype=np.uint64, count=n_docs + 1, offset=64 + body).astype(np.int64)
    if offsets[-1] != n_tokens:
        raise SystemExit(f"{path}: document index ends at {offsets[-1]}, not {n_tokens}")
    return tokens, offsets


def lr_at(step, a):
    """The schedule of spec section 2 (warm-up, then constant / cosine / warmup-stable-decay)."""
    w = a.warmup
    if step < w:
        return a.lr * (step + 1) / w
    if a.schedule == "constant":
        return a.lr
    if a.schedule == "cosine":
        lo = a.min_lr if a.min_lr >= 0 else a.lr / 10
        x = min(1.0, (step - w) / max(1.0, a.steps - w))
        return lo + 0.5 * (a.lr - lo) * (1 + math.cos(math.pi * x))
    # wsd: hold, drop to lr/4 at 80% of the steps... as configured, then linear to lr/40.
    lo, mid = a.lr / 40, a.lr / 4
    if step < a.drop_frac * a.steps:
        return a.lr
    if step < a.decay_frac * a.steps:
        return mid
    x = min(1.0, (step - a.decay_frac * a.steps) / max(1.0, a.steps - a.decay_frac * a.steps))
    return mid + (lo - mid) * x


def diffusion_inputs(x0, mask_id, rng, eps, stratified, fixed_t=None):
    """Spec section 2: t per sequence, p = (1-eps)t + eps, each token masked with probability p.
    Returns (noisy ids, mask, p)."""
    B, L = x0.shape
    if fixed_t is not None:
        t = fixed_t
    elif stratified:
        t = (np.arange(B) + rng.random()) / B
    else:
        t = rng.random(B)
    p = (1 - eps) * t + eps
    mask = rng.random((B, L)) < p[:, None]
    return np.where(mask, mask_id, x0), mask, p


def loss_of(model, x0, a, rng, mask_id, fixed_t=None):
    """The training loss of one batch of clean windows x0 [B, L] (numpy)."""
    if a.objective == "ar":
        logits = model.forward(x0, causal=True)
        V = logits.shape[-1]
        tgt = torch.as_tensor(x0[:, 1:])
        return torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, V), tgt.reshape(-1))
    noisy, mask, p = diffusion_inputs(x0, mask_id, rng, a.eps, a.stratified, fixed_t)
    if not mask.any():
        return None
    logits = model.forward(noisy, causal=False)
    return lt.masked_diffusion_loss(logits, x0, mask, p)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="model directory holding the starting weights")
    ap.add_argument("--train", required=True)
    ap.add_argument("--heldout")
    ap.add_argument("--out", required=True)
    ap.add_argument("--objective", choices=["diffusion", "ar"], default="diffusion")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--schedule", choices=["constant", "cosine", "wsd"], default="cosine")
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--min-lr", type=float, default=-1)
    ap.add_argument("--drop-frac", type=float, default=0.8)
    ap.add_argument("--decay-frac", type=float, default=0.9)
    ap.add_argument("--betas", type=float, nargs=2, default=[0.9, 0.95])
    ap.add_argument("--weight-decay", type=float, default=0.1)
    ap.add_argument("--no-decay-embeddings", action="store_true")
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--eps", type=float, default=1e-3)
    ap.add_argument("--stratified", action="store_true")
    ap.add_argument("--random-length-prob", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--eval-batches", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    cfg, tensors, dtypes = lt.load_dir(a.init)
    with open(os.path.join(a.init, "config.json")) as f:
        cj = json.load(f)
    mask_id = cj.get("mask_token_id")
    if a.objective == "diffusion" and mask_id is None:
        raise SystemExit(f"{a.init}/config.json: no mask_token_id for the diffusion objective")
    model = lt.LLaDA(cfg, tensors, dtypes, bf16_matmul=False, requires_grad=True)
    embed = {"model.transformer.wte.weight", "model.transformer.ff_out.weight"}
    decay = [t for n, t in model.w.items() if t.dim() >= 2 and not (a.no_decay_embeddings and n in embed)]
    no_decay = [t for n, t in model.w.items() if not (t.dim() >= 2 and not (a.no_decay_embeddings and n in embed))]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=tuple(a.betas), eps=1e-8)

    tokens, _ = read_token_shard(a.train)
    L, B = a.seq_len, a.batch
    n_starts = len(tokens) - L + 1
    if n_starts < 1:
        raise SystemExit(f"{a.train}: {len(tokens)} tokens, fewer than --seq-len {L}")
    held = None
    if a.heldout:
        ht, _ = read_token_shard(a.heldout)
        nw = len(ht) // L
        if nw == 0:
            raise SystemExit(f"{a.heldout}: fewer tokens than --seq-len {L}")
        held = ht[: nw * L].reshape(nw, L)

    def evaluate():
        # Fixed windows (consecutive, wrapping) and fixed noise: every evaluation sees the same masks.
        erng = np.random.default_rng(12345)
        total, n = 0.0, 0
        with torch.no_grad():
            for i in range(a.eval_batches):
                idx = (np.arange(B) + i * B) % len(held)
                t = erng.random(B)
                loss = loss_of(model, held[idx], a, erng, mask_id, fixed_t=None if a.objective == "ar" else t)
                if loss is not None:
                    total += float(loss)
                    n += 1
        return total / max(1, n)

    os.makedirs(a.out, exist_ok=True)
    metrics = open(os.path.join(a.out, "metrics.jsonl"), "w")
    t0 = time.time()
    acc, acc_n = 0.0, 0
    for step in range(a.steps):
        lr = lr_at(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        starts = rng.integers(0, n_starts, size=B)
        x0 = tokens[starts[:, None] + np.arange(L)[None, :]]
        if a.objective == "diffusion" and a.random_length_prob > 0 and rng.random() < a.random_length_prob:
            x0 = x0[:, : int(rng.integers(1, L + 1))]
        opt.zero_grad(set_to_none=True)
        loss = loss_of(model, x0, a, rng, mask_id)
        if loss is None:
            continue
        loss.backward()
        gnorm = float(torch.nn.utils.clip_grad_norm_(list(model.w.values()), a.clip if a.clip > 0 else 1e30))
        opt.step()
        acc += float(loss)
        acc_n += 1
        s = step + 1
        if s % a.log_every == 0 or s == a.steps:
            line = {"step": s, "loss": acc / acc_n, "lr": lr, "grad_norm": gnorm,
                    "tokens": s * B * L, "elapsed_s": time.time() - t0}
            metrics.write(json.dumps(line) + "\n")
            metrics.flush()
            print(f"step {s} loss {acc / acc_n:.4f} lr {lr:.2e} gnorm {gnorm:.3f} {time.time() - t0:.0f}s",
                  flush=True)
            acc, acc_n = 0.0, 0
        if held is not None and (s % a.eval_every == 0 or s == a.steps):
            metrics.write(json.dumps({"step": s, "eval_loss": evaluate()}) + "\n")
            metrics.flush()

    final = os.path.join(a.out, "final")
    os.makedirs(final, exist_ok=True)
    lt.write_safetensors(os.path.join(final, "model.safetensors"),
                         {n: t.detach() for n, t in model.w.items()})
    for f in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        if os.path.exists(os.path.join(a.init, f)):
            shutil.copy(os.path.join(a.init, f), os.path.join(final, f))


if __name__ == "__main__":
    main()
