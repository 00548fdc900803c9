# Shared by the experiment scripts (sourced): paths, the torch environment, and the famous-Tang set-up
# of the training investigation (shards with the shipped tokenizer, a diffusion and a causal starting
# model from one seed) and its training configuration.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LLADA=${LLADA:-$ROOT/build/release/llada}
PY=/usr/bin/python3
TOK="$ROOT/models/llada-poetry"
[[ -x "$LLADA" ]] || { echo "$0: $LLADA not built (cmake --build --preset release)" >&2; exit 1; }
source "$ROOT/bench/torch_env.sh"
torch_env_detect "$PY"
torchpy() { env "${TORCH_ENV[@]}" "$PY" "$@"; }

# starting_models: in the current directory, init_diffusion/ and init_ar/ (the shipped model's
# shape, tokenizer and special ids; one seed, so both families start from the same weights).
starting_models() {
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

# investigation_setup CORPUS: in the current directory, shards/{train,heldout}.tok and the
# starting models.
investigation_setup() {
  local corpus=$1
  [[ -f "$corpus" ]] || { echo "$0: $corpus missing (scripts/data/fetch_all.sh)" >&2; exit 1; }
  "$LLADA" prepare --tokenizer "$TOK" --out shards --heldout-fraction 0.02 "$corpus"
  starting_models
}

# investigation_config OBJECTIVE INIT OUT STEPS LR SCHEDULE CHECKPOINT_EVERY [EVAL_EVERY]
# (evaluations use their own data reader and noise: their interval never changes the trajectory)
# env: BATCH (32) and SEQ (128), the batch the investigation measured (CI's tiny runs shrink them)
investigation_config() {
  local steps=$4
  "$PY" "$ROOT/scripts/experiments/train_config.py" --objective "$1" --init "$2" --out "$3" --steps "$steps" \
    --batch "${BATCH:-32}" --seq-len "${SEQ:-128}" \
    --lr "$5" --schedule "$6" --checkpoint-every "$7" --eval-every "${8:-$(( steps / 4 > 0 ? steps / 4 : 1 ))}" \
    --log-every $(( steps / 40 > 0 ? steps / 40 : 1 )) --warmup-frac 0.125 --warmup-max 100 --keep 100 \
    --train shards/train.tok --heldout shards/heldout.tok
}
