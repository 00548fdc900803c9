#!/usr/bin/python3
"""Builds the Chinese poetry corpora from data/cache (see fetch_raw.sh):

  data/pretrain/poetry.txt       every clean poem (Tang + Song shi, Song ci, 诗经, 楚辞, the famous
                                 collections), Simplified, one document per poem: "title\\nauthor\\nparagraphs",
                                 documents separated by one empty line.
  data/sft/poems_train.jsonl     next-line / previous-line / author questions from Tang poems whose
                                 hash(author, title) is in the 90% training split and that share no line
                                 with a famous collection.
  data/eval/poems_heldout.jsonl  the same questions from the other 10% (never in any SFT set).
  data/eval/reversal.jsonl       adjacent line pairs of every famous collection (唐诗三百首 / tang300 /
                                 千家诗, 宋词三百首, 诗经, 楚辞, 论语, 孟子), both directions: the
                                 reversal-curse test (spec section 6); "source" names the collection.
  data/pretrain/famous_tang.txt  the distinct famous Tang poems alone (唐诗三百首 in two editions, tang300,
                                 千家诗), the same document format: the small corpus of the training
                                 investigation (docs/experiments.md).
  data/pretrain/famous.txt       every famous collection (the famous Tang poems, 宋词三百首, 诗经, 楚辞,
                                 论语, 孟子): the part of the reversal experiment's pre-training mix that is
                                 repeated many times.

Every answer is unique: a line with more than one possible next (previous) line anywhere in the corpus
gets no next-line (previous-line) question. Usage: prepare_poetry.py [--force]"""
import collections
import glob
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from poetry_common import (DATA, FORTUNES, PKG, clean_paragraphs, convert_records, is_han, load_json, log,
                           poem_lines, require, split_bucket)

NEXT_Q = "{line}的下一句是什么？ 直接输出句子即可。"
PREV_Q = "{line}的上一句是什么？ 直接输出句子即可。"
AUTHOR_Q = "《{title}》的作者是谁？ 直接输出作者即可。"
TRAIN_BUCKETS = 90  # of 100


def rec(author, title, paragraphs, source, **extra):
    # A few records hold nested notes (dicts) among their paragraphs: keep only the text.
    paragraphs = [p for p in paragraphs if isinstance(p, str)]
    r = {"author": author or "", "title": title or "", "paragraphs": paragraphs, "source": source}
    r.update(extra)
    return r


def load_quantangshi(kind):
    files = sorted(glob.glob(os.path.join(PKG, "quantangshi", "poet.%s.*.json" % kind)),
                   key=lambda p: int(re.search(r"\.(\d+)\.json$", p).group(1)))
    if not files:
        raise SystemExit("no quantangshi poet.%s.*.json under %s: run fetch_raw.sh" % (kind, PKG))
    out = []
    for f in files:
        for p in load_json(f):
            out.append(rec(p.get("author"), p.get("title"), p.get("paragraphs") or [], kind))
    return out


def load_mengxue(name, source):
    d = load_json(require(os.path.join(PKG, "mengxue", name)))
    out = []
    for section in d["content"]:
        for p in section["content"]:
            author = re.sub(r"^（.*?）", "", p.get("author") or "")  # 千家诗 writes "（唐）孟浩然"
            out.append(rec(author, p.get("chapter"), p.get("paragraphs") or [], source))
    return out


def load_tang300_fortunes():
    """fortunes-zh tang300: 《title》 / 作者：author / lines, entries separated by %, ANSI colours."""
    path = require(os.path.join(FORTUNES, "tang300"))
    text = re.sub(r"\x1b\[[0-9;]*m", "", open(path, encoding="utf-8").read())
    out = []
    for entry in text.split("\n%\n"):
        lines = [l.strip() for l in entry.strip().split("\n") if l.strip()]
        if len(lines) < 3 or not lines[0].startswith("《"):
            continue
        title = lines[0].strip("《》").replace("・", " ")
        author = lines[1].split("：", 1)[-1]
        out.append(rec(author, title, lines[2:], "tang300"))
    return out


