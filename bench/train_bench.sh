#!/usr/bin/env bash
# Training speed (issue 5): `llada train` (a full step: masking, forward, backward over the masked
# rows' logits, clipping, AdamW) against the same step in PyTorch on the identical model, at the
# same thread count, for the ~25M and ~100M models of bench/compare_engines.sh at sequence length 512.
# Also the matmul peak of the same model's GEMMs alone (`llada bench --backward --matmul-peak`), for
# the MFU, and the peak RSS of training at several batch sizes and sequence lengths.
#
#   bench/train_bench.sh [LLADA_BINARY] [OUT_DIR]
#   env: THREADS (2), SEQ (512), BATCH (4), STEPS (4: the first is warm-up), MODELS ("25m 100m";
#        also "6m", the experiments' model), PRECISIONS ("f32 bf16": llada train --precision),
#        MEMORY (1: also the peak-memory sweep)
#
# Fairness as in compare_engines.sh: OpenBLAS (libopenblas0-pthread) for torch, OMP_WAIT_POLICY=PASSIVE
# for both, OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset for the torch command only.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LLADA="${1:-$ROOT/build/release/llada}"
OUT="${2:-/tmp/llada_train_bench}"
THREADS="${THREADS:-2}"; SEQ="${SEQ:-512}"; BATCH="${BATCH:-4}"; STEPS="${STEPS:-4}"
MODELS="${MODELS:-25m 100m}"; MEMORY="${MEMORY:-1}"; PRECISIONS="${PRECISIONS:-f32 bf16}"
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE
[[ -x "$LLADA" ]] || { echo "train_bench: $LLADA is not an executable" >&2; exit 1; }
mkdir -p "$OUT"

blas="$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p')"
[[ "$blas" == *openblas* ]] || echo "train_bench: WARNING: torch uses $blas, not OpenBLAS (unfair)" >&2

spec() {  # d_model n_layers n_heads n_kv ffn vocab tied (the models of compare_engines.sh)
  case "$1" in
    6m)   echo "256 6 4 4 704 6144 true" ;;
    25m)  echo "512 8 8 8 1152 8192 true" ;;
    100m) echo "1024 8 16 16 2816 1024 false" ;;
    *) echo "train_bench: unknown model $1" >&2; exit 1 ;;
  esac
}

# Token data: a char-level tokenizer and a shard of generated text (token ids stay below every vocab).
if [[ ! -f "$OUT/data/train.tok" ]]; then
  "$PY" - "$OUT/text.txt" <<'PYEOF'
import random, sys
random.seed(0)
words = ["the", "model", "masks", "tokens", "and", "learns", "to", "predict", "them", "again"]
with open(sys.argv[1], "w") as f:
    for _ in range(4000):
        f.write(" ".join(random.choice(words) for _ in range(60)) + "\n\n")
PYEOF
  "$LLADA" train-tokenizer --char-level --vocab-size 300 --min-frequency 1 --out "$OUT/tok" "$OUT/text.txt" >&2
  "$LLADA" prepare --tokenizer "$OUT/tok" --out "$OUT/data" --heldout-fraction 0.01 "$OUT/text.txt" >&2
fi

train_run() {  # model_dir batch seq steps run_dir [precision] -> prints the metrics of the run
  cat >"$OUT/train.json" <<EOF2
{"model": {"init_from": "$1"}, "objective": "diffusion", "data": {"train": "$OUT/data/train.tok"},
 "seq_len": $3, "batch_size": $2, "steps": $4, "schedule": {"kind": "constant", "lr": 1e-4, "warmup_steps": 0},
 "diffusion": {"random_length_prob": 0.0}, "threads": $THREADS, "out": "$5", "checkpoint_every": 0,
 "eval_every": 0, "log_every": 1, "progress": false, "save_dtype": "f32", "precision": "${6:-f32}"}
EOF2
  rm -rf "$5"
  /usr/bin/time -f "%M" -o "$5.rss" "$LLADA" train --config "$OUT/train.json" >/dev/null
}

# shellcheck source=bench/torch_env.sh
source "$ROOT/bench/torch_env.sh"
torch_env_detect "$PY"

