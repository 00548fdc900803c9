#!/usr/bin/env bash
# The training issue's small-model goal, measured as it is worded: tokens/s of the experiment-size
# model before the profile and mixed-precision work (a build of the trainer as it was when the issue
# was filed: f32 only) against today's trainer (f32, and bf16 as the experiments run it), same
# model, data, batch and threads, the binaries alternating round by round so the host's drift
# (±10% between minutes here) falls on both. docs/bench/train.md has the result.
#
#   bench/train_before_after.sh BEFORE_BINARY [AFTER_BINARY] [OUT_DIR]
#   env: THREADS (2), SEQ (128), BATCH (32), STEPS (8: the first is warm-up), ROUNDS (3),
#        MODEL ("256 6 4 4 704 6144": d_model n_layers n_heads n_kv ffn vocab, the 6.4M model)
#
# BEFORE: e.g. `git worktree add /tmp/before 2ebe442 && cmake --preset release && cmake --build
# --preset release --target llada_cli` in it (2ebe442: the last commit before bf16 training).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BEFORE="${1:?usage: train_before_after.sh BEFORE_BINARY [AFTER_BINARY] [OUT_DIR]}"
AFTER="${2:-$ROOT/build/release/llada}"
OUT="${3:-/tmp/llada_train_before_after}"
THREADS="${THREADS:-2}"; SEQ="${SEQ:-128}"; BATCH="${BATCH:-32}"; STEPS="${STEPS:-8}"; ROUNDS="${ROUNDS:-3}"
MODEL="${MODEL:-256 6 4 4 704 6144}"
PY=/usr/bin/python3
for b in "$BEFORE" "$AFTER"; do [[ -x $b ]] || { echo "train_before_after: $b is not an executable" >&2; exit 1; }; done
(( STEPS >= 2 && ROUNDS >= 1 )) || { echo "train_before_after: STEPS must be >= 2 and ROUNDS >= 1" >&2; exit 1; }
mkdir -p "$OUT"
read -r d l h kv f v <<<"$MODEL"

if [[ ! -f "$OUT/data/train.tok" ]]; then  # generated text under a char-level tokenizer
  "$PY" - "$OUT/text.txt" <<'PYEOF'
import random, sys
random.seed(0)
words = ["the", "model", "masks", "tokens", "and", "learns", "to", "predict", "them", "again"]
with open(sys.argv[1], "w") as f:
    for _ in range(4000):
        f.write(" ".join(random.choice(words) for _ in range(60)) + "\n\n")
PYEOF
  "$AFTER" train-tokenizer --char-level --vocab-size 300 --min-frequency 1 --out "$OUT/tok" "$OUT/text.txt" >&2
  "$AFTER" prepare --tokenizer "$OUT/tok" --out "$OUT/data" --heldout-fraction 0.01 "$OUT/text.txt" >&2
fi
cat >"$OUT/model.json" <<EOF2
{"d_model": $d, "n_layers": $l, "n_heads": $h, "n_kv_heads": $kv, "mlp_hidden_size": $f,
 "vocab_size": $v, "embedding_size": $v, "max_sequence_length": 4096, "rope_theta": 10000.0,
 "weight_tying": true, "mask_token_id": $((v - 1)), "eos_token_id": 0, "pad_token_id": 0}
EOF2
[[ -f "$OUT/model/config.json" ]] || "$AFTER" init --config "$OUT/model.json" --out "$OUT/model" --seed 1 >&2

# run NAME BINARY [PRECISION]: one training run; prints its median tok/s over the steps after the first
run() {
  local precision=""
  [[ -n ${3:-} ]] && precision=", \"precision\": \"$3\""  # (the before-build has no such key)
  cat >"$OUT/$1.json" <<EOF2
{"model": {"init_from": "$OUT/model"}, "objective": "diffusion", "data": {"train": "$OUT/data/train.tok"},
 "seq_len": $SEQ, "batch_size": $BATCH, "steps": $STEPS, "schedule": {"kind": "constant", "lr": 1e-4, "warmup_steps": 0},
 "diffusion": {"random_length_prob": 0.0}, "threads": $THREADS, "out": "$OUT/run-$1", "checkpoint_every": 0,
 "eval_every": 0, "log_every": 1, "progress": false, "save_dtype": "f32"$precision}
EOF2
  rm -rf "$OUT/run-$1"
  "$2" train --config "$OUT/$1.json" >/dev/null 2>"$OUT/$1.err" || { cat "$OUT/$1.err" >&2; exit 1; }
  "$PY" - "$OUT/run-$1/metrics.jsonl" <<'PYEOF'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
print(f"{statistics.median(r['tok_per_s'] for r in recs[1:]):.0f}")
PYEOF
}

echo "model: d_model $d, $l layers, ffn $f, vocab $v; batch $BATCH x $SEQ, $THREADS threads, $STEPS steps per run"
echo "| round | before (f32) tok/s | after f32 tok/s | after bf16 tok/s | after bf16 / before | after f32 / before |"
echo "|---|---|---|---|---|---|"
rows=()
for r in $(seq 1 "$ROUNDS"); do
  b=$(run before "$BEFORE")
  a32=$(run after_f32 "$AFTER" f32)
  a16=$(run after_bf16 "$AFTER" bf16)
  rows+=("$b $a32 $a16")
  "$PY" -c "import sys; b,a,c=map(float,sys.argv[2:5]); print(f'| {sys.argv[1]} | {b:.0f} | {a:.0f} | {c:.0f} | {c/b:.2f}x | {a/b:.2f}x |')" "$r" $b $a32 $a16
done
"$PY" - "${rows[@]}" <<'PYEOF'
import statistics, sys
rows = [list(map(float, r.split())) for r in sys.argv[1:]]
med = [statistics.median(c) for c in zip(*rows)]
ratio = statistics.median(c / b for b, _, c in rows)
ratio32 = statistics.median(a / b for b, a, _ in rows)
print(f"| **median** | {med[0]:.0f} | {med[1]:.0f} | {med[2]:.0f} | **{ratio:.2f}x** | {ratio32:.2f}x |")
PYEOF
