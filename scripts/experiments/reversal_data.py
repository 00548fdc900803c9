#!/usr/bin/python3
"""Pre-training text of the reversal experiment (docs/experiments.md): every famous collection
(famous.txt: tang300, 千家诗, 宋词三百首, 诗经, 楚辞, 论语, 孟子) repeated FAMOUS_COPIES times beside a
slice of the general poetry corpus, and a held-out text from the far end of the general corpus.

Documents are blank-line separated. The general training slice is the first documents of
poetry.txt (whose poems the SFT set asks about) up to --general-chars; the held-out text is the
last documents that do not occur in the training text (poetry.txt ends with famous Song ci), up
to --heldout-chars, so the two never share a document.

With --famous-docs N only the first N famous documents are used (a set small enough for a
small model to memorise in a session), and --test/--out-test keep the test pairs (adjacent
forward/backward lines) whose poem (title and author) is one of them.

usage: reversal_data.py --famous F --poetry P --out-train T --out-heldout H
                        [--famous-copies 3] [--general-chars 180000] [--heldout-chars 30000]
                        [--famous-docs N --test TEST --out-test OUT]
"""
import argparse
import json
import os


def docs_of(path):
    with open(path, encoding="utf-8") as f:
        return [d.strip() for d in f.read().split("\n\n") if d.strip()]


def take(docs, chars):
    out, n = [], 0
    for d in docs:
        if n >= chars:
            break
        out.append(d)
        n += len(d)
    return out


def write_atomic(path, docs):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n\n".join(docs) + "\n")
    os.replace(tmp, path)


def write_test_subset(test, out, famous):
    kept = set()
    for d in famous:
        lines = d.split("\n")
        if len(lines) >= 2:
            kept.add((lines[0].strip(), lines[1].strip()))
    with open(test, encoding="utf-8") as f:
        rows = [l for l in f if l.strip()]
    if len(rows) % 2:
        raise SystemExit(f"reversal_data: {test}: {len(rows)} lines, expected forward/backward pairs")
    out_rows = []
    for i in range(0, len(rows), 2):
        fwd, bwd = json.loads(rows[i]), json.loads(rows[i + 1])
        if (fwd["direction"], bwd["direction"]) != ("forward", "backward"):
            raise SystemExit(f"reversal_data: {test}:{i + 1}: expected a forward line then a backward line")
        if (fwd["title"], fwd["author"]) in kept:
            out_rows += [rows[i], rows[i + 1]]
    if not out_rows:
        raise SystemExit(f"reversal_data: no pair of {test} comes from the kept famous documents")
    write_atomic_text(out, "".join(out_rows))
    print(f"reversal_data: {len(out_rows) // 2} test pairs from the kept documents -> {out}")


def write_atomic_text(path, text):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--famous", required=True)
    ap.add_argument("--poetry", required=True)
    ap.add_argument("--out-train", required=True)
    ap.add_argument("--out-heldout", required=True)
    ap.add_argument("--famous-copies", type=int, default=3)
    ap.add_argument("--general-chars", type=int, default=180000)
    ap.add_argument("--heldout-chars", type=int, default=30000)
    ap.add_argument("--famous-docs", type=int, default=0, help="first N famous documents (0: all)")
    ap.add_argument("--test", help="the famous-pair test file to restrict to the kept documents")
    ap.add_argument("--out-test", help="where the restricted test pairs go")
    a = ap.parse_args()
    if a.famous_copies < 1:
        ap.error("--famous-copies must be >= 1")
    if a.famous_docs < 0:
        ap.error("--famous-docs must be >= 0")
    if bool(a.test) != bool(a.out_test):
        ap.error("--test and --out-test go together")
    famous = docs_of(a.famous)
    if a.famous_docs:
        famous = famous[:a.famous_docs]
    if a.test:
        write_test_subset(a.test, a.out_test, famous)
    poetry = docs_of(a.poetry)
    general = take(poetry, a.general_chars)
    train = famous * a.famous_copies + general
    seen = set(train)
    heldout = take((d for d in reversed(poetry) if d not in seen), a.heldout_chars)
    write_atomic(a.out_train, train)
    write_atomic(a.out_heldout, heldout)
    fc = sum(map(len, famous))
    gc = sum(map(len, general))
    print(f"reversal_data: famous {len(famous)} docs ({fc} chars) x {a.famous_copies}, general "
          f"{len(general)} docs ({gc} chars): famous share {fc * a.famous_copies / (fc * a.famous_copies + gc):.2f}; "
          f"held-out {len(heldout)} docs")


if __name__ == "__main__":
    main()
