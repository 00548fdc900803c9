#!/usr/bin/python3
"""One masked-diffusion training step in PyTorch (Debian python3-torch), the baseline of
bench/train_bench.sh: the authors' recipe as written in their guidelines (per-sequence t, mask with
probability p, model on the noisy batch, CE over masked positions / p / (b*L), backward,
clip_grad_norm_(1.0), AdamW(betas 0.9/0.95, wd 0.1)), on the same model directory `llada train`
starts from. The model is tests/reference/llada_torch.py in float32 without the bf16 emulation.
Prints one JSON object: median step milliseconds, training tokens/s, peak RSS.

  torch_train_bench.py --model DIR --seq-len T --batch B [--threads N] [--iters N] [--warmup N]

Fairness: torch must use OpenBLAS with OMP_WAIT_POLICY=PASSIVE and OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE unset (bench/train_bench.sh arranges it).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import llada_torch as lt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--batch", type=int, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(os.path.join(a.model, "config.json")) as f:
        mask_id = json.load(f)["mask_token_id"]
    model = lt.LLaDA.load(a.model, bf16_matmul=False, requires_grad=True)
    params = list(model.w.values())
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    B, L = a.batch, a.seq_len
    V = model.cfg.vocab_size
    eps = 1e-3
    times = []
    for it in range(a.warmup + a.iters):
        x0 = torch.randint(0, min(V, mask_id), (B, L))
        t0 = time.perf_counter()
        t = torch.rand(B)
        p = ((1 - eps) * t + eps)[:, None].expand(B, L)
        masked = torch.rand(B, L) < p
        noisy = torch.where(masked, torch.full_like(x0, mask_id), x0)
        logits = model.forward(noisy.numpy())
        ce = torch.nn.functional.cross_entropy(logits[masked], x0[masked], reduction="none") / p[masked]
        loss = ce.sum() / (B * L)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if it >= a.warmup:
            times.append(dt)
    ms = statistics.median(times) * 1e3
    print(json.dumps({"engine": "torch", "ms_median": ms, "tokens_per_s": B * L / (ms * 1e-3),
                      "threads": a.threads, "seq_len": L, "batch": B, "torch": torch.__version__,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}))


if __name__ == "__main__":
    main()
