#!/usr/bin/python3
"""What a couplet-answer model does with a line question (docs/experiments.md 2e): for each item of
an `llada eval` report on the reversal test, whether the output restates the asked line (the copy
that couplet answers teach) and whether it holds the expected neighbour (the score), per direction.

usage: copy_rate.py --report eval.json [--tsv outputs.tsv]
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exp_io import write_text_atomic  # noqa: E402

QUESTION = ("的下一句是什么", "的上一句是什么")


def asked_line(prompt):
    for q in QUESTION:
        if q in prompt:
            return prompt.split(q)[0]
    raise SystemExit(f"copy_rate: not a line question: {prompt[:40]}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", required=True)
    ap.add_argument("--tsv", help="every item: direction, asked, expected, output, copied, scored")
    a = ap.parse_args()
    with open(a.report, encoding="utf-8") as f:
        items = json.load(f)["items"]
    counts = collections.defaultdict(lambda: [0, 0, 0])
    rows = ["direction\tasked\texpected\toutput\tcopied\tscored\n"]
    for it in items:
        direction = it.get("meta", {}).get("direction", "?")
        asked = asked_line(it["prompt"])
        copied = asked in it["output"]
        scored = bool(it["score"])
        for key in (direction, "all"):
            c = counts[key]
            c[0] += 1
            c[1] += copied
            c[2] += scored
        rows.append(f"{direction}\t{asked}\t{it['expected']}\t{it['output'].replace(chr(9), ' ').replace(chr(10), ' ')}"
                    f"\t{int(copied)}\t{int(scored)}\n")
    for key in sorted(counts, key=lambda k: (k == "all", k)):
        n, copied, scored = counts[key]
        print(f"{key:9s} items {n:4d}   asked line restated {copied:4d} ({100 * copied / n:5.1f}%)   "
              f"expected line present {scored:4d} ({100 * scored / n:5.1f}%)")
    if a.tsv:
        write_text_atomic(a.tsv, "".join(rows))


if __name__ == "__main__":
    main()
