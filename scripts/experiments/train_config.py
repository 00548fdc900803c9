#!/usr/bin/python3
"""The experiments' training recipe, declared once: prints an `llada train` config (JSON) for one
run. The scripts under scripts/experiments/ and bench/ differ only in what is given here as flags
(data, model, steps, learning rate and its schedule, intervals); the optimizer (AdamW 0.9 / 0.95,
eps 1e-8, weight decay 0.1, clipping 1.0), the masking (eps 1e-3, 1% random lengths, t uniform),
random windows and f32 checkpoints are the same everywhere.

usage: train_config.py --objective diffusion|ar|sft --init DIR --out DIR --steps N --lr LR
                       --train FILE [--train FILE ...] [--heldout FILE ...]
                       [--schedule constant|cosine|wsd] [--warmup N | --warmup-frac F --warmup-max M]
                       [--decay-frac F] [--min-lr LR] [--seq-len 128] [--batch 32] [--precision f32]
                       [--seed 1] [--threads 2] [--checkpoint-every N] [--keep N] [--save-dtype f32]
                       [--eval-every N] [--eval-batches 8] [--log-every N]
                       [--sft-mix FILE --sft-mix-every K [--sft-mix-batch B]]
--sft-mix FILE --sft-mix-every K: every K-th step of a pre-training run is an SFT batch of B samples
(default: --batch) from FILE (docs/training.md, "sft_mix").
--warmup-frac F --warmup-max M: warm-up steps = steps * F, at least 1 and at most M.
--decay-frac F (wsd): the constant rate holds for the first F of the steps, then decays linearly.
--eval-every / --log-every default to a tenth / a fiftieth of the steps.
"""
import argparse
import json
import sys


def positive_int(s):
    v = int(s)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {s}")
    return v


def build(a):
    warmup = a.warmup
    if warmup is None:
        warmup = max(1, min(a.warmup_max, int(a.steps * a.warmup_frac)))
    schedule = {"kind": a.schedule, "lr": a.lr, "warmup_steps": warmup}
    if a.schedule == "wsd":
        # the stable phase runs at lr (drop_lr = lr: no step down), then decays over the rest
        schedule.update(drop_frac=a.decay_frac, decay_frac=a.decay_frac, drop_lr=a.lr)
    if a.min_lr is not None:
        schedule["min_lr"] = a.min_lr
    data = {"train": a.train if len(a.train) > 1 or a.objective != "sft" else a.train[0]}
    if a.objective == "sft":
        data["heldout"] = a.heldout[0] if a.heldout else []
    else:
        data["heldout"] = a.heldout or []
        data["window"] = "random"
    every = lambda n, d: n if n is not None else max(1, a.steps // d)
    cfg = {"model": {"init_from": a.init}, "objective": a.objective, "data": data,
           "seq_len": a.seq_len, "batch_size": a.batch, "grad_accum": 1, "steps": a.steps,
           "precision": a.precision}
    if a.objective == "sft":
        cfg["sft"] = {"pad": "batch"}
    else:
        cfg["diffusion"] = {"eps": 1e-3, "random_length_prob": 0.01, "stratified_t": False}
    cfg.update({"optim": {"betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0},
                "schedule": schedule, "seed": a.seed, "threads": a.threads, "out": a.out,
                "checkpoint_every": every(a.checkpoint_every, 10), "keep_checkpoints": a.keep,
                "save_dtype": a.save_dtype, "eval_every": every(a.eval_every, 10),
                "eval_batches": a.eval_batches, "log_every": every(a.log_every, 50)})
    if a.sft_mix:
        cfg["sft_mix"] = {"train": a.sft_mix, "every": a.sft_mix_every, "batch_size": a.sft_mix_batch or a.batch}
    return cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objective", required=True, choices=["diffusion", "ar", "sft"])
    ap.add_argument("--init", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", required=True, type=positive_int)
    ap.add_argument("--lr", required=True, type=float)
    ap.add_argument("--train", action="append", required=True)
    ap.add_argument("--heldout", action="append")
    ap.add_argument("--schedule", default="constant", choices=["constant", "cosine", "wsd"])
    ap.add_argument("--warmup", type=positive_int)
    ap.add_argument("--warmup-frac", type=float, default=0.125)
    ap.add_argument("--warmup-max", type=positive_int, default=100)
    ap.add_argument("--decay-frac", type=float, default=0.9)
    ap.add_argument("--min-lr", type=float)
    ap.add_argument("--seq-len", type=positive_int, default=128)
    ap.add_argument("--batch", type=positive_int, default=32)
    ap.add_argument("--precision", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--seed", type=positive_int, default=1)
    ap.add_argument("--threads", type=positive_int, default=2)
    ap.add_argument("--checkpoint-every", type=positive_int)
    ap.add_argument("--keep", type=positive_int, default=1)
    ap.add_argument("--save-dtype", default="f32", choices=["f32", "bf16"])
    ap.add_argument("--eval-every", type=positive_int)
    ap.add_argument("--eval-batches", type=positive_int, default=8)
    ap.add_argument("--log-every", type=positive_int)
    ap.add_argument("--sft-mix")
    ap.add_argument("--sft-mix-every", type=positive_int, default=0)
    ap.add_argument("--sft-mix-batch", type=positive_int, default=0)
    a = ap.parse_args()
    if bool(a.sft_mix) != (a.sft_mix_every > 0):
        ap.error("--sft-mix FILE and --sft-mix-every K (> 0) go together")
    if a.sft_mix and a.objective == "sft":
        ap.error("--sft-mix mixes SFT samples into pre-training; not with --objective sft")
    if not 0 < a.decay_frac <= 1:
        ap.error("--decay-frac must be in (0, 1]")
    json.dump(build(a), sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
