#!/usr/bin/python3
"""An independent PyTorch implementation of spec section 4's likelihood estimator (and the exact
autoregressive log-likelihood), the judge of `llada likelihood` in tests/e2e/likelihood_vs_torch.sh.

  likelihood_ref.py --model DIR --prompt-ids 1,2,3 --answer-ids 4,5 [--mc-num N] [--batch B]
                    [--cfg-scale S] [--seed S] [--causal]

prints one JSON object {"log_likelihood", "std_error"}: minus the mean over mini-batches of
sum(CE / (m_r / A)) / batch, with the standard error of that mean (its own random numbers, from
torch's generator: only the distribution is shared with the engine, never the draws).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_torch as lt  # noqa: E402


def ids(s):
    return [int(x) for x in s.split(",")]


def mc_estimate(model, prompt, answer, mc_num, batch, cfg_scale, mask_id, gen):
    P, A = len(prompt), len(answer)
    seq = torch.tensor(prompt + answer, dtype=torch.long)
    if A == 1:  # every row masks the one answer token: one sample is exact
        mc_num = batch = 1
    losses = []
    for _ in range(mc_num // batch):
        k = int(torch.randint(1, A + 1, (1,), generator=gen))
        x = torch.round(torch.linspace(float(k), k + (batch - 1) * (A / batch), batch)).long()
        m = ((x - 1) % A) + 1
        noisy = seq.repeat(batch, 1)
        is_masked = torch.zeros(batch, P + A, dtype=torch.bool)
        for r in range(batch):
            pos = torch.randperm(A, generator=gen)[: int(m[r])]
            is_masked[r, P + pos] = True
        noisy[is_masked] = mask_id
        with torch.no_grad():
            logits = model.forward(noisy.numpy()).double()
            if cfg_scale > 0:
                un = noisy.clone()
                un[:, :P] = mask_id
                un_logits = model.forward(un.numpy()).double()
                logits = un_logits + (cfg_scale + 1) * (logits - un_logits)
        ce = torch.nn.functional.cross_entropy(logits[is_masked], seq.repeat(batch, 1)[is_masked],
                                               reduction="none")
        weight = (A / m.double()).repeat_interleave(is_masked.sum(1))
        losses.append(float((ce * weight).sum()) / batch)
    t = torch.tensor(losses, dtype=torch.float64)
    se = float(t.std() / len(losses) ** 0.5) if len(losses) > 1 else 0.0
    return -float(t.mean()), se


def exact_causal(model, prompt, answer):
    seq = torch.tensor(prompt + answer, dtype=torch.long)
    with torch.no_grad():
        logp = torch.log_softmax(model.forward(seq[None].numpy(), causal=True)[0].double(), -1)
    P = len(prompt)
    return float(sum(logp[P - 1 + t, answer[t]] for t in range(len(answer))))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-ids", type=ids, required=True)
    ap.add_argument("--answer-ids", type=ids, required=True)
    ap.add_argument("--mc-num", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--cfg-scale", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--causal", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    model = lt.LLaDA.load(a.model, f64=True)
    if a.causal:
        print(json.dumps({"log_likelihood": exact_causal(model, a.prompt_ids, a.answer_ids), "std_error": 0.0}))
        return
    with open(os.path.join(a.model, "config.json")) as f:
        mask_id = int(json.load(f)["mask_token_id"])
    gen = torch.Generator().manual_seed(a.seed)
    ll, se = mc_estimate(model, a.prompt_ids, a.answer_ids, a.mc_num, a.batch, a.cfg_scale, mask_id, gen)
    print(json.dumps({"log_likelihood": ll, "std_error": se}))


if __name__ == "__main__":
    main()
