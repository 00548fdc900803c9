#!/usr/bin/python3
"""Memorisation against epochs: the fill probe (fill_eval.py) on every checkpoint of training runs,
as a table (JSON lines) and a PNG.

usage: memorisation_curve.py --shard train.tok --out curve.png RUN_DIR [RUN_DIR ...]
                             [--docs 200] [--mask-rate 0] [--jsonl out.jsonl] [--from-jsonl in.jsonl]
Each RUN_DIR is a `llada train` run directory: its step-N checkpoints are probed; the x axis is
epochs = tokens seen / training tokens, read from the run's trainer state and the shard. The right
panel is each run's held-out loss (its metrics.jsonl) on the same axis. --from-jsonl redraws from a
table written earlier instead of probing again.
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

from exp_io import save_figure_atomic  # noqa: E402


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
    ap.add_argument("--from-jsonl")
    a = ap.parse_args()
    n_tokens = len(read_token_shard(a.shard)[0])
    rows = [json.loads(l) for l in open(a.from_jsonl)] if a.from_jsonl else []
    for run in [] if a.from_jsonl else a.runs:
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
    fig, (ax, hx) = plt.subplots(1, 2, figsize=(12, 4.5), dpi=120)
    for run_dir in a.runs:
        run = os.path.basename(os.path.normpath(run_dir))
        mine = [r for r in rows if r["run"] == run]
        if not mine:
            continue
        ax.plot([r["epochs"] for r in mine], [100 * r["accuracy"] for r in mine], marker="o", ms=3, label=run)
        epochs_per_step = mine[0]["epochs"] / mine[0]["step"]
        held = {}
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            for line in f:
                rec = json.loads(line)
                if "eval_loss" in rec:
                    held[rec["step"]] = rec["eval_loss"]
        pts = sorted(held.items())
        hx.plot([s * epochs_per_step for s, _ in pts], [v for _, v in pts], marker="o", ms=3, label=run)
    ax.set_xlabel("epochs over the training documents")
    ax.set_ylabel("hidden character recalled (%)")
    ax.set_ylim(0, 100)
    ax.set_title("memorisation: one hidden character of a training document")
    hx.set_xlabel("epochs")
    hx.set_ylabel("held-out loss, nats/token (diffusion: the bound)")
    hx.set_title("held-out loss (fixed noise)")
    for x in (ax, hx):
        x.grid(alpha=0.3)
        x.legend()
    fig.tight_layout()
    save_figure_atomic(fig, a.out, dpi=100)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
