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

With --qa-docs Q ("mixed training", Allen-Zhu and Li 2023, Physics of Language Models 3.1: a
model pre-trained on text and then fine-tuned on questions about half of it rarely answers about
the other half, one pre-trained on the text mixed with those questions does), the last Q kept
documents are question poems: their pairs (both directions, the test's own prompt/response rows)
go to --out-qa (the SFT set) and, in the chat format and --qa-copies times, into the training
text; the test keeps only the pairs of the other documents, which no question ever asked about.
The training text is then written as JSON lines ({"text": ...}), because a chat-format document
holds blank lines.

With --couplet-answers every question is answered with the whole couplet in the poem's layout
(couplet_answers.py: `A的下一句是什么？` and `B的上一句是什么？` both -> `A，B`), and --extra-qa FILE adds
the questions of FILE (general, non-famous poems, already in that form) once each to the training
text: a copy-and-complete skill learned on thousands of poems instead of Q famous ones.

With --pair-docs C every adjacent line pair of the kept famous documents (the pairs of the test and
of the question poems alike) is also a document of its own, `A，B。` with the poem's punctuation,
C times, in a seeded random order so that a training window seldom holds one poem's pairs in
sequence (which would rebuild the poem around them). Why
(docs/experiments.md 2i): the line probe finds the model completing a pair inside its poem far more
often than the same pair alone, and a question gives the line alone. This is the poems' own text in
a second layout (a quoted couplet, as web text has), in the poem's order only, so it teaches no
backward question and is the same data for both families. --pair-source chooses the pairs: `test`
(the default) takes the test file's rows of the kept documents (unambiguous pairs only, as in 2i);
`text` takes every adjacent pair of lines in the kept documents' own text (after the title and
author lines), so a poem whose pairs the test leaves out as ambiguous, such as 静夜思 (two versions,
疑是地上霜 after two different first lines), is there too; each distinct pair once before the copies.

usage: reversal_data.py --famous F --poetry P --out-train T --out-heldout H
                        [--famous-copies 3] [--general-chars 180000] [--heldout-chars 30000]
                        [--famous-docs N --test TEST --out-test OUT]
                        [--qa-docs Q --qa-copies C --out-qa QA.jsonl]
                        [--couplet-answers] [--extra-qa GENERAL_QA.jsonl] [--pair-docs C]
                        [--pair-source test|text]
