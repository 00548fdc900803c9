#!/usr/bin/python3
"""Table and plot of the sampling ablations (ablations.sh): reads every OUT/*.json eval report.

usage: ablations_plot.py --dir OUT --gen G --model M --task T --out-md F.md --out-png F.png
"""
import argparse
import glob
import json
import math
import os

from exp_io import save_figure_atomic, write_text_atomic


def load(path):
    r = json.load(open(path))
    t = r["tasks"][0]
    g = t.get("generation", {})
    n = t["items"]
    acc = t["score"]
    return {"tag": os.path.basename(path)[:-5], "accuracy": acc, "items": n,
            "std_error": math.sqrt(max(acc * (1 - acc), 1e-12) / max(n, 1)),
            "calls_per_item": g.get("model_calls", 0) / max(n, 1), "tokens_per_second": g.get("tokens_per_second", 0.0),
            "seconds": g.get("seconds", r.get("seconds", 0.0)), "options": r["options"]}


def pareto(points):
    """Indices of the points no other point beats on both accuracy (higher) and calls (lower)."""
    front = []
    for i, p in enumerate(points):
        if not any(q["accuracy"] >= p["accuracy"] and q["calls_per_item"] <= p["calls_per_item"] and
                   (q["accuracy"] > p["accuracy"] or q["calls_per_item"] < p["calls_per_item"]) for q in points):
            front.append(i)
    return sorted(front, key=lambda i: points[i]["calls_per_item"])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--gen", type=int, required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--task", required=True)
    ap.add_argument("--out-md", required=True)
    ap.add_argument("--out-png", required=True)
    a = ap.parse_args()
    rows = {r["tag"]: r for r in map(load, sorted(glob.glob(os.path.join(a.dir, "*.json"))))}

    def line(r):
        return (f"| {r['tag']} | {100 * r['accuracy']:.1f}% +- {100 * r['std_error']:.1f} | {r['calls_per_item']:.1f} | "
                f"{r['tokens_per_second']:.1f} |")
    md = [f"Model `{a.model}`, task `{a.task}` ({next(iter(rows.values()))['items']} items), gen_length {a.gen}, "
          "chat template, temperature 0.", "",
          "| configuration | accuracy | model calls per item | tokens/s |", "|---|---|---|---|"]
    for prefix in ("steps_", "remasking_", "block_", "fast_"):
        group = [r for t, r in rows.items() if t.startswith(prefix)]
        if prefix == "steps_" or prefix == "block_":
            group.sort(key=lambda r: int(r["tag"].split("_")[1]))
        md += [line(r) for r in group]
    fast = [r for t, r in rows.items() if t.startswith("fast_")]
    front = pareto(fast)
    md += ["", "Pareto front of the fast decoders (accuracy against model calls): " +
           ", ".join(fast[i]["tag"] for i in front)]
    write_text_atomic(a.out_md, "\n".join(md) + "\n")
    print("\n".join(md))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 4, figsize=(17, 4))
    steps = sorted((r for t, r in rows.items() if t.startswith("steps_")), key=lambda r: int(r["tag"].split("_")[1]))
    axes[0].errorbar([int(r["tag"].split("_")[1]) for r in steps], [100 * r["accuracy"] for r in steps],
                     yerr=[100 * r["std_error"] for r in steps], fmt="o-")
    axes[0].set_xscale("log", base=2)
    axes[0].set_xlabel("sampling steps")
    axes[0].set_ylabel("accuracy (%)")
    axes[0].set_title("steps (low-confidence, one block)")
    rem = [r for t, r in rows.items() if t.startswith("remasking_")]
    axes[1].bar([r["tag"].split("_", 1)[1] for r in rem], [100 * r["accuracy"] for r in rem],
                yerr=[100 * r["std_error"] for r in rem])
    axes[1].set_title(f"remasking (steps = {a.gen})")
    blk = sorted((r for t, r in rows.items() if t.startswith("block_")), key=lambda r: int(r["tag"].split("_")[1]))
    axes[2].bar([r["tag"].split("_")[1] for r in blk], [100 * r["accuracy"] for r in blk],
                yerr=[100 * r["std_error"] for r in blk])
    axes[2].set_xlabel("block length")
    axes[2].set_title(f"block length (steps = {a.gen})")
    colors = {"none": "tab:blue", "prefix": "tab:orange", "dual": "tab:green"}
    for cache, c in colors.items():
        pts = [r for r in fast if r["tag"].startswith(f"fast_{cache}_")]
        axes[3].scatter([r["calls_per_item"] for r in pts], [100 * r["accuracy"] for r in pts], color=c, label=f"cache {cache}")
        for r in pts:
            axes[3].annotate(r["tag"].split("_", 2)[2], (r["calls_per_item"], 100 * r["accuracy"]), fontsize=7,
                             textcoords="offset points", xytext=(3, 3))
    axes[3].plot([fast[i]["calls_per_item"] for i in front], [100 * fast[i]["accuracy"] for i in front], "k--", lw=1,
                 label="Pareto front")
    axes[3].set_xlabel("model calls per item")
    axes[3].set_title("fast decoders (blocks of gen/2)")
    axes[3].legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, a.out_png, dpi=100)


if __name__ == "__main__":
    main()
