"""Shared helpers for the Chinese poetry scripts: loading the chinese-poetry npm package, Traditional ->
Simplified conversion through the opencc CLI, cleaning, line splitting and the hash split.

Standard library only (runs with Debian's /usr/bin/python3)."""
import glob
import hashlib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.environ.get("LLADA_DATA", os.path.join(ROOT, "data"))
CACHE = os.path.join(DATA, "cache")
PKG = os.path.join(CACHE, "chinese-poetry", "package", "dist")
FORTUNES = os.path.join(CACHE, "deb", "fortunes-zh", "usr", "share", "games", "fortunes")

# Punctuation that ends a line (verse) inside a paragraph (spec data.md: lines split on these).
LINE_END = "，。？！；：、"
# Punctuation kept inside documents; anything else that is not a Han character marks a damaged poem.
KEEP_PUNCT = set(LINE_END + "「」『』《》·…")
QUOTES = "「」『』《》“”‘’"
# Editorial notes such as （一作「東風細雨」） are not part of the poem.
NOTE_RE = re.compile(r"（[^（）]*）")


def log(*args):
    print("[%s]" % os.path.basename(sys.argv[0]), *args, flush=True)


def is_han(ch):
    o = ord(ch)
    return (0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x20000 <= o <= 0x2FA1F
            or 0xF900 <= o <= 0xFAFF)


def clean_paragraphs(paragraphs):
    """Returns the cleaned paragraphs, or None when the poem has lacunae (□, [...]), unreadable
    characters ({𥫗/戢}, ●, ideographic description sequences, private-use code points) or prose notes."""
    out = []
    for p in paragraphs:
        p = NOTE_RE.sub("", p.strip())
        if not p:
            continue
        for ch in p:
            if not (is_han(ch) or ch in KEEP_PUNCT):
                return None
        out.append(p)
    return out or None


def split_lines(paragraph):
    """Splits a paragraph into verse lines without punctuation; quotes are dropped."""
    for q in QUOTES:
        paragraph = paragraph.replace(q, "")
    parts = re.split("[" + LINE_END + "…·]", paragraph)
    return [p for p in parts if p]


def poem_lines(paragraphs):
    lines = []
    for p in paragraphs:
        lines.extend(split_lines(p))
    return lines


def split_bucket(author, title, modulus=100):
    """Stable hash split of a poem by author + title (0..modulus-1): < 90 is the training split."""
    h = hashlib.sha1((author + "\x00" + title).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "little") % modulus


def opencc_t2s(strings):
    """Converts a list of strings Traditional -> Simplified with one opencc call (one string a line)."""
    payload = "\n".join(s.replace("\n", " ").replace("\r", " ") for s in strings) + "\n"
    res = subprocess.run(["opencc", "-c", "t2s.json"], input=payload.encode("utf-8"),
                         stdout=subprocess.PIPE, check=True)
    out = res.stdout.decode("utf-8").split("\n")
    if out and out[-1] == "":
        out.pop()
    if len(out) != len(strings):
        raise SystemExit("opencc returned %d lines for %d inputs" % (len(out), len(strings)))
    return out


def convert_records(records):
    """records: list of dicts with author, title, paragraphs (lists of str). Converted in place."""
    flat = []
    for r in records:
        flat.append(r["author"])
        flat.append(r["title"])
        flat.extend(r["paragraphs"])
    conv = opencc_t2s(flat)
    i = 0
    for r in records:
        r["author"] = conv[i]
        r["title"] = conv[i + 1]
        n = len(r["paragraphs"])
        r["paragraphs"] = conv[i + 2:i + 2 + n]
        i += 2 + n
    return records


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def require(path):
    if not os.path.exists(path):
        raise SystemExit("missing %s: run scripts/data/fetch_raw.sh first" % path)
    return path
