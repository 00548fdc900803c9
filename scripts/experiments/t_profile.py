#!/usr/bin/python3
"""Loss of diffusion models at fixed masking rates: does the model use its context?

For fixed windows of a shard and each rate t in --rates, every position is masked with probability
t (the same masks for every model) and the mean cross-entropy and top-1 accuracy over the masked
positions are printed. A model that reads its context gains a lot at small t (most of the window is
visible); a model that has learned only character frequencies is flat in t.

usage: t_profile.py --model DIR [--model DIR ...] --shard FILE.tok [--windows 32] [--seq-len 128]
                    [--rates 0.05 0.2 0.5 0.8 0.95] [--seed 0] [--json]
Runs the PyTorch reference model (tests/reference/llada_torch.py).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import llada_torch as lt  # noqa: E402
from train_torch import read_token_shard  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--shard", required=True)
    ap.add_argument("--windows", type=int, default=32)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--rates", type=float, nargs="+", default=[0.05, 0.2, 0.5, 0.8, 0.95])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    tokens, _ = read_token_shard(a.shard)
    L = min(a.seq_len, len(tokens))
    rng = np.random.default_rng(a.seed)
    starts = rng.integers(0, len(tokens) - L + 1, size=a.windows)
    x0 = tokens[starts[:, None] + np.arange(L)[None, :]]
    masks = {t: rng.random(x0.shape) < t for t in a.rates}
    for m in a.model:
        model = lt.LLaDA.load(m)
        with open(os.path.join(m, "config.json")) as f:
            mask_id = json.load(f)["mask_token_id"]
        row = {"model": m}
        with torch.no_grad():
            for t in a.rates:
                mask = torch.as_tensor(masks[t])
                if not bool(mask.any()):
                    continue
                logits = model.forward(np.where(masks[t], mask_id, x0), causal=False)
                target = torch.as_tensor(x0)
                ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                       target.reshape(-1), reduction="none").view(x0.shape)
                acc = (logits.argmax(-1) == target)[mask].double().mean()
                row[f"t={t:g}"] = {"ce": round(float(ce[mask].mean()), 4), "acc": round(float(acc), 4)}
        if a.json:
            print(json.dumps(row))
        else:
            print(m + ": " + "  ".join(f"{k} ce {v['ce']:.2f} acc {v['acc']:.2f}"
                                       for k, v in row.items() if k != "model"))


if __name__ == "__main__":
    main()