"""
import argparse
import json
import os
import random
import re

from couplet_answers import couplet_rows, line_pair, separators
from exp_io import write_text_atomic


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


def write_documents(path, docs):
    if path.endswith(".jsonl"):
        write_text_atomic(path, "".join(json.dumps({"text": d}, ensure_ascii=False) + "\n" for d in docs))
    else:
        if any("\n\n" in d for d in docs):
            raise SystemExit(f"reversal_data: {path}: a document holds a blank line; write .jsonl")
        write_text_atomic(path, "\n\n".join(docs) + "\n")


def chat_document(prompt, response):
    """The QA pair as `llada eval --chat` renders it, with the answer and its end-of-turn."""
    return ("<|startoftext|><|start_header_id|>user<|end_header_id|>\n\n" + prompt.strip() +
            "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n" + response.strip() + "<|eot_id|>")


def poem_keys(docs):
    keys = set()
    for d in docs:
        lines = d.split("\n")
        if len(lines) >= 2:
            keys.add((lines[0].strip(), lines[1].strip()))
    return keys


def split_test(test, tested, asked):
    """(test rows of the `tested` poems, QA rows of the `asked` poems), forward/backward adjacent."""
    with open(test, encoding="utf-8") as f:
        rows = [l for l in f if l.strip()]
    if len(rows) % 2:
        raise SystemExit(f"reversal_data: {test}: {len(rows)} lines, expected forward/backward pairs")
    out_rows, qa_rows = [], []
    for i in range(0, len(rows), 2):
        fwd, bwd = json.loads(rows[i]), json.loads(rows[i + 1])
        if (fwd["direction"], bwd["direction"]) != ("forward", "backward"):
            raise SystemExit(f"reversal_data: {test}:{i + 1}: expected a forward line then a backward line")
        key = (fwd["title"], fwd["author"])
        if key in tested:
            out_rows += [rows[i], rows[i + 1]]
        elif key in asked:
            qa_rows += [rows[i], rows[i + 1]]
    if not out_rows:
        raise SystemExit(f"reversal_data: no pair of {test} comes from the tested famous documents")
    return out_rows, qa_rows


def pair_documents(rows, text, where):
    """`A sep B end` for every forward row (one per adjacent pair), the line break dropped."""
    pairs = [line_pair(r, f"{where}:{n}") for n, r in enumerate(rows, 1) if r["direction"] == "forward"]
    seps = separators(text, set(pairs))
    missing = [p for p in pairs if p not in seps]
    if missing:
        raise SystemExit(f"reversal_data: {where}: {missing[0][0]} / {missing[0][1]} are not adjacent lines in the famous text")
    return [a + seps[(a, b)][0].replace("\n", "") + b + seps[(a, b)][1] for a, b in pairs]


def text_pair_documents(docs):
    """`A sep B end` for every adjacent pair of lines (runs of word characters, as `separators`
    reads them) in each document's text after its title and author lines, the line break dropped;
    a pair seen before (another copy or version) is kept once."""
    out, seen = [], set()
    for d in docs:
        body = "\n".join(d.split("\n")[2:])
        words = list(re.finditer(r"\w+", body))
        for p, m in zip(words, words[1:]):
            if (p.group(), m.group()) in seen:
                continue
            seen.add((p.group(), m.group()))
            end = body[m.end()] if m.end() < len(body) else "。"
            out.append(p.group() + body[p.end():m.start()].replace("\n", "") + m.group() + end)
    return out


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
    ap.add_argument("--qa-docs", type=int, default=0,
                    help="the last Q kept documents are asked about in training (mixed training)")
    ap.add_argument("--qa-copies", type=int, default=4, help="copies of each question in the training text")
    ap.add_argument("--out-qa", help="where the question poems' pairs go (the SFT set)")
    ap.add_argument("--couplet-answers", action="store_true",
                    help="answer every question with the whole couplet (couplet_answers.py)")
    ap.add_argument("--extra-qa", help="questions about general poems added once each (JSONL)")
    ap.add_argument("--pair-docs", type=int, default=0,
                    help="every adjacent line pair of the kept famous documents as its own document, C times")
    ap.add_argument("--pair-source", choices=("test", "text"), default="test",
                    help="the pair documents' pairs: the test file's rows, or every adjacent pair of the kept text")
    ap.add_argument("--seed", type=int, default=1, help="the order of the pair documents")
    a = ap.parse_args()
    if a.famous_copies < 1:
        ap.error("--famous-copies must be >= 1")
    if a.famous_docs < 0:
        ap.error("--famous-docs must be >= 0")
    if bool(a.test) != bool(a.out_test):
        ap.error("--test and --out-test go together")
    if a.qa_docs < 0 or a.qa_copies < 1:
        ap.error("--qa-docs must be >= 0 and --qa-copies >= 1")
    if a.qa_docs and not (a.test and a.out_qa and a.famous_docs):
        ap.error("--qa-docs needs --famous-docs, --test/--out-test and --out-qa")
    if a.pair_docs < 0:
        ap.error("--pair-docs must be >= 0")
    if a.pair_docs and not a.test:
        ap.error("--pair-docs needs --famous-docs and --test/--out-test (the pairs come from the test file)")
    if a.qa_docs >= a.famous_docs > 0:
        ap.error("--qa-docs must leave some of the --famous-docs documents for the test")
    famous = docs_of(a.famous)
    if a.famous_docs:
        famous = famous[:a.famous_docs]
    qa_docs, pair_docs = [], []
    if a.test:
        tested = famous[:len(famous) - a.qa_docs]
        rows, qa_rows = split_test(a.test, poem_keys(tested), poem_keys(famous[len(tested):]))
        if a.pair_docs:
            if a.pair_source == "text":
                kept = text_pair_documents(famous)
            else:
                with open(a.famous, encoding="utf-8") as f:
                    kept = pair_documents([json.loads(r) for r in rows + qa_rows], f.read(), a.test)
            pair_docs = kept * a.pair_docs
            random.Random(a.seed).shuffle(pair_docs)
            print(f"reversal_data: {len(kept)} line pairs x {a.pair_docs} as documents of their own")
        write_text_atomic(a.out_test, "".join(rows))
        print(f"reversal_data: {len(rows) // 2} test pairs from {len(tested)} documents -> {a.out_test}")
        if a.qa_docs:
            if a.couplet_answers:
                with open(a.famous, encoding="utf-8") as f:
                    rows_out, _ = couplet_rows([json.loads(r) for r in qa_rows], f.read(), a.test)
                qa_rows = [json.dumps(r, ensure_ascii=False) + "\n" for r in rows_out]
            write_text_atomic(a.out_qa, "".join(qa_rows))
            qa_docs = [chat_document(r["prompt"], r["response"]) for r in map(json.loads, qa_rows)]
            print(f"reversal_data: {len(qa_rows) // 2} question pairs from {a.qa_docs} documents "
                  f"-> {a.out_qa} and x{a.qa_copies} into the training text")
    poetry = docs_of(a.poetry)
    general = take(poetry, a.general_chars)
    extra = []
    if a.extra_qa:
        with open(a.extra_qa, encoding="utf-8") as f:
            extra = [chat_document(r["prompt"], r["response"]) for r in map(json.loads, f) if r]
        print(f"reversal_data: {len(extra)} general questions from {a.extra_qa} into the training text")
    train = famous * a.famous_copies + qa_docs * a.qa_copies + extra + pair_docs + general
    seen = set(train)
    heldout = take((d for d in reversed(poetry) if d not in seen), a.heldout_chars)
    write_documents(a.out_train, train)
    write_documents(a.out_heldout, heldout)
    fc = sum(map(len, famous))
    gc = sum(map(len, general))
    print(f"reversal_data: famous {len(famous)} docs ({fc} chars) x {a.famous_copies}, general "
          f"{len(general)} docs ({gc} chars): famous share {fc * a.famous_copies / (fc * a.famous_copies + gc):.2f}; "
          f"held-out {len(heldout)} docs")


if __name__ == "__main__":
    main()
