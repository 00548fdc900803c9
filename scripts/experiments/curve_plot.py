#!/usr/bin/python3
"""Question accuracy against pre-training (reversal.sh curve; docs/experiments.md section 2).

Reads, in --run-dir, curve_FAMILY/step-N.json (and final.json): `llada eval` reports of one
checkpoint on the famous-pair test (test_pairs.jsonl, forward and backward) and, when present, on a
sample of the questions the model was trained on (qa_sample.jsonl). Passes over the mix are
tokens / the mix's token count (read from the shard's header, shards/train.tok).

Writes one row per checkpoint (JSON lines: step, tokens, passes, test_forward, test_backward,
test_items, trained, trained_items) and a plot of the three accuracies against passes.

The final weights count at the run's configured steps (RUN_FAMILY/config.json, RUN = --run-name).
--before adds the rows of the run this one continued (its curve.jsonl) to the plot and the table.

usage: curve_plot.py --run-dir D --run-name ext --families "diffusion ar" --tokens-per-step 4096
                     [--step-offset N] [--before J] --out-json J --out-png P
"""
import argparse
import glob
import json
import os
import re
import struct

from exp_io import read_jsonl, save_figure_atomic, write_text_atomic

NAMES = {"diffusion": "LLaDA", "ar": "AR"}
TOKEN_COUNT_OFFSET = 16  # the shard header's uint64 token count (src/train/shards.h)


def shard_tokens(path):
    with open(path, "rb") as f:
        head = f.read(64)
    if len(head) < 64 or head[:8] != b"LLADATOK":
        raise SystemExit(f"curve_plot: {path}: not a token shard")
    return struct.unpack_from("<Q", head, TOKEN_COUNT_OFFSET)[0]


def task_scores(report, name):
    for t in report["tasks"]:
        if t["task"] == name:
            return t
    return None


def rows_of(run_dir, fam, tokens_per_step, final_step, mix_tokens):
    rows = []
    for path in glob.glob(os.path.join(run_dir, f"curve_{fam}", "*.json")):
        tag = os.path.basename(path)[:-5]
        if tag == "final":
            step = final_step
        elif re.fullmatch(r"step-\d+", tag):
            step = int(tag[5:])
        else:
            continue
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        test = task_scores(report, "test_pairs.jsonl")
        if test is None:
            raise SystemExit(f"curve_plot: {path}: no test_pairs.jsonl task")
        by_dir = test["groups"]["direction"]
        trained = task_scores(report, "qa_sample.jsonl")
        tokens = step * tokens_per_step
        rows.append(dict(family=fam, checkpoint=tag, step=step, tokens=tokens,
                         passes=round(tokens / mix_tokens, 2),
                         test_forward=by_dir["forward"]["score"], test_backward=by_dir["backward"]["score"],
                         test_items=test["items"],
                         trained=trained["score"] if trained else None,
                         trained_items=trained["items"] if trained else 0))
    # `final` duplicates the last step's checkpoint when both exist: keep the final weights' row
    rows.sort(key=lambda r: (r["step"], r["checkpoint"] != "final"))
    dedup = {}
    for r in rows:
        dedup.setdefault(r["step"], r)
    return [dedup[s] for s in sorted(dedup)]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--families", default="diffusion")
    ap.add_argument("--tokens-per-step", type=int, required=True)
    ap.add_argument("--run-name", required=True, help="the runs are RUN_FAMILY (pre, ext, ...)")
    ap.add_argument("--step-offset", type=int, default=0,
                    help="steps this run's starting weights already had on the same mix")
    ap.add_argument("--before", help="curve.jsonl of the run this one continued")
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--out-png")
    a = ap.parse_args()
    if a.tokens_per_step <= 0 or a.step_offset < 0:
        ap.error("--tokens-per-step must be > 0 and --step-offset >= 0")
    mix_tokens = shard_tokens(os.path.join(a.run_dir, "shards", "train.tok"))
    rows = []
    for fam in a.families.split():
        config = os.path.join(a.run_dir, f"{a.run_name}_{fam}", "config.json")
        if not os.path.isfile(config):
            raise SystemExit(f"curve_plot: {config} missing (the run whose checkpoints were evaluated)")
        with open(config, encoding="utf-8") as f:
            final_step = json.load(f)["steps"]
        fam_rows = rows_of(a.run_dir, fam, a.tokens_per_step, final_step, mix_tokens)
        if not fam_rows:
            raise SystemExit(f"curve_plot: no curve_{fam}/*.json in {a.run_dir} (run the curve stage)")
        for r in fam_rows:
            r["step"] += a.step_offset
            r["tokens"] = r["step"] * a.tokens_per_step
            r["passes"] = round(r["tokens"] / mix_tokens, 2)
        rows += fam_rows
    if a.before:
        before = read_jsonl(a.before)
        first = {}
        for r in rows:
            first[r["family"]] = min(r["step"], first.get(r["family"], r["step"]))
        # the continued run's last point is this run's step 0 (the same weights): keep one of them
        rows = [r for r in before if r["step"] < first.get(r["family"], float("inf"))] + rows
        rows.sort(key=lambda r: (r["family"], r["step"]))
    write_text_atomic(a.out_json, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    for r in rows:
        trained = "" if r["trained"] is None else f"  trained {100 * r['trained']:5.1f}%"
        print(f"{NAMES.get(r['family'], r['family']):6} step {r['step']:6}  passes {r['passes']:7.2f}  "
              f"test forward {100 * r['test_forward']:5.1f}%  backward {100 * r['test_backward']:5.1f}%{trained}")
    if a.out_png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.2))
        families = list(dict.fromkeys(r["family"] for r in rows))  # with --before's, in order
        for k, fam in enumerate(families):
            fr = [r for r in rows if r["family"] == fam]
            x = [r["passes"] for r in fr]
            name = NAMES.get(fam, fam)
            color = f"C{k}"  # one colour per family, one line style per measure
            ax.plot(x, [100 * r["test_forward"] for r in fr], "o-", color=color, label=f"{name}: test, forward")
            ax.plot(x, [100 * r["test_backward"] for r in fr], "s:", color=color, label=f"{name}: test, backward")
            if all(r["trained"] is not None for r in fr):
                ax.plot(x, [100 * r["trained"] for r in fr], "^--", color=color, alpha=0.6,
                        label=f"{name}: trained questions")
        ax.set_xlabel(f"passes over the mix ({mix_tokens:,} tokens)")
        ax.set_ylabel("accuracy, % (expected line in the answer)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        save_figure_atomic(fig, a.out_png)


if __name__ == "__main__":
    main()
