#!/usr/bin/python3
"""Replays a recorded `llada train` run in PyTorch (tests/train/test_train_replay.cpp): the same
starting weights, the trainer's own micro-batches (input ids, loss rows, targets, weights) and
learning rates, with autograd gradients, torch.nn.utils.clip_grad_norm_ and torch.optim.AdamW
(weight decay on every matrix, none on the norms: the engine's default). Writes DIR/losses_torch.npy
(one loss per optimizer step) and DIR/torch_final (the final weights, F32).

usage: train_replay.py INIT_DIR DIR --accum N --clip C --weight-decay WD --betas B1 B2 --eps E
"""
import argparse
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_torch as lt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("init")
    ap.add_argument("dir")
    ap.add_argument("--accum", type=int, required=True)
    ap.add_argument("--clip", type=float, required=True)
    ap.add_argument("--weight-decay", type=float, required=True)
    ap.add_argument("--betas", type=float, nargs=2, required=True)
    ap.add_argument("--eps", type=float, required=True)
    a = ap.parse_args()
    torch.set_num_threads(2)
    d = a.dir
    load = lambda n: np.load(os.path.join(d, n + ".npy"))  # noqa: E731
    ids, rows, targets, weights = load("ids"), load("rows"), load("targets"), load("weights")
    shapes, counts, lrs = load("shapes"), load("counts"), load("lrs")

    model = lt.LLaDA.load(a.init, requires_grad=True)
    decay = [t for t in model.w.values() if t.dim() >= 2]
    no_decay = [t for t in model.w.values() if t.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=float(lrs[0]), betas=tuple(a.betas), eps=a.eps)
    losses = []
    io = ro = 0
    for step, lr in enumerate(lrs):
        opt.zero_grad(set_to_none=False)
        total = 0.0
        for k in range(a.accum):
            B, T, causal = (int(v) for v in shapes[step * a.accum + k])
            n = int(counts[step * a.accum + k])
            x = ids[io:io + B * T].reshape(B, T)
            io += B * T
            sl = slice(ro, ro + n)
            ro += n
            if n == 0:
                continue
            logits = model.forward(x, causal=bool(causal))
            loss = lt.weighted_ce(logits, rows[sl], targets[sl], weights[sl])
            loss.backward()
            total += float(loss)
        torch.nn.utils.clip_grad_norm_(list(model.w.values()), a.clip)
        for g in opt.param_groups:
            g["lr"] = float(lr)
        opt.step()
        losses.append(total)
    if io != len(ids) or ro != len(rows):
        raise SystemExit(f"replay consumed {io}/{len(ids)} ids and {ro}/{len(rows)} rows")
    np.save(os.path.join(d, "losses_torch.npy"), np.array(losses, dtype=np.float64))
    out = os.path.join(d, "torch_final")
    os.makedirs(out, exist_ok=True)
    lt.write_safetensors(os.path.join(out, "model.safetensors"), {n: t.detach() for n, t in model.w.items()})
    shutil.copy(os.path.join(a.init, "config.json"), os.path.join(out, "config.json"))


if __name__ == "__main__":
    main()