def load_all():
    tang = load_quantangshi("tang")
    song = load_quantangshi("song")
    ci = []
    for f in sorted(glob.glob(os.path.join(PKG, "songci", "ci.song.*.json"))):
        for p in load_json(f):
            ci.append(rec(p.get("author"), p.get("rhythmic"), p.get("paragraphs") or [], "songci"))
    shijing = [rec("", "%s·%s" % (p["section"], p["title"]), p["content"], "shijing")
               for p in load_json(require(os.path.join(PKG, "shijing", "shijing.json")))]
    chuci = [rec(p.get("author"), p["title"], p["content"], "chuci")
             for p in load_json(require(os.path.join(PKG, "chuci", "chuci.json")))]
    famous = [rec(p.get("author"), p.get("title"), p.get("paragraphs") or [], "唐诗三百首")
              for p in load_json(require(os.path.join(PKG, "quantangshi", "唐诗三百首.json")))]
    famous += load_mengxue("tangshisanbaishou.json", "唐诗三百首(蒙学)")
    famous += load_mengxue("qianjiashi.json", "千家诗")
    famous += load_tang300_fortunes()
    songci300 = [rec(p.get("author"), p.get("rhythmic"), p.get("paragraphs") or [], "宋词三百首")
                 for p in load_json(require(os.path.join(PKG, "songci", "宋词三百首.json")))]
    prose = []  # 论语, 孟子: famous texts, used only to keep their lines out of SFT
    for name, path in (("论语", "lunyu/lunyu.json"), ("孟子", "sishuwujing/mengzi.json")):
        for p in load_json(require(os.path.join(PKG, path))):
            prose.append(rec("", p["chapter"], p["paragraphs"], name))
    groups = dict(tang=tang, song=song, ci=ci, shijing=shijing, chuci=chuci, famous=famous,
                  songci300=songci300, prose=prose)
    everything = [r for g in groups.values() for r in g]
    log("converting %d records to Simplified with opencc t2s" % len(everything))
    convert_records(everything)
    return groups


def clean_group(records, stats, name):
    out, seen_dropped = [], 0
    for r in records:
        # Prose (论语, 孟子) only feeds the famous-line filter: keep it even with its quotation marks.
        paras = r["paragraphs"] if name == "prose" else clean_paragraphs(r["paragraphs"])
        if paras is None:
            seen_dropped += 1
            continue
        r["paragraphs"] = paras
        r["lines"] = poem_lines(paras)
        if r["lines"]:
            out.append(r)
    stats["%s_read" % name] = len(records)
    stats["%s_dropped_damaged" % name] = seen_dropped
    return out


def dedupe(records):
    seen, out = set(), []
    for r in records:
        key = "".join(r["lines"])
        if key in seen:
            continue
        seen.add(key)
        out.append(r)
    return out


def document(r):
    head = [x for x in (r["title"], r["author"]) if x]
    return "\n".join(head + r["paragraphs"])


def write_documents(path, records):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for r in records:
            f.write(document(r) + "\n\n")
    os.replace(tmp, path)


