#!/usr/bin/python3
"""Rewrites a line-pair question set so that every answer is the whole couplet in the poem's own
layout: `A的下一句是什么？` and `B的上一句是什么？` are both answered `A，B` (with the text that separates
the two lines in the famous collection). The question and the test are unchanged: the paper's
metric (the expected line appears in the output) still asks for B forward and A backward.

Why: the line probe (docs/experiments.md 2d) shows the 6.4M LLaDA knows test pairs in both
directions in the poem's layout but cannot carry a line into a bare answer slot. An answer that
restates the asked line and gives its neighbour in their memorised order turns the question into
that layout; whether a model can then produce the unknown side is exactly the reversal question
(an AR model must emit A before it has seen it in the answer when asked backward).

usage: couplet_answers.py --text famous.txt --in qa_pairs.jsonl --out qa_couplets.jsonl
                          [--sample N --seed S] [--drop-missing]
--text is the corpus the poems come from (the famous collection, or poetry.txt for the general SFT
set); --sample N keeps N line questions drawn at random; other kinds (author) are left out.
"""
import argparse
import json
import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from exp_io import write_text_atomic  # noqa: E402

FORWARD, BACKWARD = "的下一句是什么", "的上一句是什么"


def line_pair(r, where):
    """(a, b): the asked pair in poem order."""
    direction = r.get("direction") or {"next": "forward", "prev": "backward"}.get(r.get("kind"))
    if direction == "forward" and FORWARD in r["prompt"]:
        return r["prompt"].split(FORWARD)[0], r["response"]
    if direction == "backward" and BACKWARD in r["prompt"]:
        return r["response"], r["prompt"].split(BACKWARD)[0]
    raise SystemExit(f"{where}: not a forward/backward line question")


def separators(text, wanted):
    """{(a, b): (sep, end)} for the wanted adjacent lines, in one pass over the corpus (the first
    occurrence wins): sep is the text between them (punctuation, a line break), end the character
    after b."""
    found = {}
    prev = None
    for m in re.finditer(r"\w+", text):
        if prev is not None:
            key = (prev.group(), m.group())
            if key in wanted and key not in found:
                found[key] = (text[prev.end():m.start()], text[m.end()] if m.end() < len(text) else "。")
        prev = m
    return found


def couplet_rows(rows, text, where, drop_missing=False):
    """The rows with couplet answers; a pair not adjacent in the text is an error, or with
    drop_missing left out (returned second as a count)."""
    pairs = [line_pair(r, f"{where}:{n}") for n, r in enumerate(rows, 1)]
    seps = separators(text, set(pairs))
    out, dropped = [], 0
    for n, (r, (a, b)) in enumerate(zip(rows, pairs), 1):
        if (a, b) not in seps:
            if drop_missing:
                dropped += 1
                continue
            raise SystemExit(f"{where}:{n}: {a} / {b} are not adjacent lines anywhere in the text")
        out.append(dict(r, response=a + seps[(a, b)][0].replace("\n", "") + b, line=r["response"]))
    return out, dropped


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", required=True, help="the corpus the poems come from")
    ap.add_argument("--in", dest="inp", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sample", type=int, default=0, help="keep N questions drawn at random")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--drop-missing", action="store_true",
                    help="leave out questions whose lines are not adjacent in --text (else an error)")
    a = ap.parse_args()
    with open(a.text, encoding="utf-8") as f:
        text = f.read()
    with open(a.inp, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    # other question kinds in the SFT sets (the author of a title) are not line pairs
    rows = [r for r in rows if r.get("kind", "next") in ("next", "prev")]
    if a.sample and a.sample < len(rows):
        rows = random.Random(a.seed).sample(rows, a.sample)
    out, dropped = couplet_rows(rows, text, a.inp, a.drop_missing)
    write_text_atomic(a.out, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in out))
    print(f"couplet_answers: {len(out)} questions -> {a.out}"
          + (f" ({dropped} left out: not adjacent in {a.text})" if dropped else ""))


if __name__ == "__main__":
    main()
