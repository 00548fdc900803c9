#!/usr/bin/python3
"""int8 against bf16 on one task: accuracy of each and how much of the answers agree.

usage: int8_agreement.py BF16_REPORT.json INT8_REPORT.json [--gen-length N]
The reports are `llada eval --report` files of the same task and options, one per model. Agreement
is counted over each answer's whole canvas of N tokens (characters for the character tokenizer;
positions past an answer's end are EOS on both sides when both answers end there).
"""
import argparse
import json

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("bf16")
ap.add_argument("int8")
ap.add_argument("--gen-length", type=int, default=16)
a = ap.parse_args()
x = json.load(open(a.bf16))["items"]
y = json.load(open(a.int8))["items"]
if len(x) != len(y) or any(p["prompt"] != q["prompt"] for p, q in zip(x, y)):
    raise SystemExit("int8_agreement: the two reports are not of the same items")
n = a.gen_length
equal = sum(sum(c == d for c, d in zip(p["output"].ljust(n, "\0")[:n], q["output"].ljust(n, "\0")[:n]))
            for p, q in zip(x, y))
acc = lambda items: 100 * sum(i["score"] for i in items) / len(items)
same = sum(p["output"] == q["output"] for p, q in zip(x, y))
print(f"{len(x)} items: accuracy bf16 {acc(x):.1f}%, int8 {acc(y):.1f}% ({acc(y) - acc(x):+.1f} points); "
      f"identical answers {same}/{len(x)}; canvas tokens equal {100 * equal / (n * len(x)):.1f}%")