echo "| model | params | precision | llada tok/s | torch f32 tok/s | vs torch | vs llada f32 | llada GFLOP/s | matmul peak GFLOP/s | MFU | llada peak RSS MB | torch peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for name in $MODELS; do
  read -r d l h kv f v tied <<<"$(spec "$name")"
  cat >"$OUT/$name.json" <<EOF2
{"d_model": $d, "n_layers": $l, "n_heads": $h, "n_kv_heads": $kv, "mlp_hidden_size": $f,
 "vocab_size": $v, "embedding_size": $v, "max_sequence_length": 4096, "rope_theta": 10000.0,
 "weight_tying": $tied, "mask_token_id": $((v - 1)), "eos_token_id": 0, "pad_token_id": 0}
EOF2
  [[ -f "$OUT/$name/config.json" ]] || "$LLADA" init --config "$OUT/$name.json" --out "$OUT/$name" --seed 1 >&2
  torch="$(env "${TORCH_ENV[@]}" "$PY" "$ROOT/bench/torch_train_bench.py" \
           --model "$OUT/$name" --seq-len "$SEQ" --batch "$BATCH" --threads "$THREADS" --iters $((STEPS - 1)) --warmup 1)"
  f32_tok=""
  for prec in $PRECISIONS; do
    train_run "$OUT/$name" "$BATCH" "$SEQ" "$STEPS" "$OUT/run-$name-$prec" "$prec"
    peak="$("$LLADA" bench --model "$OUT/$name" --seq-len "$SEQ" --batch "$BATCH" --backward --threads "$THREADS" \
            --iters 2 --warmup 1 --matmul-peak --precision "$prec" --json)"
    line="$("$PY" - "$OUT/run-$name-$prec/metrics.jsonl" "$OUT/$name.json" "$SEQ" "$BATCH" "$peak" "$torch" \
            "$(cat "$OUT/run-$name-$prec.rss")" "$name" "$prec" "$f32_tok" 2>"$OUT/tok_s" <<'PYEOF'
import json, statistics, sys
metrics, cfgp, T, B, peak, torch, rss_kb, name, prec, f32_tok = sys.argv[1:11]
T, B = int(T), int(B)
c = json.load(open(cfgp))
recs = [json.loads(l) for l in open(metrics) if '"loss"' in l]
tok_s = statistics.median(r["tok_per_s"] for r in recs[1:] or recs)  # step 1 is warm-up
d, L, f, V = c["d_model"], c["n_layers"], c["mlp_hidden_size"], c["vocab_size"]
kv = c["n_kv_heads"] * d // c["n_heads"]
# Multiply-adds per token of the forward: projections, attention (QK^T and PV over T keys), and the
# head on the masked rows only (E[p] = 0.5 of the positions); x2 FLOPs, x3 forward+backward.
fwd = L * (2 * d * d + 2 * d * kv + 3 * d * f + 2 * T * d) + 0.5 * d * V
flops_tok = 6 * fwd
gflops = tok_s * flops_tok / 1e9
p = json.loads(peak)
t = json.loads(torch)
n_params = p.get("n_params", 0)
vs_f32 = f"{tok_s / float(f32_tok):.2f}x" if f32_tok else "1.00x" if prec == "f32" else "-"
print(f"| {name} | {n_params/1e6:.1f}M | {prec} | {tok_s:.0f} | {t['tokens_per_s']:.0f} | {tok_s / t['tokens_per_s']:.2f}x | "
      f"{vs_f32} | {gflops:.1f} | {p['matmul_gflops']:.1f} | {gflops / p['matmul_gflops']:.0%} | {int(rss_kb)/1024:.0f} | {t['peak_rss_mb']:.0f} |")
print(tok_s, file=sys.stderr)
PYEOF
    )"
    echo "$line"
    [[ $prec == f32 ]] && f32_tok="$(cat "$OUT/tok_s")"
  done
done

if [[ "$MEMORY" == 1 ]]; then
  name="${MODELS%% *}"
  echo
  echo "Peak RSS of \`llada train\` ($name, 2 steps) by batch and sequence length (MB):"
  echo "| batch \\ seq | 128 | 256 | 512 |"
  echo "|---|---|---|---|"
  for b in 1 2 4; do
    row="| $b |"
    for s in 128 256 512; do
      train_run "$OUT/$name" "$b" "$s" 2 "$OUT/mem"
      row="$row $(( $(cat "$OUT/mem.rss") / 1024 )) |"
    done
    echo "$row"
  done
fi
echo
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); threads $THREADS; BLAS for torch: $blas"
