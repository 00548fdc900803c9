#!/usr/bin/python3
"""Where a model's answers to the reversal test come from (docs/experiments.md 2f): for each item of
an `llada eval` report, whether the output is the expected line (scored), another line of the same
test poem, a line that a training question answered (a memorised answer of an asked-about poem),
or none of these (invented). Per direction, and the most frequent outputs.

usage: answer_sources.py --report eval.json --qa qa_pairs.jsonl --test test_pairs.jsonl
"""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from copy_rate import asked_line  # noqa: E402
from exp_io import read_jsonl  # noqa: E402


def poem_key(row):
    meta = row.get("meta", row)
    return (meta.get("title", ""), meta.get("author", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--report", required=True, help="llada eval --report of the reversal test")
    ap.add_argument("--qa", required=True, help="the questions of training (their responses are the answers)")
    ap.add_argument("--test", required=True, help="the test pairs (their lines, per poem)")
    ap.add_argument("--top", type=int, default=5, help="most frequent outputs to list")
    a = ap.parse_args()
    with open(a.report, encoding="utf-8") as f:
        items = json.load(f)["items"]
    trained_answers = {r["response"] for r in read_jsonl(a.qa)}
    poem_lines = collections.defaultdict(set)
    for r in read_jsonl(a.test):
        poem_lines[poem_key(r)].update({asked_line(r["prompt"]), r["response"]})
    kinds = ("scored", "other line of the same poem", "a trained answer", "any other text")
    counts = collections.defaultdict(collections.Counter)
    for it in items:
        out = it["output"].strip()
        if it["score"]:
            kind = kinds[0]
        elif out in poem_lines[poem_key(it)]:
            kind = kinds[1]
        elif out in trained_answers:
            kind = kinds[2]
        else:
            kind = kinds[3]
        counts[it.get("meta", {}).get("direction", "?")][kind] += 1
        counts["all"][kind] += 1
    print(f"{'direction':10s} " + " ".join(f"{k:>28s}" for k in kinds))
    for d in sorted(counts):
        n = sum(counts[d].values())
        print(f"{d:10s} " + " ".join(f"{counts[d][k]:>5d} / {n:<4d} ({100 * counts[d][k] / n:5.1f}%)".rjust(28)
                                     for k in kinds))
    top = collections.Counter(it["output"].strip() for it in items).most_common(a.top)
    print("most frequent outputs: " + ", ".join(f"{o} x{c}" for o, c in top))


if __name__ == "__main__":
    main()
