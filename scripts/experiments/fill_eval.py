#!/usr/bin/python3
"""Memorisation probe: can a model recall one character of a document it was trained on?

For each of N training documents (a fixed seeded choice), one Han character is hidden:
  - a diffusion model sees the whole document with that one position masked (both sides visible)
    and must put the true character first;
  - a causal (AR) model sees the document up to that position and must predict it next.
Both read the same documents and positions, so the two families' numbers compare. With
--mask-rate R the diffusion model also has a fraction R of the other positions masked (recall from
partial context, the situation at larger t in training).

usage: fill_eval.py --model DIR [--model DIR ...] --shard train.tok [--docs 200] [--seed 1]
                    [--mask-rate 0] [--json]
Prints one line per model: accuracy (correct / N) and the mean rank-1 probability. The model runs in
the PyTorch reference (tests/reference/llada_torch.py), independent of the engine that trained it.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "reference"))
import llada_torch as lt  # noqa: E402
from train_torch import read_token_shard  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts", "data"))
from inspect_shard import byte_level_decoder  # noqa: E402


def han_ids(model_dir):
    """Token ids whose text is one Han character (vocabulary entries are byte-level strings)."""
    with open(os.path.join(model_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    dec = byte_level_decoder()
    out = set()
    for tok, i in vocab.items():
        try:
            text = bytes(dec[c] for c in tok).decode("utf-8")
        except (KeyError, UnicodeDecodeError):
            continue
        if len(text) == 1 and (0x4E00 <= ord(text) <= 0x9FFF or 0x3400 <= ord(text) <= 0x4DBF):
            out.add(i)
    return out


def probe(model_dir, tokens, offsets, docs, seed, mask_rate, max_len):
    cfg, tensors, dtypes = lt.load_dir(model_dir)
    with open(os.path.join(model_dir, "config.json")) as f:
        cj = json.load(f)
    model = lt.LLaDA(cfg, tensors, dtypes)
    han = han_ids(model_dir)
    rng = np.random.default_rng(seed)
    correct, prob_sum, n = 0, 0.0, 0
    with torch.no_grad():
        for d in docs:
            ids = tokens[offsets[d]:offsets[d + 1]][:max_len].copy()
            cand = [i for i in range(1, len(ids)) if int(ids[i]) in han]
            if not cand:
                continue
            pos = int(rng.choice(cand))
            other = rng.random(len(ids)) < mask_rate  # drawn for every model alike (same seed)
            target = int(ids[pos])
            if cfg.causal:
                logits = model.forward(ids[None, :pos], causal=True)[0, -1]
            else:
                x = ids.copy()
                x[other] = cj["mask_token_id"]
                x[pos] = cj["mask_token_id"]
                logits = model.forward(x[None, :], causal=False)[0, pos]
            probs = torch.softmax(logits.double(), -1)
            correct += int(int(torch.argmax(probs)) == target)
            prob_sum += float(probs[target])
            n += 1
    return correct, n, prob_sum / max(1, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--shard", required=True, help="the training shard (.tok) the documents come from")
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mask-rate", type=float, default=0.0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(2)
    tokens, offsets = read_token_shard(a.shard)
    n_docs = len(offsets) - 1
    docs = np.random.default_rng(a.seed).choice(n_docs, size=min(a.docs, n_docs), replace=False)
    for m in a.model:
        with open(os.path.join(m, "config.json")) as f:
            max_len = int(json.load(f).get("max_sequence_length", 4096))
        c, n, p = probe(m, tokens, offsets, docs, a.seed, a.mask_rate, max_len)
        if a.json:
            print(json.dumps({"model": m, "correct": c, "n": n, "accuracy": c / max(1, n), "mean_p": p}))
        else:
            print(f"{m}: {c}/{n} = {100 * c / max(1, n):.1f}%  mean p(target) {p:.3f}")


if __name__ == "__main__":
    main()
