#!/usr/bin/python3
"""Generates arithmetic word problems with worked answers (seeded, so reruns are identical), in English
and Chinese, split train/test by a hash of the prompt so no prompt is in both:

  data/sft/arith_en_train.jsonl  data/eval/arith_en_test.jsonl
  data/sft/arith_zh_train.jsonl  data/eval/arith_zh_test.jsonl

Every row is {"prompt", "response", "answer"}; the response shows the working and ends with the answer.
Usage: make_arithmetic.py [--force] [--count N] [--seed S]"""
import argparse
import hashlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from poetry_common import DATA, log

NAMES_EN = ["Alice", "Ben", "Chloe", "David", "Emma", "Frank", "Grace", "Henry", "Ivy", "Jack", "Lily", "Max"]
ITEMS_EN = ["apples", "books", "coins", "pencils", "stamps", "marbles", "cookies", "stickers", "shells"]
NAMES_ZH = ["小明", "小红", "小刚", "小丽", "小华", "小强", "小芳", "小军", "小燕", "小林"]
ITEMS_ZH = [("苹果", "个"), ("书", "本"), ("铅笔", "支"), ("邮票", "张"), ("弹珠", "颗"), ("饼干", "块"),
            ("贝壳", "个"), ("花", "朵")]


def problem_en(rng):
    kind = rng.choice(["add", "sub", "mul", "div", "two_step"])
    name, item = rng.choice(NAMES_EN), rng.choice(ITEMS_EN)
    if kind == "add":
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        q = "%s has %d %s and gets %d more. How many %s does %s have now?" % (name, a, item, b, item, name)
        return q, "%d + %d = %d. The answer is %d." % (a, b, a + b, a + b), a + b
    if kind == "sub":
        a = rng.randint(10, 999)
        b = rng.randint(1, a - 1)
        q = "%s has %d %s and gives away %d. How many %s are left?" % (name, a, item, b, item)
        return q, "%d - %d = %d. The answer is %d." % (a, b, a - b, a - b), a - b
    if kind == "mul":
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        q = "There are %d boxes with %d %s in each box. How many %s are there in total?" % (a, b, item, item)
        return q, "%d x %d = %d. The answer is %d." % (a, b, a * b, a * b), a * b
    if kind == "div":
        b, c = rng.randint(2, 20), rng.randint(2, 50)
        a = b * c
        q = "%s shares %d %s equally among %d friends. How many %s does each friend get?" % (
            name, a, item, b, item)
        return q, "%d / %d = %d. The answer is %d." % (a, b, c, c), c
    a, b, c = rng.randint(5, 200), rng.randint(2, 12), rng.randint(1, 100)
    total = a + b * c
    q = "%s has %d %s and buys %d packs of %d %s. How many %s does %s have now?" % (
        name, a, item, b, c, item, item, name)
    return q, "%d x %d = %d, and %d + %d = %d. The answer is %d." % (b, c, b * c, a, b * c, total, total), total


def problem_zh(rng):
    kind = rng.choice(["add", "sub", "mul", "div", "two_step"])
    name, (item, unit) = rng.choice(NAMES_ZH), rng.choice(ITEMS_ZH)
    if kind == "add":
        a, b = rng.randint(2, 999), rng.randint(2, 999)
        q = "%s有%d%s%s，又得到%d%s。%s现在有多少%s%s？" % (name, a, unit, item, b, unit, name, unit, item)
        return q, "%d + %d = %d。答案是%d。" % (a, b, a + b, a + b), a + b
    if kind == "sub":
        a = rng.randint(10, 999)
        b = rng.randint(1, a - 1)
        q = "%s有%d%s%s，送给别人%d%s。还剩多少%s？" % (name, a, unit, item, b, unit, unit)
        return q, "%d - %d = %d。答案是%d。" % (a, b, a - b, a - b), a - b
    if kind == "mul":
        a, b = rng.randint(2, 40), rng.randint(2, 40)
        q = "有%d个盒子，每个盒子里有%d%s%s。一共有多少%s%s？" % (a, b, unit, item, unit, item)
        return q, "%d × %d = %d。答案是%d。" % (a, b, a * b, a * b), a * b
    if kind == "div":
        b, c = rng.randint(2, 20), rng.randint(2, 50)
        a = b * c
        q = "%s把%d%s%s平均分给%d个朋友。每个朋友分到多少%s？" % (name, a, unit, item, b, unit)
        return q, "%d ÷ %d = %d。答案是%d。" % (a, b, c, c), c
    a, b, c = rng.randint(5, 200), rng.randint(2, 12), rng.randint(1, 100)
    total = a + b * c
    q = "%s有%d%s%s，又买了%d包，每包%d%s。%s现在有多少%s%s？" % (name, a, unit, item, b, c, unit, name, unit, item)
    return q, "%d × %d = %d，%d + %d = %d。答案是%d。" % (b, c, b * c, a, b * c, total, total), total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--force", action="store_true")
    ap.add_argument("--count", type=int, default=50000, help="problems per language before de-duplication")
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args()
    for lang, gen in (("en", problem_en), ("zh", problem_zh)):
        train_p = os.path.join(DATA, "sft", "arith_%s_train.jsonl" % lang)
        test_p = os.path.join(DATA, "eval", "arith_%s_test.jsonl" % lang)
        if not args.force and os.path.exists(train_p) and os.path.exists(test_p):
            log("skip %s: outputs exist" % lang)
            continue
        os.makedirs(os.path.dirname(train_p), exist_ok=True)
        os.makedirs(os.path.dirname(test_p), exist_ok=True)
        rng = random.Random("%d-%s" % (args.seed, lang))
        seen, train, test = set(), [], []
        for _ in range(args.count):
            q, a, ans = gen(rng)
            if q in seen:
                continue
            seen.add(q)
            h = int.from_bytes(hashlib.sha1(q.encode("utf-8")).digest()[:8], "little") % 100
            (train if h < 90 else test).append({"prompt": q, "response": a, "answer": ans})
        for path, rows in ((train_p, train), (test_p, test)):
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                for r in rows:
                    f.write(json.dumps(r, ensure_ascii=False) + "\n")
            os.replace(path + ".tmp", path)
        log("arithmetic %s: %d train, %d test (seed %d)" % (lang, len(train), len(test), args.seed))


if __name__ == "__main__":
    main()
