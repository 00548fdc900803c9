#!/usr/bin/python3
"""Loss curves of `llada train` runs as a PNG (needs Debian python3-matplotlib).

usage: plot_metrics.py RUN_DIR_OR_METRICS_JSONL [...] --out curves.png [--title T] [--log-x]

Each run's metrics.jsonl gives a training-loss line (per log interval) and a held-out-loss line
(fixed-noise evaluations, markers). Several runs are drawn on the same axes, labelled by directory
name, so diffusion and the AR baseline (or two learning rates) can be compared at a glance.
A step logged twice (a resumed run) keeps its last value.
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_metrics(path):
    if os.path.isdir(path):
        path = os.path.join(path, "metrics.jsonl")
    train, heldout = {}, {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{n}: not JSON ({e})")
            if "loss" in rec:
                train[rec["step"]] = rec["loss"]
            if "eval_loss" in rec:
                heldout[rec["step"]] = rec["eval_loss"]
    if not train and not heldout:
        sys.exit(f"{path}: no loss records")
    return path, sorted(train.items()), sorted(heldout.items())


def label_of(path):
    d = os.path.dirname(os.path.abspath(path))
    return os.path.basename(d) or d


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="run directories or metrics.jsonl files")
    ap.add_argument("--out", required=True, help="PNG to write")
    ap.add_argument("--title", default="training loss")
    ap.add_argument("--log-x", action="store_true", help="logarithmic step axis")
    a = ap.parse_args()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    for i, run in enumerate(a.runs):
        path, train, heldout = read_metrics(run)
        color = f"C{i}"
        name = label_of(path)
        if train:
            ax.plot([s for s, _ in train], [v for _, v in train], color=color, alpha=0.6, lw=1,
                    label=f"{name} train")
        if heldout:
            ax.plot([s for s, _ in heldout], [v for _, v in heldout], color=color, marker="o",
                    ms=3, lw=1.5, label=f"{name} held-out (fixed noise)")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (nats / token)")
    if a.log_x:
        ax.set_xscale("log")
    ax.set_title(a.title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
