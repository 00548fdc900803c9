#!/usr/bin/python3
"""The reversal test across the experiment's runs, as a bar chart beside the paper's models
(docs/experiments.md section 2): each run's forward and backward score read from the summary that
`llada eval` printed for it (an eval_*.txt under docs/experiments/), never typed in.

usage: reversal_runs_plot.py --run LABEL=EVAL.txt [--run ...] --out PLOT.png
"""
import argparse
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from exp_io import save_figure_atomic  # noqa: E402

# The paper's Table (reversal poem completion), for reference beside our runs.
PAPER = [("LLaDA-8B (paper)", 51.8, 45.6), ("GPT-4o (paper)", 82.7, 34.3), ("Qwen2.5-7B (paper)", 75.9, 38.0)]


def direction_scores(path):
    """{direction: percent} from the `direction=...  items  score%` rows of an eval summary."""
    scores = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.search(r"direction=(forward|backward)\s+(\d+)\s+([\d.]+)%", line)
            if m:
                scores[m.group(1)] = float(m.group(3))
    if set(scores) != {"forward", "backward"}:
        raise SystemExit(f"reversal_runs_plot: {path}: no forward and backward rows")
    return scores


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--run", action="append", required=True, help="LABEL=EVAL.txt")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = []
    for r in a.run:
        if "=" not in r:
            ap.error(f"--run {r}: expected LABEL=EVAL.txt")
        label, path = r.split("=", 1)
        s = direction_scores(path)
        rows.append((label, s["forward"], s["backward"]))
    rows += PAPER
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(rows)), 4.2))
    x = range(len(rows))
    w = 0.38
    fwd = ax.bar([i - w / 2 for i in x], [r[1] for r in rows], w, label="forward (next line)", color="#3b75af")
    bwd = ax.bar([i + w / 2 for i in x], [r[2] for r in rows], w, label="backward (previous line)", color="#e1812c")
    for bars in (fwd, bwd):
        for b in bars:
            ax.annotate(f"{b.get_height():.1f}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7)
    ax.axvline(len(rows) - len(PAPER) - 0.5, color="grey", lw=0.8, ls="--")
    ax.set_xticks(list(x))
    ax.set_xticklabels([r[0] for r in rows], rotation=20, ha="right", fontsize=8)
    ax.set_ylabel("famous-pair test, % answered")
    ax.set_ylim(0, 100)
    ax.set_title("Poem completion on poems never asked about (6.4M models) beside the paper")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, a.out)
    print(f"reversal_runs_plot: {len(rows)} bars -> {a.out}")


if __name__ == "__main__":
    main()
