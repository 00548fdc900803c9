#!/usr/bin/python3
"""Command-line front end of the PyTorch reference (llada_torch.py), the other half of the C++
engine's model-vs-reference tests.

  logits --model DIR --ids X.npy [--attention-mask M.npy] [--causal] [--f64] --out Y.npy
      ids [B, T] (or [T]) int -> logits float32 [B, T, V] (or [T, V])
  grads  --model DIR --ids X.npy [--attention-mask M.npy] --rows R.npy --targets T.npy
         --weights W.npy [--causal] [--f64] [--mixed-bf16] --out G.safetensors
      loss = sum_i weights[i] * CE(logits[rows[i]], targets[i]) with rows flat b*T+t indices;
      writes F32 "loss" (shape [1]) and the gradient of every weight under its HF name
      (weight-tied models have no head tensor).
  batch JOBS.json
      runs a JSON list of jobs, each {"cmd": "logits"|"grads", <the flags above without dashes>},
      in one process (importing torch costs seconds; the C++ tests run many small jobs).

--causal forces the causal mask on; without it the model's config decides (AR baseline models
carry "causal": true). --no-bf16-matmul turns off the emulation of bf16-rounded matmul inputs.
--mixed-bf16: every product's inputs rounded to bf16, forward and backward (llada train
--precision bf16).
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_torch as lt  # noqa: E402


def _load_ids(path):
    ids = np.load(path)
    if ids.dtype.kind not in "iu":
        raise ValueError(f"{path}: ids must be integers, got dtype {ids.dtype}")
    if ids.ndim == 1:
        return ids[None, :], True
    if ids.ndim != 2:
        raise ValueError(f"{path}: ids must be [B, T] or [T], got shape {ids.shape}")
    return ids, False


def _load_mask(path, shape):
    if not path:
        return None
    m = np.load(path)
    if m.size != np.prod(shape):
        raise ValueError(f"{path}: attention mask has shape {m.shape}, ids have {shape}")
    m = m.reshape(shape)
    if not np.isin(m, (0, 1)).all():
        raise ValueError(f"{path}: attention mask values must be 0 or 1")
    return m


def run_logits(a):
    model = lt.LLaDA.load(a["model"], f64=a.get("f64", False),
                          bf16_matmul=not a.get("no_bf16_matmul", False))
    ids, squeeze = _load_ids(a["ids"])
    mask = _load_mask(a.get("attention_mask"), ids.shape)
    with torch.no_grad():
        logits = model.forward(ids, mask, causal=True if a.get("causal") else None)
    out = logits.float().numpy()
    np.save(a["out"], out[0] if squeeze else out)


def run_grads(a):
    model = lt.LLaDA.load(a["model"], f64=a.get("f64", False),
                          bf16_matmul=not a.get("no_bf16_matmul", False), requires_grad=True,
                          mixed_bf16=a.get("mixed_bf16", False))
    ids, _ = _load_ids(a["ids"])
    mask = _load_mask(a.get("attention_mask"), ids.shape)
    rows, targets, weights = (np.load(a[k]).reshape(-1) for k in ("rows", "targets", "weights"))
    if not (len(rows) == len(targets) == len(weights)):
        raise ValueError(f"rows ({len(rows)}), targets ({len(targets)}) and weights "
                         f"({len(weights)}) differ in length")
    logits = model.forward(ids, mask, causal=True if a.get("causal") else None)
    loss = lt.weighted_ce(logits, rows, targets, weights)
    loss.backward()
    out = {"loss": np.array([loss.item()], dtype=np.float32)}
    for n, g in model.grads().items():
        out[n] = g.detach().float().numpy()
    lt.write_safetensors(a["out"], out)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("logits", "grads"):
        p = sub.add_parser(name)
        p.add_argument("--model", required=True)
        p.add_argument("--ids", required=True)
        p.add_argument("--attention-mask", dest="attention_mask")
        p.add_argument("--causal", action="store_true")
        p.add_argument("--f64", action="store_true")
        p.add_argument("--no-bf16-matmul", dest="no_bf16_matmul", action="store_true")
        p.add_argument("--out", required=True)
        if name == "grads":
            for k in ("rows", "targets", "weights"):
                p.add_argument("--" + k, required=True)
            p.add_argument("--mixed-bf16", dest="mixed_bf16", action="store_true")
    p = sub.add_parser("batch")
    p.add_argument("jobs")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)  # tiny models; leave the other core to the engine's tests
    run = {"logits": run_logits, "grads": run_grads}
    if args.cmd == "batch":
        with open(args.jobs) as f:
            jobs = json.load(f)
        for job in jobs:
            run[job["cmd"]](job)
    else:
        run[args.cmd](vars(args))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except (ValueError, KeyError, OSError) as e:
        print(f"ref_cli.py: error: {e}", file=sys.stderr)
        sys.exit(1)
