#!/usr/bin/python3
"""Line-completion probe: does a model know a memorised poem's adjacent line, in either direction,
when asked in the poem's own layout instead of a question?

The reversal test (reversal.sh eval) asks with the paper's question template, which measures two
things at once: whether the model knows the pair, and whether it can turn a question into a lookup.
This probe measures the first alone. For every test pair (A, B) of adjacent lines, the text between
them in the famous collection (a comma, or a full stop and a line break) is kept:
  - forward:  the diffusion model sees `A sep [MASK]*|B| end [MASK]*pad` and fills B's masks; the causal (AR)
              model sees `A sep` and continues greedily for |B| tokens;
  - backward: the diffusion model sees `[MASK]*pad [MASK]*|A| sep B end` and fills A's masks; a causal model
              cannot condition on text to its right, so it has no backward number here (the question
              template is its only way, measured by the reversal test).
Filling is low-confidence remasking at temperature 0, one token per step (steps = answer length).
Score: the filled line equals the expected one exactly.
The models run in the PyTorch reference (tests/reference/llada_torch.py), not in the engine that
trained them.

usage: line_probe.py --model DIR [--model DIR ...] --pairs test_pairs.jsonl --famous famous.txt
                     [--limit N] [--pad P] [--json OUT]
--pad P puts P masks on the open side: the rest of the poem is unknown rather than absent (training
never shows a couplet alone; at high masking rates it shows one surrounded by masks).
"""
import argparse
import json
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import llada_torch as lt  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts", "data"))
from inspect_shard import byte_level_decoder  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from couplet_answers import separators  # noqa: E402
from exp_io import write_text_atomic  # noqa: E402


def char_encoder(model_dir):
    """text -> ids for the shipped character tokenizer (one entry per character, bytes otherwise)."""
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    to_unicode = {b: c for c, b in byte_level_decoder().items()}

    def encode(text):
        ids = []
        for ch in text:
            key = "".join(to_unicode[b] for b in ch.encode("utf-8"))
            if key in vocab:
                ids.append(vocab[key])
            else:  # a rare character is its UTF-8 bytes, as `llada tokenize` writes it
                ids.extend(vocab[to_unicode[b]] for b in ch.encode("utf-8"))
        return ids
    return encode


def pairs_in_layout(pairs_file, famous_file):
    """Each forward test pair with the text that separates and ends it in the famous collection."""
    with open(famous_file, encoding="utf-8") as f:
        famous = f.read()
    with open(pairs_file, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    rows = [r for r in rows if r["direction"] == "forward"]
    pairs = [(r["prompt"].split("的下一句是什么")[0], r["response"]) for r in rows]
    layout = separators(famous, set(pairs))
    out = []
    for r, (a, b) in zip(rows, pairs):
        if (a, b) not in layout:
            raise SystemExit(f"line_probe: pair {a} / {b} is not adjacent anywhere in {famous_file}")
        sep, end = layout[(a, b)]
        out.append({"a": a, "b": b, "sep": sep, "end": end, "title": r.get("title", "")})
    return out


@torch.no_grad()
def fill(model, ids, mask_id, answer):
    """Low-confidence remasking at temperature 0 over the answer's positions, one committed per
    step (other masks stay masks)."""
    x = torch.tensor([ids])
    answer = torch.tensor(list(answer))
    while True:
        masked = answer[x[0, answer] == mask_id]
        if len(masked) == 0:
            return x[0].tolist()
        logits = model.forward(x, causal=False)[0]
        logits[:, mask_id] = float("-inf")
        probs = torch.softmax(logits.double(), -1)
        conf, pred = probs.max(-1)
        best = masked[torch.argmax(conf[masked])]
        x[0, best] = pred[best]


@torch.no_grad()
def continue_greedy(model, ids, n):
    x = list(ids)
    for _ in range(n):
        logits = model.forward(torch.tensor([x]), causal=True)[0, -1]
        x.append(int(torch.argmax(logits)))
    return x[len(ids):]


def probe(model_dir, items, pad):
    cfg, tensors, dtypes = lt.load_dir(model_dir)
    with open(os.path.join(model_dir, "config.json")) as f:
        mask_id = int(json.load(f)["mask_token_id"])
    model = lt.LLaDA(cfg, tensors, dtypes)
    encode = char_encoder(model_dir)
    rows = []
    for it in items:
        a, b, sep, end = encode(it["a"]), encode(it["b"]), encode(it["sep"]), encode(it["end"])
        if cfg.causal:
            fwd = continue_greedy(model, a + sep, len(b))
            bwd = None
        else:
            # `pad` masks stand for the rest of the poem on the open side (unknown, not absent);
            # they are context only: filling stops once the answer's positions are committed.
            fwd = fill(model, a + sep + [mask_id] * len(b) + end + [mask_id] * pad, mask_id,
                       range(len(a) + len(sep), len(a) + len(sep) + len(b)))[len(a) + len(sep):][:len(b)]
            bwd = fill(model, [mask_id] * pad + [mask_id] * len(a) + sep + b + end, mask_id,
                       range(pad, pad + len(a)))[pad:pad + len(a)]
        rows.append({"forward_ok": fwd == b, "backward_ok": None if bwd is None else bwd == a,
                     "forward_ids": fwd, "backward_ids": bwd})
    return cfg.causal, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--pairs", required=True, help="test pairs (JSONL, reversal.sh's test_pairs.jsonl)")
    ap.add_argument("--famous", required=True, help="the famous collection the pairs come from")
    ap.add_argument("--limit", type=int, default=0, help="only the first N forward pairs")
    ap.add_argument("--pad", type=int, default=0,
                    help="masks beyond the known line on the open side (the rest of the poem, unknown)")
    ap.add_argument("--json", help="write the summary here")
    a = ap.parse_args()
    torch.set_num_threads(2)
    items = pairs_in_layout(a.pairs, a.famous)
    if a.limit:
        items = items[:a.limit]
    summary = []
    for m in a.model:
        causal, rows = probe(m, items, a.pad)
        n = len(rows)
        f = sum(r["forward_ok"] for r in rows)
        b = None if causal else sum(r["backward_ok"] for r in rows)
        summary.append({"model": m, "causal": causal, "pairs": n, "forward": f, "backward": b, "pad": a.pad})
        back = "n/a (causal)" if b is None else f"{b}/{n} = {100 * b / max(1, n):.1f}%"
        print(f"{m}: forward {f}/{n} = {100 * f / max(1, n):.1f}%   backward {back}")
    if a.json:
        write_text_atomic(a.json, json.dumps(summary, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
