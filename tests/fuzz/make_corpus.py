#!/usr/bin/env python3
"""Writes the seed corpus for fuzz_safetensors: small valid safetensors files of every dtype and
layout the parser accepts, plus a few near-misses. Run from anywhere: python3 make_corpus.py"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
SIZES = {"F32": 4, "BF16": 2, "F16": 2, "I32": 4, "I64": 8, "U8": 1}


def build(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape); data bytes are a counter pattern."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape in tensors:
        n = SIZES[dtype]
        for d in shape:
            n *= d
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + n]}
        data += bytes((len(data) + i) % 251 for i in range(n))
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + data


def main():
    os.makedirs(OUT, exist_ok=True)
    seeds = {
        "empty_object": build([]),
        "metadata_only": build([], {"format": "pt"}),
        "one_f32": build([("w", "F32", [2, 3])], {"format": "pt"}),
        "all_dtypes": build([(f"t.{d.lower()}", d, [3]) for d in SIZES]),
        "model_like": build([
            ("model.transformer.wte.weight", "BF16", [8, 4]),
            ("model.transformer.blocks.0.attn_norm.weight", "BF16", [4]),
            ("model.transformer.blocks.0.q_proj.weight", "BF16", [4, 4]),
            ("model.transformer.ln_f.weight", "F32", [4]),
        ], {"format": "pt"}),
        "zero_sized": build([("a", "F32", [0, 5]), ("b", "F16", [2]), ("c", "U8", [])]),
        "scalar": build([("s", "F32", [])]),
        "unpadded": build([("x", "I64", [1, 1, 2])], pad=False),
        "high_rank": build([("r", "U8", [1, 2, 1, 2, 1, 2, 1, 2])]),
    }
    bad = bytearray(seeds["one_f32"])
    bad[-1:] = b""  # truncated by one byte
    seeds["truncated"] = bytes(bad)
    for name, blob in seeds.items():
        with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
            f.write(blob)
    print(f"wrote {len(seeds)} seeds to {OUT}")


if __name__ == "__main__":
    main()
