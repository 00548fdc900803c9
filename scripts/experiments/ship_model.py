#!/usr/bin/python3
"""Makes a trained experiment model one of the repository's default models (models/NAME).

Copies the model directory (config, bf16 weights, tokenizer), the metrics of its pre-training and
SFT runs, and writes README.md: what the model is (--about, a markdown paragraph), its size, and the
reversal test as `llada eval` scored it (--eval: the report of the paper's protocol on the famous
pairs, forward and backward), so the card's numbers come from the run, not from a person.

The weights must be BF16 and at most --max-mb (the issue's 64 MB budget per shipped model: every
committed version stays in the history). The destination is replaced whole: the new directory is
written beside it and renamed over it.

usage: ship_model.py --model RUN/sft/final --pretrain-metrics RUN/ext/metrics.jsonl
                     --sft-metrics RUN/sft/metrics.jsonl --eval eval.json --about "..." --out models/NAME
"""
import argparse
import json
import os
import shutil
import struct

from exp_io import write_text_atomic

FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def tensor_dtypes(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    return {v["dtype"] for k, v in header.items() if k != "__metadata__"}, header


def parameter_count(header):
    total = 0
    for k, v in header.items():
        if k == "__metadata__":
            continue
        n = 1
        for d in v["shape"]:
            n *= d
        total += n
    return total


def direction_scores(report_path):
    with open(report_path, encoding="utf-8") as f:
        report = json.load(f)
    if len(report["tasks"]) != 1:
        raise SystemExit(f"ship_model: {report_path}: expected one task (the famous-pair test)")
    task = report["tasks"][0]
    by_dir = task["groups"].get("direction")
    if not by_dir or set(by_dir) != {"forward", "backward"}:
        raise SystemExit(f"ship_model: {report_path}: no forward/backward groups")
    items = report["items"]
    return task, by_dir, report["options"], items


def answers_jsonl(items):
    """The test's answers, one JSON line per item: tests/e2e/default_models.sh decodes a sample of
    them again and recounts the card from them."""
    rows = [{"line": it["line"], "direction": it["meta"]["direction"], "expected": it["expected"],
             "output": it["output"], "score": it["score"]} for it in items]
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--pretrain-metrics", required=True)
    ap.add_argument("--sft-metrics", required=True)
    ap.add_argument("--eval", required=True)
    ap.add_argument("--about", required=True, help="what the model is and how it was trained (markdown)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-mb", type=float, default=64)
    a = ap.parse_args()
    for name in FILES:
        if not os.path.isfile(os.path.join(a.model, name)):
            raise SystemExit(f"ship_model: {a.model}/{name} missing")
    for p in (a.pretrain_metrics, a.sft_metrics, a.eval):
        if not os.path.isfile(p):
            raise SystemExit(f"ship_model: {p} missing")
    weights = os.path.join(a.model, "model.safetensors")
    dtypes, header = tensor_dtypes(weights)
    if dtypes != {"BF16"}:
        raise SystemExit(f"ship_model: {weights}: tensors are {sorted(dtypes)}, expected BF16 only")
    mb = os.path.getsize(weights) / 1e6
    if mb > a.max_mb:
        raise SystemExit(f"ship_model: {weights}: {mb:.1f} MB, over the {a.max_mb:g} MB budget")
    with open(os.path.join(a.model, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    task, by_dir, options, items = direction_scores(a.eval)
    kind = "An autoregressive (causal)" if config.get("causal") else "A LLaDA (masked diffusion)"
    decode = ("greedy, left to right" if config.get("causal") else
              f"low-confidence remasking, steps {options['steps']}, block length {options['block_length']}")
    card = [f"# {os.path.basename(os.path.normpath(a.out))}", "",
            f"{kind} model of {parameter_count(header) / 1e6:.2f} M parameters (d_model {config['d_model']}, "
            f"{config['n_layers']} layers, character vocabulary of {config['vocab_size']}), BF16 weights, "
            f"{mb:.1f} MB.", "", a.about.strip(), "",
            "## The reversal test (docs/experiments.md section 2)", "",
            f"`llada eval` on `{task['task']}` ({task['items']} items), the paper's protocol: chat template, "
            f"temperature 0, gen_length {options['gen_length']}, {decode}; score = the expected line "
            "appears in the answer.", "",
            "| direction | items | score |", "|---|---|---|"]
    for d in ("forward", "backward"):
        card.append(f"| {d} | {by_dir[d]['items']} | {100 * by_dir[d]['score']:.1f}% |")
    right = [it for it in items if it["score"] > 0][:5]
    if right:
        card += ["", "Answers that scored: " + ", ".join(f"{it['expected']}" for it in right) + "."]
    card += ["", "Files: `pretrain_metrics.jsonl` (the last pre-training run), `sft_metrics.jsonl` "
             "(its SFT), one JSON object per logged step; `reversal_answers.jsonl`, every answer of the "
             "test above (the line of the test file, the direction, the expected line, the output, the "
             "score).", ""]

    dest = os.path.normpath(a.out)
    tmp = f"{dest}.tmp.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for name in FILES:
        shutil.copyfile(os.path.join(a.model, name), os.path.join(tmp, name))
    shutil.copyfile(a.pretrain_metrics, os.path.join(tmp, "pretrain_metrics.jsonl"))
    shutil.copyfile(a.sft_metrics, os.path.join(tmp, "sft_metrics.jsonl"))
    write_text_atomic(os.path.join(tmp, "README.md"), "\n".join(card))
    write_text_atomic(os.path.join(tmp, "reversal_answers.jsonl"), answers_jsonl(items))
    old = f"{dest}.old.{os.getpid()}"
    if os.path.exists(dest):
        os.rename(dest, old)
    os.rename(tmp, dest)
    shutil.rmtree(old, ignore_errors=True)
    print(f"ship_model: {a.model} -> {dest} ({mb:.1f} MB; forward {100 * by_dir['forward']['score']:.1f}%, "
          f"backward {100 * by_dir['backward']['score']:.1f}%)")


if __name__ == "__main__":
    main()
