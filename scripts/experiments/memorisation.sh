#!/usr/bin/env bash
# The training investigation, part 2 (docs/experiments.md): how many epochs each objective needs to
# memorise the 815 famous Tang poems. Long runs at a constant learning rate (so a checkpoint's
# model does not depend on the planned length) with a checkpoint every CKPT steps, then the
# hidden-character probe on every checkpoint of both runs (memorisation_curve.py).
#
# usage: scripts/experiments/memorisation.sh     (6000 diffusion + 1500 AR steps: about 90 min)
#        DIFF_STEPS=4 AR_STEPS=4 CKPT=2 EVAL_DOCS=8 OUT=/tmp/mem scripts/experiments/memorisation.sh
# env:   LLADA, CORPUS, OUT, DIFF_STEPS, AR_STEPS, CKPT (diffusion), AR_CKPT, LR, EVAL_DOCS
# A killed run continues where it stopped: run the script again (it resumes both runs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
CORPUS=${CORPUS:-$ROOT/data/pretrain/famous_tang.txt}
OUT=${OUT:-$ROOT/out/experiments/memorisation}
DIFF_STEPS=${DIFF_STEPS:-6000}
AR_STEPS=${AR_STEPS:-1500}
CKPT=${CKPT:-500}
AR_CKPT=${AR_CKPT:-100}
LR=${LR:-2e-3}
EVAL_DOCS=${EVAL_DOCS:-200}
mkdir -p "$OUT"
cd "$OUT"
[[ -d init_diffusion ]] || investigation_setup "$CORPUS"
run() {  # objective init out steps ckpt eval_every
  investigation_config "$1" "$2" "$3" "$4" "$LR" constant "$5" "$6" > "$3.json"
  if [[ -f "$3/latest" ]]; then "$LLADA" train --config "$3.json" --resume --no-progress
  else "$LLADA" train --config "$3.json" --no-progress; fi
}
run diffusion init_diffusion long_diff "$DIFF_STEPS" "$CKPT" $(( CKPT / 2 > 0 ? CKPT / 2 : 1 ))
run ar init_ar long_ar "$AR_STEPS" "$AR_CKPT" "$AR_CKPT"
torchpy "$ROOT/scripts/experiments/memorisation_curve.py" --shard shards/train.tok --docs "$EVAL_DOCS" \
  --jsonl memorisation.jsonl --out memorisation.png long_diff long_ar
