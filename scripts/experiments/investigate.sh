#!/usr/bin/env bash
# The training investigation, part 1 (docs/experiments.md, "Why diffusion pre-training learned so
# little"): on the 815 famous Tang poems the same 6.4M model, from the same starting weights, is
# trained
#   c_diff  by `llada train`, masked-diffusion objective (spec section 2)
#   t_diff  by the independent PyTorch trainer (tests/reference/train_torch.py), same objective
#   c_ar    by `llada train`, the autoregressive objective
# then probed: recall of one hidden character (fill_eval.py) and the diffusion models' loss at fixed
# masking rates (t_profile.py); curves in $OUT/curves.png. Part 2 is memorisation.sh.
#
# usage: scripts/experiments/investigate.sh       (STEPS=400: about 25 min on 2 cores)
#        STEPS=4 EVAL_DOCS=8 OUT=/tmp/inv scripts/experiments/investigate.sh   (CI: the script runs)
# env:   LLADA (the CLI), CORPUS (text), OUT, STEPS, LR, EVAL_DOCS, BATCH (32), SEQ (128)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CORPUS=${CORPUS:-$ROOT/data/pretrain/famous_tang.txt}
OUT=${OUT:-$ROOT/out/experiments/investigate}
STEPS=${STEPS:-400}
LR=${LR:-2e-3}
EVAL_DOCS=${EVAL_DOCS:-200}
mkdir -p "$OUT"
cd "$OUT"
investigation_setup "$CORPUS"
rm -rf c_diff c_ar t_diff
investigation_config diffusion init_diffusion c_diff "$STEPS" "$LR" cosine 0 > c_diff.json
investigation_config ar init_ar c_ar "$STEPS" "$LR" cosine 0 > c_ar.json
t0=$(date +%s); "$LLADA" train --config c_diff.json --no-progress; t1=$(date +%s)
"$LLADA" train --config c_ar.json --no-progress; t2=$(date +%s)
torchpy "$ROOT/tests/reference/train_torch.py" --init init_diffusion --train shards/train.tok \
  --heldout shards/heldout.tok --out t_diff --objective diffusion --steps "$STEPS" --lr "$LR" \
  --batch "${BATCH:-32}" --seq-len "${SEQ:-128}" \
  --schedule cosine --warmup $(( STEPS / 8 > 0 ? STEPS / 8 : 1 )) --log-every $(( STEPS / 40 > 0 ? STEPS / 40 : 1 )) \
  --eval-every $(( STEPS / 4 > 0 ? STEPS / 4 : 1 ))
t3=$(date +%s)
echo "{\"c_diff_s\": $((t1 - t0)), \"c_ar_s\": $((t2 - t1)), \"t_diff_s\": $((t3 - t2))}" > wall.json
torchpy "$ROOT/scripts/experiments/fill_eval.py" --json --docs "$EVAL_DOCS" --shard shards/train.tok \
  --model c_diff/final --model t_diff/final --model c_ar/final --model init_diffusion > fill.jsonl
torchpy "$ROOT/scripts/experiments/t_profile.py" --json --shard shards/train.tok \
  --model c_diff/final --model t_diff/final > t_profile.jsonl
"$PY" "$ROOT/scripts/plot_metrics.py" c_diff t_diff c_ar --out curves.png \
  --title "famous Tang poems, 6.4M model, batch 32 x 128, lr $LR: llada vs PyTorch vs AR"
echo "[investigate] wrote $OUT/{fill.jsonl,t_profile.jsonl,wall.json,curves.png}"
cat fill.jsonl t_profile.jsonl wall.json
