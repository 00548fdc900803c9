#!/usr/bin/python3
"""Independent re-scoring of an `llada eval --report` file: recomputes every item's score from its
output and expected answer (generation: contains / exact / number, as eval/task.h defines them;
multiple choice: argmax of the reported log-likelihoods against the label; perplexity windows:
NLL / tokens), then every task's and group's mean (perplexity: total NLL / total tokens), and exits 1 naming the first disagreement.

usage: eval_rescore.py REPORT.json
"""
import json
import re
import sys


def last_number(s):
    best = ""
    for m in re.finditer(r"(-?)(\d+(?:,\d+)*)(\.\d+)?", s):
        num = m.group(1) + m.group(2).replace(",", "")
        if m.group(3):
            num += m.group(3)
            num = num.rstrip("0").rstrip(".")
        best = num
    return best


def score(item, metric):
    if "window" in item:  # perplexity: NLL per scored token of the window
        return item["nll"] / item["tokens"]
    if "choices" in item:
        lls = item["log_likelihoods"]
        return 1.0 if lls.index(max(lls)) == item["label"] else 0.0
    out, exp = item["output"], item["expected"].strip()
    if metric == "contains":
        return 1.0 if exp and exp in out else 0.0
    if metric == "exact":
        return 1.0 if out.strip() == exp else 0.0
    e = last_number(exp)
    return 1.0 if e and last_number(out) == e else 0.0


def main():
    r = json.load(open(sys.argv[1], encoding="utf-8"))
    metric = r["options"]["metric"]
    bad = 0
    for it in r["items"]:
        s = score(it, metric)
        if s != it["score"]:
            print(f"item {it['task']}:{it['line']}: report says {it['score']}, rescored {s}")
            bad += 1
    for t in r["tasks"]:
        items = [it for it in r["items"] if it["task"] == t["task"]]
        if t["metric"] == "nll_per_token":  # a ratio of sums: every scored token weighs the same
            mean = sum(it["nll"] for it in items) / sum(it["tokens"] for it in items)
        else:
            mean = sum(score(it, metric) for it in items) / len(items)
        if len(items) != t["items"] or abs(mean - t["score"]) > 1e-9 * max(1.0, abs(mean)):
            print(f"task {t['task']}: report says {t['score']} over {t['items']}, rescored {mean} over {len(items)}")
            bad += 1
        for field, vals in t["groups"].items():
            for v, g in vals.items():
                sel = [it for it in items if field in it["meta"] and
                       (it["meta"][field] if isinstance(it["meta"][field], str) else json.dumps(it["meta"][field])) == v]
                m = sum(score(it, metric) for it in sel) / len(sel)
                if len(sel) != g["items"] or abs(m - g["score"]) > 1e-12:
                    print(f"group {t['task']} {field}={v}: report {g['score']} over {g['items']}, rescored {m} over {len(sel)}")
                    bad += 1
    print(f"eval_rescore: {len(r['items'])} items, {bad} disagreements")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
