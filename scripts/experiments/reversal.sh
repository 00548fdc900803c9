#!/usr/bin/env bash
# The reversal-curse experiment (docs/experiments.md, issue "paper findings" item 1), stage by
# stage; each stage resumes where a killed run stopped, so run the same command again.
#
#   data      the pre-training mix (reversal_data.py: every famous collection x FAMOUS_COPIES beside
#             a general poetry slice), shards with the shipped tokenizer, the starting models
#   pretrain  LLaDA (diffusion) and its AR twin (causal), same shape, data, order, seed, batch and
#             token budget; constant learning rate, then a linear decay to lr/40 over the last 10%
#   probe     hidden-character recall on famous poems and held-out loss of every checkpoint
#
# usage: scripts/experiments/reversal.sh STAGE...   (e.g. `data pretrain`)
# env:   LLADA, OUT, STEPS (30000), FAMILIES ("diffusion ar"), PRECISION (bf16), LR_DIFF (2e-3),
#        LR_AR (2e-3), CKPT (1000), FAMOUS_COPIES (3), GENERAL_CHARS (180000), BATCH (32), SEQ (128)
# tiny:  OUT=/tmp/rv STEPS=4 CKPT=2 scripts/experiments/reversal.sh data pretrain
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
OUT=${OUT:-$ROOT/out/experiments/reversal}
STEPS=${STEPS:-30000}
FAMILIES=${FAMILIES:-diffusion ar}
PRECISION=${PRECISION:-bf16}
LR_DIFF=${LR_DIFF:-2e-3}
LR_AR=${LR_AR:-2e-3}
CKPT=${CKPT:-1000}
BATCH=${BATCH:-32}
SEQ=${SEQ:-128}
FAMOUS_COPIES=${FAMOUS_COPIES:-3}
GENERAL_CHARS=${GENERAL_CHARS:-180000}
mkdir -p "$OUT"
cd "$OUT"

stage_data() {
  "$PY" "$ROOT/scripts/experiments/reversal_data.py" --famous "$ROOT/data/pretrain/famous.txt" \
    --poetry "$ROOT/data/pretrain/poetry.txt" --out-train mix_train.txt --out-heldout mix_heldout.txt \
    --famous-copies "$FAMOUS_COPIES" --general-chars "$GENERAL_CHARS"
  rm -rf shards shards_heldout
  "$LLADA" prepare --tokenizer "$TOK" --out shards mix_train.txt
  "$LLADA" prepare --tokenizer "$TOK" --out shards_heldout mix_heldout.txt
  "$PY" - "$TOK/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
json.dump(c, open("model_diffusion.json", "w"), indent=1)
c["causal"] = True
json.dump(c, open("model_ar.json", "w"), indent=1)
PYEOF
  local kind
  for kind in diffusion ar; do
    "$LLADA" init --config model_$kind.json --out init_$kind --seed 7 --force
    cp "$TOK"/tokenizer.json "$TOK"/tokenizer_config.json init_$kind/
  done
}

# pretrain_config OBJECTIVE LR: the run's configuration (out: pre_OBJECTIVE).
pretrain_config() {
  local warm=$(( STEPS / 8 < 1 ? 1 : (STEPS / 8 > 200 ? 200 : STEPS / 8) ))
  local log=$(( STEPS / 100 > 0 ? (STEPS / 100 < 50 ? STEPS / 100 : 50) : 1 ))
  local ev=$(( CKPT / 2 > 0 ? CKPT / 2 : 1 ))
  cat <<JSON
{"model": {"init_from": "init_$1"}, "objective": "$1",
 "data": {"train": ["shards/train.tok"], "heldout": ["shards_heldout/train.tok"], "window": "random"},
 "seq_len": $SEQ, "batch_size": $BATCH, "grad_accum": 1, "steps": $STEPS, "precision": "$PRECISION",
 "diffusion": {"eps": 1e-3, "random_length_prob": 0.01, "stratified_t": false},
 "optim": {"betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0},
 "schedule": {"kind": "wsd", "lr": $2, "warmup_steps": $warm, "drop_frac": 0.9, "decay_frac": 0.9,
              "drop_lr": $2},
 "seed": 1, "threads": 2, "out": "pre_$1", "checkpoint_every": $CKPT, "keep_checkpoints": 3,
 "save_dtype": "f32", "eval_every": $ev, "eval_batches": 8, "log_every": $log}
JSON
}

stage_pretrain() {
  local fam lr
  for fam in $FAMILIES; do
    lr=$LR_DIFF
    [[ $fam == ar ]] && lr=$LR_AR
    pretrain_config "$fam" "$lr" > "pre_$fam.json"
    if [[ -f "pre_$fam/latest" ]]; then "$LLADA" train --config "pre_$fam.json" --resume --no-progress
    else "$LLADA" train --config "pre_$fam.json" --no-progress; fi
  done
}

for stage in "$@"; do
  case $stage in
    data) stage_data ;;
    pretrain) stage_pretrain ;;
    *) echo "reversal.sh: unknown stage '$stage' (data, pretrain)" >&2; exit 2 ;;
  esac
done
