#!/usr/bin/env bash
# The training investigation (docs/experiments.md, "Why diffusion pre-training learned so little"):
# on the 815 famous Tang poems, the same 6.4M model from the same starting weights is trained
#   c_diff  by `llada train`, masked-diffusion objective (spec section 2)
#   t_diff  by the independent PyTorch trainer (tests/reference/train_torch.py), same objective
#   c_ar    by `llada train`, the autoregressive objective
# then probed: memorisation of one hidden character (scripts/experiments/fill_eval.py) and the
# diffusion models' loss at fixed masking rates (t_profile.py); curves in $OUT/curves.png.
#
# usage: scripts/experiments/investigate.sh            (STEPS=400: about 25 min on 2 cores)
#        STEPS=4 EVAL_DOCS=8 OUT=/tmp/inv scripts/experiments/investigate.sh   (CI: the script runs)
# env:   LLADA (the CLI), CORPUS (text), OUT, STEPS, BATCH, LR, SEED, EVAL_DOCS
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LLADA=${LLADA:-$ROOT/build/release/llada}
CORPUS=${CORPUS:-$ROOT/data/pretrain/famous_tang.txt}
OUT=${OUT:-$ROOT/out/experiments/investigate}
STEPS=${STEPS:-400}
BATCH=${BATCH:-32}
LR=${LR:-2e-3}
SEED=${SEED:-1}
EVAL_DOCS=${EVAL_DOCS:-200}
TOK="$ROOT/models/llada-poetry"
PY=/usr/bin/python3
[[ -x "$LLADA" ]] || { echo "investigate: $LLADA not built (cmake --build --preset release)" >&2; exit 1; }
[[ -f "$CORPUS" ]] || { echo "investigate: $CORPUS missing (scripts/data/fetch_all.sh)" >&2; exit 1; }
source "$ROOT/bench/torch_env.sh"
torch_env_detect "$PY"
mkdir -p "$OUT"
cd "$OUT"
log() { echo "[investigate] $*"; }

"$LLADA" prepare --tokenizer "$TOK" --out shards --heldout-fraction 0.02 "$CORPUS"
# The shipped model's configuration (vocabulary and special ids of its tokenizer), non-causal and
# causal, initialised from the same seed: both trainers and both objectives start from these weights.
$PY - "$TOK/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
json.dump(c, open("model_diffusion.json", "w"), indent=1)
c["causal"] = True
json.dump(c, open("model_ar.json", "w"), indent=1)
PYEOF
for kind in diffusion ar; do
  "$LLADA" init --config model_$kind.json --out init_$kind --seed 7 --force
  cp "$TOK"/tokenizer.json "$TOK"/tokenizer_config.json init_$kind/
done

config() {  # objective init out
  cat <<JSON
{"model": {"init_from": "$2"}, "objective": "$1",
 "data": {"train": ["shards/train.tok"], "heldout": ["shards/heldout.tok"], "window": "random"},
 "seq_len": 128, "batch_size": $BATCH, "grad_accum": 1, "steps": $STEPS,
 "diffusion": {"eps": 1e-3, "random_length_prob": 0.01, "stratified_t": false},
 "optim": {"betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0},
 "schedule": {"kind": "cosine", "lr": $LR, "warmup_steps": $(( STEPS / 8 + 1 ))},
 "seed": $SEED, "threads": 2, "out": "$3", "checkpoint_every": 0, "save_dtype": "f32",
 "eval_every": $(( STEPS / 4 > 0 ? STEPS / 4 : 1 )), "eval_batches": 8, "log_every": $(( STEPS / 40 > 0 ? STEPS / 40 : 1 ))}
JSON
}
rm -rf c_diff c_ar t_diff
config diffusion init_diffusion c_diff > c_diff.json
config ar init_ar c_ar > c_ar.json
t0=$(date +%s); "$LLADA" train --config c_diff.json --no-progress; t1=$(date +%s)
"$LLADA" train --config c_ar.json --no-progress; t2=$(date +%s)
env "${TORCH_ENV[@]}" $PY "$ROOT/tests/reference/train_torch.py" --init init_diffusion \
  --train shards/train.tok --heldout shards/heldout.tok --out t_diff --objective diffusion \
  --steps "$STEPS" --batch "$BATCH" --lr "$LR" --schedule cosine --warmup $(( STEPS / 8 + 1 )) \
  --seed "$SEED" --log-every $(( STEPS / 40 > 0 ? STEPS / 40 : 1 )) --eval-every $(( STEPS / 4 > 0 ? STEPS / 4 : 1 ))
t3=$(date +%s)
echo "{\"c_diff_s\": $((t1 - t0)), \"c_ar_s\": $((t2 - t1)), \"t_diff_s\": $((t3 - t2))}" > wall.json

env "${TORCH_ENV[@]}" $PY "$ROOT/scripts/experiments/fill_eval.py" --json --docs "$EVAL_DOCS" \
  --shard shards/train.tok --model c_diff/final --model t_diff/final --model c_ar/final \
  --model init_diffusion > fill.jsonl
env "${TORCH_ENV[@]}" $PY "$ROOT/scripts/experiments/t_profile.py" --json --shard shards/train.tok \
  --model c_diff/final --model t_diff/final > t_profile.jsonl
$PY "$ROOT/scripts/plot_metrics.py" c_diff t_diff c_ar --out curves.png \
  --title "famous Tang poems, 6.4M model, batch $BATCH x 128, lr $LR"
log "wrote $OUT/{fill.jsonl,t_profile.jsonl,wall.json,curves.png}"
cat fill.jsonl t_profile.jsonl wall.json