def question_ok(line):
    return 3 <= len(line) <= 12 and all(is_han(c) for c in line)


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def main():
    force = "--force" in sys.argv
    outs = [os.path.join(DATA, p) for p in ("pretrain/poetry.txt", "sft/poems_train.jsonl",
                                            "eval/poems_heldout.jsonl", "eval/reversal.jsonl",
                                            "pretrain/famous_tang.txt", "pretrain/famous.txt")]
    if not force and all(os.path.exists(p) for p in outs):
        log("skip: outputs exist (use --force to rebuild)")
        return
    for d in ("pretrain", "sft", "eval"):
        os.makedirs(os.path.join(DATA, d), exist_ok=True)
    groups = load_all()
    stats = collections.OrderedDict()
    for name in list(groups):
        groups[name] = clean_group(groups[name], stats, name)

    # Famous lines: every line of every famous collection (poems and prose). A poem sharing any such
    # line is evaluation-only, so no SFT question ever mentions a famous line.
    famous_lines = set()
    for name in ("famous", "songci300", "shijing", "chuci", "prose"):
        for r in groups[name]:
            famous_lines.update(l for l in r["lines"] if len(l) >= 4)
    stats["famous_lines"] = len(famous_lines)

    # Pre-training text: all clean poems, de-duplicated; famous poems whose exact text is missing from
    # the big collections are added so the reversal test asks only about text the model has seen.
    corpus = dedupe(groups["tang"] + groups["song"] + groups["ci"] + groups["shijing"] + groups["chuci"])
    corpus_lines = set(l for r in corpus for l in r["lines"])
    added = [r for r in dedupe(groups["famous"] + groups["songci300"])
             if not all(l in corpus_lines for l in r["lines"])]
    corpus += added
    stats["pretrain_famous_added"] = len(added)
    stats["pretrain_documents"] = len(corpus)
    write_documents(outs[0], corpus)
    chars = sum(1 for r in corpus for c in document(r) if is_han(c))
    stats["pretrain_han_chars"] = chars

    # The famous collections on their own (documents in the same format).
    famous_tang = dedupe(groups["famous"])
    famous_all = dedupe(famous_tang + groups["songci300"] + groups["shijing"] + groups["chuci"] +
                        groups["prose"])
    for path, records, name in ((outs[4], famous_tang, "famous_tang"), (outs[5], famous_all, "famous")):
        write_documents(path, records)
        stats["%s_documents" % name] = len(records)
        stats["%s_han_chars" % name] = sum(1 for r in records for c in document(r) if is_han(c))

    # Successor / predecessor sets over the whole corpus decide which questions have a unique answer.
    nexts, prevs = collections.defaultdict(set), collections.defaultdict(set)
    for r in corpus:
        ls = r["lines"]
        for a, b in zip(ls, ls[1:]):
            nexts[a].add(b)
            prevs[b].add(a)
    stats["lines_ambiguous_next"] = sum(1 for s in nexts.values() if len(s) > 1)
    stats["lines_ambiguous_prev"] = sum(1 for s in prevs.values() if len(s) > 1)
    title_authors = collections.defaultdict(set)
    for r in corpus:
        title_authors[r["title"]].add(r["author"])

    def questions(r):
        ls = r["lines"]
        meta = {"author": r["author"], "title": r["title"]}
        for a, b in zip(ls, ls[1:]):
            if not (question_ok(a) and question_ok(b)):
                continue
            if len(nexts[a]) == 1:
                yield dict(prompt=NEXT_Q.format(line=a), response=b, kind="next", **meta)
            if len(prevs[b]) == 1:
                yield dict(prompt=PREV_Q.format(line=b), response=a, kind="prev", **meta)
        if r["author"] and r["title"] and len(title_authors[r["title"]]) == 1:
            yield dict(prompt=AUTHOR_Q.format(title=r["title"]), response=r["author"], kind="author", **meta)

    # SFT questions come from Tang poems only (the default model's domain), never from famous poems.
    train, heldout = [], []
    famous_poems = 0
    for r in dedupe(groups["tang"]):
        if any(l in famous_lines for l in r["lines"]):
            famous_poems += 1
            continue
        target = train if split_bucket(r["author"], r["title"]) < TRAIN_BUCKETS else heldout
        target.extend(questions(r))
    stats["tang_poems_excluded_famous"] = famous_poems
    # A line pair can occur in two poems (variants, quotations) that fall on different sides of the
    # split: such questions stay in SFT and leave the held-out set, which must be unseen.
    train_prompts = set(q["prompt"] for q in train)
    stats["heldout_dropped_seen_in_train"] = sum(1 for q in heldout if q["prompt"] in train_prompts)
    heldout = [q for q in heldout if q["prompt"] not in train_prompts]
    stats["sft_train_questions"] = len(train)
    stats["eval_heldout_questions"] = len(heldout)
    write_jsonl(outs[1], train)
    write_jsonl(outs[2], heldout)

    # Reversal test: adjacent lines of every famous collection (the famous Tang poems, 宋词三百首, 诗经,
    # 楚辞, 论语, 孟子), in both directions, unique answers only. A line must be pre-training text: the
    # general corpus or the famous collections themselves (famous.txt, which the reversal
    # experiment's pre-training mix repeats). Uniqueness is judged over both.
    seen_lines = corpus_lines | set(l for r in famous_all for l in r["lines"])
    corpus_keys = set("".join(r["lines"]) for r in corpus)
    for r in famous_all:
        if "".join(r["lines"]) in corpus_keys:
            continue  # its line pairs are counted already
        ls = r["lines"]
        for a, b in zip(ls, ls[1:]):
            nexts[a].add(b)
            prevs[b].add(a)
    sft_lines = set()
    for q in train:
        m = re.match(r"^(.*)的[上下]一句是什么？", q["prompt"])
        if m:
            sft_lines.update((m.group(1), q["response"]))
    rev, seen = [], set()
    for r in famous_all:
        ls = r["lines"]
        for a, b in zip(ls, ls[1:]):
            if (a, b) in seen or not (question_ok(a) and question_ok(b)):
                continue
            if a not in seen_lines or b not in seen_lines:
                continue
            if len(nexts[a]) != 1 or len(prevs[b]) != 1:
                continue
            if a in sft_lines or b in sft_lines:
                continue  # a short (3-character) famous line that an SFT question also uses
            seen.add((a, b))
            meta = {"author": r["author"], "title": r["title"], "source": r["source"]}
            rev.append(dict(prompt=NEXT_Q.format(line=a), response=b, direction="forward", **meta))
            rev.append(dict(prompt=PREV_Q.format(line=b), response=a, direction="backward", **meta))
    stats["reversal_pairs"] = len(seen)
    for src, n in sorted(collections.Counter(q["source"] for q in rev if q["direction"] == "forward").items()):
        stats["reversal_pairs_%s" % src] = n
    write_jsonl(outs[3], rev)

    # Sanity numbers comparable with spec/data.md (Tang quatrains: 4 lines, all 5 or all 7 characters).
    quatrains = collections.Counter()
    for r in dedupe(groups["tang"]):
        ls = r["lines"]
        if len(ls) == 4 and len(set(map(len, ls))) == 1 and len(ls[0]) in (5, 7):
            quatrains[len(ls[0])] += 1
    stats["tang_quatrains_5"] = quatrains[5]
    stats["tang_quatrains_7"] = quatrains[7]
    for k, v in stats.items():
        log("%-32s %d" % (k, v))
    for p in outs:
        log("wrote %s (%.1f MB)" % (os.path.relpath(p, DATA), os.path.getsize(p) / 1e6))


if __name__ == "__main__":
    main()
