#!/usr/bin/python3
"""Data of the scaling study (docs/experiments.md section 3): a training text and a held-out text drawn
from the whole general poetry corpus, and a multiple-choice task on the held-out poems.

Every --stride-th document of poetry.txt (so Tang shi, Song shi and ci are all represented) forms the
pool; every --heldout-every-th pool document is held out, the rest (up to --train-chars) are training
text. A held-out document whose text also occurs in training is dropped, so the two never share a
document.

The task, couplet_mc.jsonl: for a held-out poem whose first verse line is a couplet "A，B。" of 5 or 7
characters per half, the prompt is the poem's title, author and "A，"; the choices are "B。" and the
second halves of three other held-out couplets of the same length; the label is where "B。" landed.
Chance is 25%. `llada eval` scores it by likelihood (exact for AR, the spec's Monte-Carlo estimate
for LLaDA).

usage: scaling_data.py --poetry P --out-train T --out-heldout H --out-task M
                       [--stride 3] [--heldout-every 100] [--train-chars 8000000] [--items 400] [--seed 1]
"""
import argparse
import json
import os
import random
import re

from exp_io import write_text_atomic


def docs_of(path):
    with open(path, encoding="utf-8") as f:
        return [d.strip() for d in f.read().split("\n\n") if d.strip()]


COUPLET = re.compile(r"^(.{5}|.{7})，(.{5}|.{7})。$")


def couplet_items(heldout, n_items, seed):
    found = []  # (title, author, first half, second half)
    for d in heldout:
        lines = d.split("\n")
        if len(lines) < 3:
            continue
        m = COUPLET.match(lines[2].strip())
        if m and len(m.group(1)) == len(m.group(2)):
            found.append((lines[0], lines[1], m.group(1), m.group(2)))
    rng = random.Random(seed)
    by_len = {}
    for k, f in enumerate(found):
        by_len.setdefault(len(f[3]), []).append(k)
    items = []
    for k, (title, author, a, b) in enumerate(found):
        others = [j for j in by_len[len(b)] if found[j][3] != b]
        if len(others) < 3:
            continue
        choices = [found[j][3] + "。" for j in rng.sample(others, 3)]
        label = rng.randrange(4)
        choices.insert(label, b + "。")
        items.append({"prompt": f"{title}\n{author}\n{a}，", "choices": choices, "label": label,
                      "length": len(b)})
    rng.shuffle(items)
    return items[:n_items]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--poetry", required=True)
    ap.add_argument("--out-train", required=True)
    ap.add_argument("--out-heldout", required=True)
    ap.add_argument("--out-task", required=True)
    ap.add_argument("--stride", type=int, default=3)
    ap.add_argument("--heldout-every", type=int, default=100)
    ap.add_argument("--train-chars", type=int, default=8_000_000)
    ap.add_argument("--items", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    if a.stride < 1 or a.heldout_every < 2 or a.train_chars < 1 or a.items < 1:
        ap.error("--stride >= 1, --heldout-every >= 2, --train-chars >= 1 and --items >= 1")
    pool = docs_of(a.poetry)[::a.stride]
    held = pool[::a.heldout_every]
    train, n = [], 0
    for k, d in enumerate(pool):
        if k % a.heldout_every == 0:
            continue
        if n >= a.train_chars:
            break
        train.append(d)
        n += len(d)
    seen = set(train)
    held = [d for d in held if d not in seen]
    items = couplet_items(held, a.items, a.seed)
    if not items:
        raise SystemExit("scaling_data: no held-out couplet found for the task")
    write_text_atomic(a.out_train, "\n\n".join(train) + "\n")
    write_text_atomic(a.out_heldout, "\n\n".join(held) + "\n")
    write_text_atomic(a.out_task, "".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    print(f"scaling_data: train {len(train)} docs ({n} chars), held-out {len(held)} docs "
          f"({sum(map(len, held))} chars), task {len(items)} items -> {a.out_task}")


if __name__ == "__main__":
    main()
