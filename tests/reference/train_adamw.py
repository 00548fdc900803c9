#!/usr/bin/env python3
"""torch.optim.AdamW twin for tests/train/test_adamw.cpp.

usage: train_adamw.py DIR lr beta1 beta2 eps weight_decay
Reads DIR/p0.npy [n] and DIR/grads.npy [steps, n]; applies one AdamW step per gradient row
(single-tensor implementation, foreach=False) and writes DIR/p_torch.npy.
"""
import sys

import numpy as np
import torch


def main():
    d = sys.argv[1]
    lr, b1, b2, eps, wd = (float(x) for x in sys.argv[2:7])
    p = torch.nn.Parameter(torch.from_numpy(np.load(f"{d}/p0.npy").astype(np.float32)))
    grads = np.load(f"{d}/grads.npy").astype(np.float32)
    opt = torch.optim.AdamW([p], lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd, foreach=False)
    for g in grads:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
    np.save(f"{d}/p_torch.npy", p.detach().numpy())


if __name__ == "__main__":
    main()
