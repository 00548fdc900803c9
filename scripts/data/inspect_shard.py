#!/usr/bin/python3
"""Prints the header of a token shard (.tok) or SFT sample file (.sft) and its first records, reading
the format of docs/data.md independently of the C++ code (a second implementation of the layout).

  inspect_shard.py FILE [--tokenizer DIR/tokenizer.json] [-n 3]

With --tokenizer, ids are shown as the vocabulary's token strings (readable for char-level tokenizers)."""
import argparse
import json
import os
import struct
import sys


def byte_level_decoder():
    """Inverse of the GPT-2 byte-to-unicode table that byte-level vocabularies are written in."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--tokenizer")
    ap.add_argument("-n", type=int, default=3)
    a = ap.parse_args()
    data = open(a.file, "rb").read()
    if len(data) < 64:
        raise SystemExit("%s: %d bytes, shorter than the 64-byte header" % (a.file, len(data)))
    magic = data[:8]
    version, width, n1, n2, vocab, eos = struct.unpack_from("<IIQQQi", data, 8)
    if magic not in (b"LLADATOK", b"LLADASFT"):
        raise SystemExit("%s: bad magic %r" % (a.file, magic))
    sft = magic == b"LLADASFT"
    n_records, n_tokens = (n1, n2) if sft else (n2, n1)
    tok_bytes = (n_tokens * width + 7) // 8 * 8
    index_bytes = n_records * 16 if sft else (n_records + 1) * 8
    expect = 64 + tok_bytes + index_bytes
    print("%s: %s v%d, %d-byte tokens, %d tokens, %d %s, vocabulary %d, EOS %d, %d bytes (expected %d)" % (
        a.file, magic.decode(), version, width, n_tokens, n_records, "samples" if sft else "documents", vocab,
        eos, len(data), expect))
    if len(data) != expect:
        raise SystemExit("size mismatch: truncated or corrupted")
    fmt = "<%d%s" % (n_tokens, "H" if width == 2 else "I")
    tokens = struct.unpack_from(fmt, data, 64)
    names = None
    if a.tokenizer:
        tj = json.load(open(a.tokenizer, encoding="utf-8"))
        dec = byte_level_decoder()
        names = {v: bytes(dec.get(ch, 63) for ch in k) for k, v in tj["model"]["vocab"].items()}
        for t in tj.get("added_tokens", []):
            names[t["id"]] = t["content"].encode("utf-8")
    show = (lambda ids: b"".join(names.get(i, b"<%d>" % i) for i in ids).decode("utf-8", "replace")
            ) if names else list
    base = 64 + tok_bytes
    for r in range(min(a.n, n_records)):
        if sft:
            off, length, prompt = struct.unpack_from("<QII", data, base + 16 * r)
            ids = tokens[off:off + length]
            print("sample %d: prompt %d tokens: %r | response %r" % (r, prompt, show(ids[:prompt]),
                                                                     show(ids[prompt:])))
        else:
            b, e = struct.unpack_from("<QQ", data, base + 8 * r)
            print("document %d: %d tokens: %r" % (r, e - b, show(tokens[b:e])))


if __name__ == "__main__":
    main()
