#!/usr/bin/python3
"""PyTorch (Debian python3-torch) on the same model directory `llada bench` times: forward and
forward+backward median milliseconds, in f32 and with the model cast to bfloat16, at a given thread
count. The model is tests/reference/llada_torch.py without the bf16 rounding emulation (plain torch
arithmetic in the chosen dtype). Prints one JSON object per measurement, with the same keys as
`llada bench --json` where they mean the same thing.

For a fair comparison torch must call an optimised BLAS: Debian's torch uses whatever
libblas.so.3 is installed (install libopenblas0-pthread), and the machine's OPENBLAS_CORETYPE /
OPENBLAS_L2_SIZE settings must be unset for this command (bench/compare_engines.sh does all that).

  torch_bench.py --model DIR --seq-len T [--batch B] [--threads N] [--iters N] [--warmup N]
                 [--dtype f32|bf16|both] [--mode forward|backward|both]
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


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def time_it(fn, warmup, iters):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ms), min(ms)


def flops(cfg, B, T, backward):
    """The same count as the engine's forward_flops: 2 x multiply-adds, x3 with backward."""
    C, KV, F = cfg.d_model, cfg.n_kv_heads * cfg.head_dim, cfg.mlp_hidden_size
    per = 2 * C * C + 2 * C * KV + 3 * C * F + 2 * T * C
    f = 2.0 * (B * T * per * cfg.n_layers + B * T * C * cfg.embedding_size)
    return f * (3 if backward else 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--seq-len", type=int, required=True)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--dtype", choices=("f32", "bf16", "both"), default="both")
    ap.add_argument("--mode", choices=("forward", "backward", "both"), default="both")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    cfg, tensors, dtypes = lt.load_dir(a.model)
    n_params = sum(t.numel() for n, t in tensors.items() if n in set(lt.weight_names(cfg)))
    B, T = a.batch, a.seq_len
    g = np.random.default_rng(1234)
    ids = g.integers(0, cfg.vocab_size, size=(B, T))
    targets = torch.as_tensor(g.integers(0, cfg.vocab_size, size=B * T), dtype=torch.long)
    for dt_name in (("f32", "bf16") if a.dtype == "both" else (a.dtype,)):
        dt = torch.float32 if dt_name == "f32" else torch.bfloat16
        for backward in ((False, True) if a.mode == "both" else (a.mode == "backward",)):
            model = lt.LLaDA(cfg, tensors, dtypes, bf16_matmul=False, requires_grad=backward, dtype=dt)

            def step():
                if backward:
                    for t in model.w.values():
                        t.grad = None
                    logits = model.forward(ids)
                    loss = torch.nn.functional.cross_entropy(
                        logits.reshape(B * T, -1).float(), targets)
                    loss.backward()
                else:
                    with torch.no_grad():
                        model.forward(ids)

            med, mn = time_it(step, a.warmup, a.iters)
            fl = flops(cfg, B, T, backward)
            print(json.dumps({
                "engine": "torch " + torch.__version__, "model": a.model, "ms_median": med,
                "ms_min": mn, "tokens_per_s": B * T / (med * 1e-3), "gflops": fl / (med * 1e-3) / 1e9,
                "peak_rss_mb": peak_rss_mb(), "threads": torch.get_num_threads(), "dtype": dt_name,
                "seq_len": T, "batch": B, "backward": backward, "n_params": n_params,
                "iters": a.iters}), flush=True)
            del model


if __name__ == "__main__":
    main()
