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
# MODEL_SHAPE="D_MODEL N_LAYERS N_HEADS MLP_HIDDEN" gives both another shape (e.g. "512 8 8 1152",
# the ~25M model of docs/bench/train.md), the vocabulary and special ids unchanged.
starting_models() {
  "$PY" - "$TOK/config.json" "${MODEL_SHAPE:-}" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
if sys.argv[2].strip():
    try:
        d, layers, heads, ffn = (int(x) for x in sys.argv[2].split())
    except ValueError:
        sys.exit(f"MODEL_SHAPE: expected 'D_MODEL N_LAYERS N_HEADS MLP_HIDDEN' (4 integers), got '{sys.argv[2]}'")
    if min(d, layers, heads, ffn) <= 0 or d % heads:
        sys.exit(f"MODEL_SHAPE: '{sys.argv[2]}' needs positive sizes and D_MODEL divisible by N_HEADS")
    c.update(d_model=d, n_layers=layers, n_heads=heads, n_kv_heads=heads, mlp_hidden_size=ffn)
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
