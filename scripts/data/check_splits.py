#!/usr/bin/python3
"""Checks the honesty of the splits built by fetch_all.sh; exits 1 on any leak:

  - no prompt of an evaluation set appears in any SFT set;
  - no line asked about in the reversal test appears (as question or answer) in the poem SFT set;
  - every next/previous-line prompt of the poem SFT set has one answer.
"""
import collections
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from poetry_common import DATA, log

LINE_Q = re.compile(r"^(.*)的[上下]一句是什么？")


def rows(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def main():
    problems = []
    sft_files = sorted(glob.glob(os.path.join(DATA, "sft", "*.jsonl")))
    eval_files = sorted(glob.glob(os.path.join(DATA, "eval", "*.jsonl")))
    if not sft_files or not eval_files:
        raise SystemExit("no data under %s: run scripts/data/fetch_all.sh" % DATA)
    sft_prompts = set()
    for p in sft_files:
        for r in rows(p):
            sft_prompts.add(r["prompt"])
    for p in eval_files:
        n = leaked = 0
        for r in rows(p):
            n += 1
            leaked += r["prompt"] in sft_prompts
        log("%-28s %7d prompts, %d also in an SFT set" % (os.path.relpath(p, DATA), n, leaked))
        if leaked:
            problems.append("%s: %d prompts leak into SFT" % (p, leaked))

    poem_sft = os.path.join(DATA, "sft", "poems_train.jsonl")
    reversal = os.path.join(DATA, "eval", "reversal.jsonl")
    sft_lines, answers = set(), collections.defaultdict(set)
    for r in rows(poem_sft):
        m = LINE_Q.match(r["prompt"])
        if m:
            sft_lines.update((m.group(1), r["response"]))
            answers[r["prompt"]].add(r["response"])
    ambiguous = sum(1 for a in answers.values() if len(a) > 1)
    log("poem SFT prompts with more than one answer: %d" % ambiguous)
    if ambiguous:
        problems.append("%d poem SFT prompts have several answers" % ambiguous)
    famous_in_sft = 0
    for r in rows(reversal):
        m = LINE_Q.match(r["prompt"])
        famous_in_sft += m.group(1) in sft_lines or r["response"] in sft_lines
    log("reversal questions whose lines appear in poem SFT: %d" % famous_in_sft)
    if famous_in_sft:
        problems.append("%d reversal questions share a line with the poem SFT set" % famous_in_sft)
    for p in problems:
        log("LEAK: " + p)
    log("ok" if not problems else "FAILED")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
