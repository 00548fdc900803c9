#!/usr/bin/python3
"""The training losses of spec sections 2 and 3, computed by the PyTorch reference model, for
tests/train/test_train_reference.cpp. The losses are written here from the spec's formulas; only
the model comes from llada_torch.py.

usage: train_loss.py diffusion MODEL_DIR DIR   reads DIR/clean.npy [B,L], DIR/noisy.npy [B,L],
                                               DIR/p.npy [B]; writes DIR/loss_torch.npy
       train_loss.py sft MODEL_DIR DIR         also DIR/prompt_len.npy [B]
       train_loss.py ar MODEL_DIR DIR          DIR/clean.npy only (causal, next-token mean)
The loss is computed in float64 (f64 model) so the C++ float32 value is compared with the truth.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import llada_torch as lt  # noqa: E402


def main():
    kind, model_dir, d = sys.argv[1:4]
    model = lt.LLaDA.load(model_dir, f64=True)
    clean = torch.as_tensor(np.load(f"{d}/clean.npy"), dtype=torch.long)
    B, L = clean.shape
    if kind == "ar":
        logits = model.forward(clean.numpy(), causal=True)
        ce = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]),
                                               clean[:, 1:].reshape(-1), reduction="mean")
        loss = ce
    else:
        noisy = np.load(f"{d}/noisy.npy")
        p = torch.as_tensor(np.load(f"{d}/p.npy"), dtype=torch.float64)
        with open(os.path.join(model_dir, "config.json")) as f:
            mask_id = json.load(f)["mask_token_id"]
        masked = torch.as_tensor(noisy == mask_id)
        logits = model.forward(noisy)
        ce = torch.nn.functional.cross_entropy(logits.reshape(B * L, -1), clean.reshape(-1),
                                               reduction="none").view(B, L)
        if kind == "diffusion":
            # sum over masked positions of CE / p, divided by B * L
            loss = (ce / p[:, None])[masked].sum() / (B * L)
        elif kind == "sft":
            prompt_len = torch.as_tensor(np.load(f"{d}/prompt_len.npy"), dtype=torch.long)
            pos = torch.arange(L)[None, :].expand(B, L)
            is_prompt = pos < prompt_len[:, None]
            assert not bool((masked & is_prompt).any()), "a prompt token is masked"
            answer_len = (L - prompt_len).to(torch.float64)[:, None].expand(B, L)
            loss = (ce / p[:, None] / answer_len)[masked].sum() / B
        else:
            raise SystemExit(f"unknown kind {kind}")
    np.save(f"{d}/loss_torch.npy", np.array([float(loss)], dtype=np.float64))


if __name__ == "__main__":
    main()
