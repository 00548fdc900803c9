#!/usr/bin/python3
"""Memorisation against epochs: the fill probe (fill_eval.py) on every checkpoint of training runs,
as a table (JSON lines) and a PNG.

usage: memorisation_curve.py --shard train.tok --out curve.png RUN_DIR [RUN_DIR ...]
                             [--docs 200] [--mask-rate 0] [--jsonl out.jsonl]
Each RUN_DIR is a `llada train` run directory: its step-N checkpoints (and final/) are probed; the
x axis is epochs = tokens seen / training tokens, read from the run's trainer state and the shard.
"""
import argparse
import json
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "tests", "reference"))
from train_torch import read_token_shard  # noqa: E402


def checkpoints(run):
    out = []
    for name in os.listdir(run):
        if name.startswith("step-") and ".tmp." not in name:
            st = json.load(open(os.path.join(run, name, "trainer_state.json")))
            out.append((int(st["step"]), int(st["tokens_seen"]), os.path.join(run, name)))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--shard", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--mask-rate", type=float, default=0.0)
    ap.add_argument("--jsonl")
    a = ap.parse_args()
    n_tokens = len(read_token_shard(a.shard)[0])
    rows = []
    for run in a.runs:
        for step, tokens, path in checkpoints(run):
            res = subprocess.run([sys.executable, os.path.join(HERE, "fill_eval.py"), "--json", "--docs",
                                  str(a.docs), "--mask-rate", str(a.mask_rate), "--shard", a.shard,
                                  "--model", path], check=True, capture_output=True, text=True)
            r = json.loads(res.stdout.strip().splitlines()[-1])
            r.update(run=os.path.basename(os.path.normpath(run)), step=step, epochs=tokens / n_tokens)
            rows.append(r)
            print(json.dumps(r), flush=True)
    if a.jsonl:
        with open(a.jsonl, "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=120)
    for run in dict.fromkeys(r["run"] for r in rows):
        pts = [(r["epochs"], 100 * r["accuracy"]) for r in rows if r["run"] == run]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label=run)
    ax.set_xlabel("epochs over the training poems")
    ax.set_ylabel("hidden character recalled (%)")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend()
    ax.set_title("memorisation: one hidden character of a training poem")
    fig.tight_layout()
    fig.savefig(a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
