#!/usr/bin/env bash
# The model benchmark of issue 3: llada against PyTorch (Debian python3-torch) on identical model
# directories, forward and forward+backward, f32 and bf16, sequence lengths 160 and 512, 2 threads.
# Beside each pass, the same GEMMs timed alone in the same run: through oneDNN (the matrix library's
# own rate) and, for the forward, through llada's packed-weight kernels (what the forward uses).
# Prints a markdown table with the ratios; raw JSON lines are kept in $OUT/results.jsonl.
#
#   bench/compare_engines.sh [LLADA_BINARY] [OUT_DIR]
#   env: THREADS (2), SEQS ("160 512"), ITERS (5), WARMUP (1), MODELS ("4m 25m 100m")
#
# Fairness: Debian's torch calls whatever libblas.so.3 is installed; without OpenBLAS that is the
# reference BLAS (seconds per forward). This script needs libopenblas0-pthread as the libblas.so.3
# alternative, runs torch with the same thread count, OMP_WAIT_POLICY=PASSIVE, and with
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE unset (the machine sets them; they hold OpenBLAS to AVX2), and
# on a CPU newer than Debian's OpenBLAS its AVX-512 kernels named (bench/torch_env.sh).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LLADA="${1:-$ROOT/build/release/llada}"
OUT="${2:-/tmp/llada_compare_engines}"
THREADS="${THREADS:-2}"
SEQS="${SEQS:-160 512}"
ITERS="${ITERS:-5}"
WARMUP="${WARMUP:-1}"
MODELS="${MODELS:-4m 25m 100m}"
PY=/usr/bin/python3

[[ -x "$LLADA" ]] || { echo "compare_engines: $LLADA is not an executable (pass the llada binary)" >&2; exit 1; }
mkdir -p "$OUT"

blas_link() { update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | sed -n 's/^Value: //p'; }
if [[ "$(blas_link)" != *openblas* ]]; then
  echo "compare_engines: libblas.so.3 is not OpenBLAS; installing libopenblas0-pthread" >&2
  apt-get install -y libopenblas0-pthread >&2 || true
fi
BLAS="$(blas_link)"
if [[ "$BLAS" != *openblas* ]]; then
  echo "compare_engines: WARNING: torch will use $BLAS (not OpenBLAS): its numbers are not fair" >&2
fi

# name  d_model n_layers n_heads n_kv ffn vocab tied
spec() {
  case "$1" in
    4m)   echo "256 4 4 4 704 2048 false" ;;
    25m)  echo "512 8 8 8 1152 8192 true" ;;
    100m) echo "1024 8 16 16 2816 1024 false" ;;
    *) echo "compare_engines: unknown model $1" >&2; exit 1 ;;
  esac
}

for name in $MODELS; do
  read -r d l h kv f v tied <<<"$(spec "$name")"
  cat >"$OUT/$name.json" <<EOF
{"d_model": $d, "n_layers": $l, "n_heads": $h, "n_kv_heads": $kv, "mlp_hidden_size": $f,
 "vocab_size": $v, "embedding_size": $v, "max_sequence_length": 4096, "rope_theta": 10000.0,
 "rms_norm_eps": 1e-5, "weight_tying": $tied, "mask_token_id": $((v - 1)), "eos_token_id": 0,
 "pad_token_id": 0, "activation_type": "silu", "layer_norm_type": "rms", "block_type": "llama",
 "include_bias": false, "rope": true}
EOF
  for dt in f32 bf16; do
    [[ -f "$OUT/$name-$dt/config.json" ]] ||
      "$LLADA" init --config "$OUT/$name.json" --out "$OUT/$name-$dt" --dtype "$dt" --seed 1 >&2
  done
done

# shellcheck source=bench/torch_env.sh
source "$ROOT/bench/torch_env.sh"
torch_env_detect "$PY"

RES="$OUT/results.jsonl"
: >"$RES"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); BLAS for torch: $BLAS" >&2
for name in $MODELS; do
  for T in $SEQS; do
    for run in "f32 " "bf16 " "f32 --backward"; do
      read -r dt bw <<<"$run"
      j="$("$LLADA" bench --model "$OUT/$name-$dt" --seq-len "$T" --threads "$THREADS" \
            --iters "$ITERS" --warmup "$WARMUP" --matmul-peak --json $bw)"
      echo "{\"engine\": \"llada\", \"name\": \"$name\", \"r\": $j}" | tee -a "$RES" >&2
    done
    for run in "f32 both" "bf16 forward"; do
      read -r dt mode <<<"$run"
      env "${TORCH_ENV[@]}" \
        "$PY" "$ROOT/bench/torch_bench.py" --model "$OUT/$name-f32" --seq-len "$T" \
        --threads "$THREADS" --iters "$ITERS" --warmup "$WARMUP" --dtype "$dt" --mode "$mode" |
        while read -r line; do
          echo "{\"engine\": \"torch\", \"name\": \"$name\", \"r\": $line}" | tee -a "$RES" >&2
        done
    done
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

"$PY" - "$RES" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
key = lambda e: (e["name"], e["r"]["seq_len"], e["r"]["dtype"].lower(), e["r"]["backward"])
by = {}
for e in rows:
    by.setdefault(key(e), {})[e["engine"]] = e["r"]
order = {"4m": 0, "25m": 1, "100m": 2}
print("| model | params | seq | dtype | pass | llada ms | llada GFLOP/s | oneDNN GEMMs alone ms | llada packed GEMMs alone ms | torch ms | torch / llada | llada RSS MB |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for k in sorted(by, key=lambda k: (order.get(k[0], 9), k[1], k[3], k[2])):
    name, T, dt, bw = k
    l, t = by[k].get("llada"), by[k].get("torch")
    params = (l or t)["n_params"] / 1e6
    cell = lambda v, f: (f % v) if v is not None else "-"
    gemm = lambda ms, gf: (f"{l[ms]:.1f} ({l[gf]:.0f} GFLOP/s)" if l and ms in l else "-")
    print(f"| {name} | {params:.1f}M | {T} | {dt} | {'fwd+bwd' if bw else 'fwd'} | "
          f"{cell(l and l['ms_median'], '%.1f')} | {cell(l and l['gflops'], '%.0f')} | "
          f"{gemm('matmul_ms_median', 'matmul_gflops')} | "
          f"{gemm('packed_matmul_ms_median', 'packed_matmul_gflops')} | {cell(t and t['ms_median'], '%.1f')} | "
          f"{cell(t and l and t['ms_median'] / l['ms_median'], '%.2fx')} | "
          f"{cell(l and l['peak_rss_mb'], '%.0f')} |")
EOF
