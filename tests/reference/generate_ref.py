#!/usr/bin/env python3
"""Reference of LLaDA generation (spec section 4) in PyTorch, on the reference model llada_torch.py.

A line-by-line restatement of the authors' generate(): the whole canvas is recomputed at every
step, every logit of every position is formed, and confidences outside the current block or on
committed positions are -inf. It exists to check the C++ sampler token for token at temperature 0.

Deliberate choices, shared with the C++ sampler (docs/sampling.md):
  * the mask id may be predicted, as in the authors' code (the position then stays masked);
  * confidences are computed in float64 and exact ties go to the lowest position (stable sort);
  * logits are cut to the tokenizer's vocab_size when the embedding table is padded beyond it.

Usage: generate_ref.py CASES.json OUT.json
CASES.json: [{"model": DIR, "prompts": [[ids]...], "gen_length", "steps", "block_length",
              "cfg_scale", "logits_eos_inf", "confidence_eos_eot_inf", "remasking", "temperature",
              "eot_id" (optional), "seed" (optional)}, ...]
OUT.json:   [[[generated ids] per prompt] per case]
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_torch  # noqa: E402


def add_gumbel_noise(logits, temperature):
    """exp(logits64) / (-log u64)^temperature, the reference's float64 Gumbel-max."""
    if temperature == 0:
        return logits
    logits = logits.to(torch.float64)
    noise = torch.rand_like(logits, dtype=torch.float64)
    return logits.exp() / (-torch.log(noise)) ** temperature


def get_num_transfer_tokens(block_mask_index, steps):
    n = block_mask_index.sum(dim=1, keepdim=True)
    base, rem = n // steps, n % steps
    out = base.expand(-1, steps).clone()
    for i in range(out.shape[0]):
        out[i, : int(rem[i])] += 1
    return out


@torch.no_grad()
def generate(model, prompts, gen_length, steps, block_length, mask_id, eos_id, eot_id=-1, pad_id=-1,
             vocab=None, temperature=0.0, cfg_scale=0.0, remasking="low_confidence",
             logits_eos_inf=False, confidence_eos_eot_inf=False):
    B = len(prompts)
    P = max(len(p) for p in prompts)
    pad = pad_id if pad_id >= 0 else eos_id
    x = torch.full((B, P + gen_length), mask_id, dtype=torch.long)
    attention_mask = torch.ones((B, P + gen_length), dtype=torch.bool)
    for b, p in enumerate(prompts):
        off = P - len(p)
        x[b, :off] = pad
        attention_mask[b, :off] = False
        x[b, off:P] = torch.tensor(p, dtype=torch.long)
    prompt_index = x != mask_id

    assert gen_length % block_length == 0
    num_blocks = gen_length // block_length
    assert steps % num_blocks == 0
    steps_per_block = steps // num_blocks
    neg_inf = float("-inf")

    for k in range(num_blocks):
        bs, be = P + k * block_length, P + (k + 1) * block_length
        num_transfer = get_num_transfer_tokens(x[:, bs:be] == mask_id, steps_per_block)
        for i in range(steps_per_block):
            mask_index = x == mask_id
            if cfg_scale > 0:
                un_x = x.clone()
                un_x[prompt_index] = mask_id
                both = model.forward(torch.cat([x, un_x]), torch.cat([attention_mask, attention_mask]))
                logits, un_logits = torch.chunk(both, 2, dim=0)
                logits = un_logits + (cfg_scale + 1) * (logits - un_logits)
            else:
                logits = model.forward(x, attention_mask)
            logits = logits.float()
            if vocab is not None:
                logits = logits[..., :vocab].clone()
            if logits_eos_inf:
                logits[:, :, eos_id] = neg_inf
            logits_with_noise = add_gumbel_noise(logits, temperature)
            x0 = torch.argmax(logits_with_noise, dim=-1)
            if confidence_eos_eot_inf:
                # The reference's aliasing: at temperature 0 both names are the same tensor.
                if eot_id >= 0:
                    logits[:, :, eot_id] = neg_inf
                if logits_with_noise is logits:
                    logits[:, :, eos_id] = neg_inf
            p = torch.softmax(logits.to(torch.float64), dim=-1)
            if remasking == "low_confidence":
                x0_p = torch.gather(p, -1, x0.unsqueeze(-1)).squeeze(-1)
            elif remasking == "random":
                x0_p = torch.rand(x0.shape, dtype=torch.float64)
            elif remasking == "margin":
                top2 = torch.topk(p, 2, dim=-1).values
                x0_p = top2[..., 0] - top2[..., 1]
            elif remasking == "entropy":
                x0_p = torch.where(p > 0, p * torch.log(p), torch.zeros_like(p)).sum(-1)
            else:
                raise ValueError(remasking)
            x0_p[:, be:] = neg_inf
            x0 = torch.where(mask_index, x0, x)
            confidence = torch.where(mask_index, x0_p, torch.full_like(x0_p, neg_inf))
            for j in range(B):
                order = torch.sort(confidence[j], descending=True, stable=True).indices
                sel = order[: int(num_transfer[j, i])]
                x[j, sel] = x0[j, sel]
    return x[:, P:].tolist()


def main():
    cases = json.load(open(sys.argv[1]))
    models = {}
    out = []
    for c in cases:
        if c["model"] not in models:
            models[c["model"]] = llada_torch.LLaDA.load(c["model"])
        m = models[c["model"]]
        torch.manual_seed(c.get("seed", 0))
        with open(os.path.join(c["model"], "config.json")) as f:
            cfg = json.load(f)
        out.append(generate(
            m, c["prompts"], c["gen_length"], c["steps"], c["block_length"],
            mask_id=cfg["mask_token_id"], eos_id=cfg["eos_token_id"], eot_id=c.get("eot_id", cfg.get("eot_token_id", -1)),
            pad_id=cfg.get("pad_token_id", -1), vocab=cfg["vocab_size"], temperature=c.get("temperature", 0.0),
            cfg_scale=c.get("cfg_scale", 0.0), remasking=c.get("remasking", "low_confidence"),
            logits_eos_inf=c.get("logits_eos_inf", False),
            confidence_eos_eot_inf=c.get("confidence_eos_eot_inf", False)))
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
