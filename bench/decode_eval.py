#!/usr/bin/env python3
"""Task accuracy and agreement of every decoding mode (issue 6: "measure the rest").

The KV caches and parallel decoding are approximations of the reference sampler; this driver runs
the same questions through `llada generate` in each mode and reports, per mode: accuracy (the
expected answer appears in the output, the paper's poem-completion score), the share of questions
whose output equals the plain (uncached, one-token-per-step) output exactly, the share of equal
tokens, NFE, tokens per call and seconds.

    /usr/bin/python3 bench/decode_eval.py --llada build/release/llada --model models/llada-poetry \
        --data data/eval/reversal.jsonl --every 8 [--gen 28] [--out results.json]

Default settings are the paper's poem-completion ones (spec section 6): chat template,
gen_length = steps = block_length = 28, temperature 0, EOS logit -inf. The data file has one JSON
object per line with "prompt" and "response" (docs/data.md); --every N keeps every N-th line.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

MODES = [
    ("plain", []),
    ("prefix cache", ["--cache", "prefix"]),
    ("dual cache", ["--cache", "dual"]),
    ("threshold 0.9", ["--threshold", "0.9"]),
    ("dual + threshold 0.9", ["--cache", "dual", "--threshold", "0.9"]),
    ("dual + factor 1.0", ["--cache", "dual", "--factor", "1.0"]),
]


def run_mode(args, prompts_file, extra):
    cmd = [args.llada, "generate", "--model", args.model, "--input", prompts_file, "--chat",
           "--gen-length", str(args.gen), "--steps", str(args.gen), "--block-length", str(args.block),
           "--output", "json", "--stats", "--threads", str(args.threads)] + args.extra + extra
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"decode_eval: {' '.join(cmd)} failed ({p.returncode}):\n{p.stderr}")
    rows = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    stats = [line for line in p.stderr.splitlines() if line.startswith("stats:")]
    if not stats:
        sys.exit(f"decode_eval: no stats line from {' '.join(cmd)}:\n{p.stderr}")
    f = stats[-1].replace(",", "").split()
    return rows, {"seconds": float(f[1]), "nfe": int(f[4]), "tokens_per_call": float(f[6]),
                  "ms_per_call": float(f[8])}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--llada", default="build/release/llada")
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True, help="JSON lines with prompt and response")
    ap.add_argument("--every", type=int, default=1, help="keep every N-th question")
    ap.add_argument("--limit", type=int, default=0, help="at most this many questions (0: all)")
    ap.add_argument("--gen", type=int, default=28)
    ap.add_argument("--block", type=int, default=0, help="block length (default: --gen)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-eos-inf", action="store_true", help="allow EOS (default: --logits-eos-inf)")
    ap.add_argument("--out", help="write the per-mode results as JSON here")
    args = ap.parse_args()
    args.block = args.block or args.gen
    args.extra = [] if args.no_eos_inf else ["--logits-eos-inf"]

    questions = []
    with open(args.data, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if line.strip() and i % args.every == 0:
                q = json.loads(line)
                if "prompt" not in q or "response" not in q:
                    sys.exit(f"decode_eval: {args.data} line {i + 1}: needs prompt and response")
                questions.append(q)
    if args.limit:
        questions = questions[: args.limit]
    if not questions:
        sys.exit(f"decode_eval: no questions in {args.data}")

    with tempfile.TemporaryDirectory() as tmp:
        prompts_file = os.path.join(tmp, "prompts.jsonl")
        with open(prompts_file, "w", encoding="utf-8") as f:
            for q in questions:
                f.write(json.dumps({"prompt": q["prompt"]}, ensure_ascii=False) + "\n")
        results, plain = [], None
        for name, extra in MODES:
            rows, st = run_mode(args, prompts_file, extra)
            if len(rows) != len(questions):
                sys.exit(f"decode_eval: {name}: {len(rows)} outputs for {len(questions)} questions")
            if plain is None:
                plain = rows
            hit = [q["response"] in r.get("text", "") for q, r in zip(questions, rows)]
            correct = sum(hit)
            by_dir = {}
            for q, h in zip(questions, hit):
                if "direction" in q:
                    d = by_dir.setdefault(q["direction"], [0, 0])
                    d[0] += h
                    d[1] += 1
            same_out = sum(r["ids"] == p["ids"] for r, p in zip(rows, plain))
            same_tok = sum(sum(a == b for a, b in zip(r["ids"], p["ids"])) for r, p in zip(rows, plain))
            total_tok = sum(len(p["ids"]) for p in plain)
            res = {"mode": name, "args": extra, "questions": len(questions),
                   "accuracy": correct / len(questions),
                   "accuracy_by_direction": {k: v[0] / v[1] for k, v in by_dir.items()},
                   "same_output": same_out / len(questions),
                   "same_tokens": same_tok / total_tok, **st}
            results.append(res)
            print(f"[decode_eval] {name}: accuracy {res['accuracy']:.3f}, same output "
                  f"{res['same_output']:.3f}, {st['seconds']:.1f} s", file=sys.stderr)

    base = results[0]["seconds"]
    print(f"{len(questions)} questions from {args.data} (every {args.every}), model {args.model}, "
          f"gen {args.gen}, block {args.block}, steps {args.gen}, temperature 0"
          f"{'' if args.no_eos_inf else ', EOS logit -inf'}, {args.threads} threads\n")
    dirs = sorted(results[0]["accuracy_by_direction"])
    print("| mode | accuracy | " + "".join(f"{d} | " for d in dirs) +
          "same output as plain | same tokens | NFE | tokens/call | ms/call | seconds | speed-up |")
    print("|---|---|" + "---|" * len(dirs) + "---|---|---|---|---|---|---|")
    for r in results:
        per_dir = "".join(f"{100 * r['accuracy_by_direction'][d]:.1f}% | " for d in dirs)
        print(f"| {r['mode']} | {100 * r['accuracy']:.1f}% | {per_dir}{100 * r['same_output']:.1f}% | "
              f"{100 * r['same_tokens']:.1f}% | {r['nfe']} | {r['tokens_per_call']:.2f} | "
              f"{r['ms_per_call']:.1f} | {r['seconds']:.1f} | {base / r['seconds']:.1f}x |")
    if args.out:
        tmp_out = args.out + ".tmp"
        with open(tmp_out, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
        os.replace(tmp_out, args.out)


if __name__ == "__main__":
    main()
