#!/usr/bin/env bash
# Scaling: LLaDA against its AR twin at several sizes (docs/experiments.md section 3, issue "paper
# findings" item 2), stage by stage; each stage resumes where a killed run stopped.
#
#   data   scaling_data.py: a training text and a held-out text over the whole general poetry
#          corpus, and the held-out couplet multiple-choice task; shards with the shipped tokenizer;
#          one starting model per size and family (one seed per size, so both families start equal)
#   train  every size x family: same data, order, batch, token budget, optimizer and schedule
#          (warm-up, constant lr, linear decay over the last 20%); held-out loss logged every STEPS/10
#   eval   every final model: held-out NLL per token (`llada eval` on the held-out shard: exact for AR,
#          the diffusion bound with its Monte-Carlo standard error for LLaDA) and the couplet task
#   plot   scaling_plot.py: the table, the power-law fits, the compute factor, docs PNGs
#
# usage: scripts/experiments/scaling.sh STAGE...
# env:   LLADA, OUT, SIZES ("s m l"), FAMILIES ("diffusion ar"), STEPS (1500), BATCH (32), SEQ (128),
#        LR (2e-3), PRECISION (bf16), EVAL_WINDOWS (160), MC_ITEMS (300), MC_NUM (32), DOCS (where
#        plot writes its table and PNG; default docs/experiments), POETRY, STRIDE (3),
#        HELDOUT_EVERY (100), TRAIN_CHARS (8000000) (scaling_data.py's pool, split and size),
#        COMPARE (an earlier run's scaling.json, drawn beside this one), COMPARE_LABEL
# tiny:  OUT=/tmp/sc SIZES="s m" STEPS=4 EVAL_WINDOWS=2 MC_ITEMS=3 MC_NUM=2 DOCS=/tmp/sc \
#        scripts/experiments/scaling.sh data train eval plot
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
OUT=${OUT:-$ROOT/out/experiments/scaling}
SIZES=${SIZES:-s m l}
FAMILIES=${FAMILIES:-diffusion ar}
STEPS=${STEPS:-1500}
BATCH=${BATCH:-32}
SEQ=${SEQ:-128}
LR=${LR:-2e-3}
PRECISION=${PRECISION:-bf16}
EVAL_WINDOWS=${EVAL_WINDOWS:-160}
MC_ITEMS=${MC_ITEMS:-300}
MC_NUM=${MC_NUM:-32}
DOCS=${DOCS:-$ROOT/docs/experiments}
POETRY=${POETRY:-$ROOT/data/pretrain/poetry.txt}
STRIDE=${STRIDE:-3}
HELDOUT_EVERY=${HELDOUT_EVERY:-100}
TRAIN_CHARS=${TRAIN_CHARS:-8000000}
[[ $OUT == /* ]] || OUT=$ROOT/$OUT
[[ $DOCS == /* ]] || DOCS=$ROOT/$DOCS
[[ -z ${COMPARE:-} || $COMPARE == /* ]] || COMPARE=$ROOT/$COMPARE
mkdir -p "$OUT"
cd "$OUT"

# size_shape SIZE: "d_model n_layers n_heads mlp_hidden" (head dimension 32 or 64; mlp ~2.75 d).
# Non-embedding parameters: xs 0.10M, s 0.33M, m 1.55M, l 4.82M (the shipped model's shape).
size_shape() {
  case $1 in
    xs) echo "64 2 2 176" ;;
    s) echo "96 3 3 256" ;;
    m) echo "160 5 5 432" ;;
    l) echo "256 6 4 704" ;;
    *) echo "scaling.sh: unknown size '$1' (xs, s, m, l)" >&2; exit 2 ;;
  esac
}

stage_data() {
  [[ -f "$POETRY" ]] || { echo "scaling.sh: $POETRY missing (scripts/data/fetch_all.sh)" >&2; exit 1; }
  "$PY" "$ROOT/scripts/experiments/scaling_data.py" --poetry "$POETRY" --out-train train.txt \
    --out-heldout heldout.txt --out-task couplet_mc.jsonl --stride "$STRIDE" \
    --heldout-every "$HELDOUT_EVERY" --train-chars "$TRAIN_CHARS"
  rm -rf shards shards_heldout
  "$LLADA" prepare --tokenizer "$TOK" --out shards train.txt
  "$LLADA" prepare --tokenizer "$TOK" --out shards_heldout heldout.txt
  local size fam
  for size in $SIZES; do
    read -r d layers heads mlp <<< "$(size_shape "$size")"
    for fam in $FAMILIES; do
      "$PY" - "$TOK/config.json" "model_${size}_$fam.json" "$d" "$layers" "$heads" "$mlp" "$fam" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
d, layers, heads, mlp = map(int, sys.argv[3:7])
c.update(d_model=d, n_layers=layers, n_heads=heads, n_kv_heads=heads, mlp_hidden_size=mlp,
         causal=(sys.argv[7] == "ar"))
json.dump(c, open(sys.argv[2], "w"), indent=1)
PYEOF
      "$LLADA" init --config "model_${size}_$fam.json" --out "init_${size}_$fam" --seed 7 --force
      cp "$TOK"/tokenizer.json "$TOK"/tokenizer_config.json "init_${size}_$fam/"
    done
  done
}

stage_train() {
  local size fam run ev=$(( STEPS / 10 > 0 ? STEPS / 10 : 1 )) log=$(( STEPS / 50 > 0 ? STEPS / 50 : 1 ))
  local warm=$(( STEPS / 10 < 1 ? 1 : (STEPS / 10 > 100 ? 100 : STEPS / 10) ))
  for size in $SIZES; do
    for fam in $FAMILIES; do
      run=run_${size}_$fam
      [[ -d $run/final ]] && { echo "scaling.sh: $run done"; continue; }
      "$PY" "$ROOT/scripts/experiments/train_config.py" --objective "$fam" --init "init_${size}_$fam" --out "$run" \
        --steps "$STEPS" --lr "$LR" --schedule wsd --decay-frac 0.8 --warmup "$warm" --seq-len "$SEQ" \
        --batch "$BATCH" --precision "$PRECISION" --checkpoint-every "$ev" --eval-every "$ev" --log-every "$log" \
        --train shards/train.tok --heldout shards_heldout/train.tok > "$run.json"
      if [[ -f $run/latest ]]; then "$LLADA" train --config "$run.json" --resume --no-progress
      else "$LLADA" train --config "$run.json" --no-progress; fi
    done
  done
}

stage_eval() {
  local size fam run
  for size in $SIZES; do
    for fam in $FAMILIES; do
      run=run_${size}_$fam
      [[ -d $run/final ]] || { echo "scaling.sh: $run/final missing (run the train stage)" >&2; exit 1; }
      [[ -f eval_${size}_$fam.json ]] && continue
      "$LLADA" eval --model "$run/final" --task shards_heldout/train.tok --limit "$EVAL_WINDOWS" \
        --window "$SEQ" --mc-num "$MC_NUM" --threads 2 --report "eval_ppl_${size}_$fam.json" \
        | tee "eval_${size}_$fam.txt"
      "$LLADA" eval --model "$run/final" --task couplet_mc.jsonl --limit "$MC_ITEMS" --mc-num "$MC_NUM" \
        --threads 2 --report "eval_mc_${size}_$fam.json" | tee -a "eval_${size}_$fam.txt"
      "$PY" -c 'import json,sys; json.dump({"ppl": json.load(open(sys.argv[1])), "mc": json.load(open(sys.argv[2]))}, open(sys.argv[3] + ".tmp", "w"))' \
        "eval_ppl_${size}_$fam.json" "eval_mc_${size}_$fam.json" "eval_${size}_$fam.json"
      mv "eval_${size}_$fam.json.tmp" "eval_${size}_$fam.json"
    done
  done
}

stage_plot() {
  mkdir -p "$DOCS"
  local compare=()
  [[ -n ${COMPARE:-} ]] && compare=(--compare "$COMPARE" --compare-label "${COMPARE_LABEL:-earlier run}")
  "$PY" "$ROOT/scripts/experiments/scaling_plot.py" --run-dir . --sizes "$SIZES" --families "$FAMILIES" \
    --out-png "$DOCS/scaling.png" --out-md "$DOCS/scaling.md" --out-json "$DOCS/scaling.json" "${compare[@]}"
}

for stage in "$@"; do
  case $stage in
    data) stage_data ;;
    train) stage_train ;;
    eval) stage_eval ;;
    plot) stage_plot ;;
    *) echo "scaling.sh: unknown stage '$stage' (data, train, eval, plot)" >&2; exit 2 ;;
  esac
done
