#!/usr/bin/env bash
# Generation benchmark (issue 6): the configuration the llama.cpp peer was measured on.
#   random 105M LLaDA (d_model 1024, 8 layers, 16 heads, ffn 2816, vocab 1024, untied),
#   32-token prompt, 128 generated tokens, block 32, 128 steps; f32 and bf16;
#   every decoding mode: tokens/s, NFE, tokens per call, ms per call, agreement with plain.
# The 10x goal of dual cache + threshold 0.9 only means something on a trained model (a random
# model's confidences are near uniform, so thresholds never fire): pass one as the second argument.
#
# usage: bench/generate_bench.sh [LLADA_BIN] [TRAINED_MODEL_DIR]
#   env: THREADS (default 2), TRAINED_PROMPT (text prompt for the trained model, chat template),
#        TRAINED_GEN (default 256), TRAINED_BLOCK (default 32), TRAINED_WARMUP (default 1: untimed
#        generations first, so the trained model's sub-second runs time generation rather than
#        one-time start-up; the random model's runs take seconds and use none), TRAINED_REPEAT
#        (default 9: the trained model's rows are the median of that many timed runs)
set -euo pipefail
LLADA=${1:-build/release/llada}
TRAINED=${2:-}
THREADS=${THREADS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/config.json" <<'JSON'
{"d_model": 1024, "n_layers": 8, "n_heads": 16, "n_kv_heads": 16, "mlp_hidden_size": 2816,
 "vocab_size": 1024, "embedding_size": 1024, "max_sequence_length": 4096, "rope_theta": 500000.0,
 "rms_norm_eps": 1e-5, "weight_tying": false, "mask_token_id": 1023, "eos_token_id": 1,
 "pad_token_id": 1}
JSON
"$LLADA" init --config "$work/config.json" --out "$work/f32" --seed 1 >/dev/null
"$LLADA" init --config "$work/config.json" --out "$work/bf16" --seed 1 --dtype bf16 >/dev/null
PROMPT=$(seq -s, 10 41)  # 32 token ids

# run NAME MODEL ARGS... : one generation; prints a table row and keeps the ids for agreement.
run() {
  local name=$1 model=$2; shift 2
  "$LLADA" generate --model "$model" --threads "$THREADS" --stats "$@" \
    >"$work/$name.out" 2>"$work/$name.err" || { cat "$work/$name.err"; exit 1; }
  local stats base agree
  stats=$(grep '^stats:' "$work/$name.err")
  base=${name%%.*}.plain
  agree=$(python3 - "$work/$base.out" "$work/$name.out" <<'PY'
import sys
a = [l.strip() for l in open(sys.argv[1])]
b = [l.strip() for l in open(sys.argv[2])]
same = total = 0
for x, y in zip(a, b):
    x, y = x.split(','), y.split(',')
    same += sum(p == q for p, q in zip(x, y)); total += max(len(x), len(y))
print(f"{100.0 * same / max(total, 1):.1f}%")
PY
)
  # stats: 9.871 s, NFE 128, tokens/call 1.00, ms/call 76.4, tokens/s 13.0 (...)
  echo "$stats" | awk -v n="$name" -v ag="$agree" '{
    gsub(",", ""); printf "| %-22s | %8.3f | %5d | %6.2f | %7.1f | %7.1f | %6s |\n", n, $2, $5, $7, $9, $11, ag }'
}

echo "| run | seconds | NFE | tok/call | ms/call | tok/s | agree |"
echo "|---|---|---|---|---|---|---|"
for dt in f32 bf16; do
  common=(--prompt-ids "$PROMPT" --gen-length 128 --steps 128 --block-length 32 --output ids)
  run "$dt.plain" "$work/$dt" "${common[@]}"
  run "$dt.prefix" "$work/$dt" "${common[@]}" --cache prefix
  run "$dt.dual" "$work/$dt" "${common[@]}" --cache dual
  run "$dt.thr0.9" "$work/$dt" "${common[@]}" --threshold 0.9
  run "$dt.dual+thr0.9" "$work/$dt" "${common[@]}" --cache dual --threshold 0.9
done

if [[ -n "$TRAINED" ]]; then
  TP=${TRAINED_PROMPT:-"What is 12 + 35?"}
  G=${TRAINED_GEN:-256}
  BL=${TRAINED_BLOCK:-32}
  common=(--prompt "$TP" --chat --gen-length "$G" --steps "$G" --block-length "$BL" --output ids
          --warmup "${TRAINED_WARMUP:-1}" --repeat "${TRAINED_REPEAT:-9}")
  run "trained.plain" "$TRAINED" "${common[@]}"
  run "trained.prefix" "$TRAINED" "${common[@]}" --cache prefix
  run "trained.dual" "$TRAINED" "${common[@]}" --cache dual
  run "trained.thr0.9" "$TRAINED" "${common[@]}" --threshold 0.9
  run "trained.dual+thr0.9" "$TRAINED" "${common[@]}" --cache dual --threshold 0.9
  run "trained.dual+thr0.9+ee" "$TRAINED" "${common[@]}" --cache dual --threshold 0.9 --early-exit
  p=$(grep '^stats:' "$work/trained.plain.err" | awk '{print $2}')
  f=$(grep '^stats:' "$work/trained.dual+thr0.9.err" | awk '{print $2}')
  python3 -c "print(f'speed-up of dual cache + threshold 0.9 over plain: {$p / $f:.1f}x')"
fi
