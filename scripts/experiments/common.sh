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
investigation_config() {
  local steps=$4
  local log=$(( steps / 40 > 0 ? steps / 40 : 1 )) ev=${8:-$(( steps / 4 > 0 ? steps / 4 : 1 ))}
  local warm=$(( steps / 8 < 1 ? 1 : (steps / 8 > 100 ? 100 : steps / 8) ))
  cat <<JSON
{"model": {"init_from": "$2"}, "objective": "$1",
 "data": {"train": ["shards/train.tok"], "heldout": ["shards/heldout.tok"], "window": "random"},
 "seq_len": 128, "batch_size": 32, "grad_accum": 1, "steps": $steps,
 "diffusion": {"eps": 1e-3, "random_length_prob": 0.01, "stratified_t": false},
 "optim": {"betas": [0.9, 0.95], "eps": 1e-8, "weight_decay": 0.1, "grad_clip": 1.0},
 "schedule": {"kind": "$6", "lr": $5, "warmup_steps": $warm},
 "seed": 1, "threads": 2, "out": "$3", "checkpoint_every": $7, "keep_checkpoints": 100,
 "save_dtype": "f32", "eval_every": $ev, "eval_batches": 8, "log_every": $log}
JSON
}
