#!/usr/bin/env bash
# LLaDA-8B-shaped inference, bf16 against int8 and q4 (issue "LLaDA-8B on an ordinary CPU"): a random
# checkpoint with LLaDA-8B-Instruct's exact layout (configs/llada8b.json, 291 BF16 tensors in 6
# shards, ~16 GB), quantized with `llada quantize` (--type int8, --type q4), then for each: validation (`info`), loading and
# packing with a warm page cache, peak RSS, one forward over 64 and 256 positions, and a 32-token
# generation with the dual cache (seconds per model call: the step that reading the weights bounds),
# beside this machine's memory read bandwidth and the packed product's speed on the 8B FFN shape.
#
#   bench/int8_8b.sh [LLADA_BINARY] [FIXTURE_DIR]      (needs ~30 GB of disk, ~17 GB of memory)
#   env: THREADS (2), SEED (1)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LLADA="${1:-$ROOT/build/release/llada}"
FIX="${2:-/tmp/llada8b}"
Q="${FIX}_int8"
Q4="${FIX}_q4"
THREADS="${THREADS:-2}"
export OMP_WAIT_POLICY=PASSIVE
log() { echo "int8_8b: $*" >&2; }
if [[ ! -f $FIX/config.json ]]; then
  log "writing the 8B-shaped fixture to $FIX"
  /usr/bin/time -f "init: %e s, peak RSS %M KB" "$LLADA" init --config "$ROOT/configs/llada8b.json" --dtype bf16 \
    --shard-mb 2800 --seed "${SEED:-1}" --out "$FIX" >&2
fi
if [[ ! -f $Q/config.json ]]; then
  log "quantizing"
  /usr/bin/time -f "quantize: %e s, peak RSS %M KB" "$LLADA" quantize --model "$FIX" --out "$Q" >&2
fi
if [[ ! -f $Q4/config.json ]]; then
  log "quantizing to q4"
  /usr/bin/time -f "quantize q4: %e s, peak RSS %M KB" "$LLADA" quantize --model "$FIX" --out "$Q4" --type q4 >&2
fi

ids=$(seq -s, 1000 1031)  # a 32-token prompt
row() {  # name dir
  local name=$1 dir=$2
  cat "$dir"/*.safetensors > /dev/null  # warm page cache
  local t0 t1; t0=$(date +%s.%N); "$LLADA" info --model "$dir" > /dev/null; t1=$(date +%s.%N)
  local info_s; info_s=$(echo "$t1 - $t0" | bc)
  local f64 f256
  f64=$("$LLADA" bench --model "$dir" --seq-len 64 --iters 3 --warmup 1 --threads "$THREADS" --json)
  f256=$("$LLADA" bench --model "$dir" --seq-len 256 --iters 2 --warmup 1 --threads "$THREADS" --json)
  local gen
  gen=$( { /usr/bin/time -f "RSS %M" "$LLADA" generate --model "$dir" --prompt-ids "$ids" --gen-length 32 \
           --block-length 32 --steps 32 --cache dual --stats --output ids --threads "$THREADS" > /dev/null; } 2>&1 | grep -E '^stats|^RSS')
  /usr/bin/python3 - "$name" "$info_s" "$f64" "$f256" "$gen" <<'PY'
import json, re, sys
name, info_s = sys.argv[1], float(sys.argv[2])
f64, f256, gen = json.loads(sys.argv[3]), json.loads(sys.argv[4]), sys.argv[5]
ms_call = float(re.search(r"ms/call ([0-9.]+)", gen).group(1))
total = float(re.search(r"stats: ([0-9.]+) s", gen).group(1))
rss = int(re.search(r"RSS (\d+)", gen).group(1)) / 1024 / 1024
print(json.dumps({"name": name, "info_s": info_s, "load_s": f64["load_s"], "peak_rss_gb_forward64": f64["peak_rss_mb"] / 1024,
                  "forward64_s": f64["ms_median"] / 1e3, "forward256_s": f256["ms_median"] / 1e3,
                  "dual_ms_per_call": ms_call, "gen32_s": total, "peak_rss_gb_generate": rss}))
PY
}
row bf16 "$FIX" > /tmp/int8_8b_bf16.json
row int8 "$Q" > /tmp/int8_8b_int8.json
row q4 "$Q4" > /tmp/int8_8b_q4.json
bw=$(/usr/bin/python3 -c "
import numpy as np, time
a = np.ones(1 << 28, dtype=np.float32)  # 1 GB
a.sum(); t = time.perf_counter(); n = 5
for _ in range(n): a.sum()
print(f'{n * a.nbytes / (time.perf_counter() - t) / 1e9:.1f}')")
peak=$("$(dirname "$LLADA")/bench/bench_matmul" --benchmark_filter='BM_gemm_packed_8b/M:256' --benchmark_min_time=0.3 2>/dev/null \
        | grep -o 'GFLOP/cpu-s=[0-9.]*G' | tr '\n' ' ')
/usr/bin/python3 - /tmp/int8_8b_bf16.json /tmp/int8_8b_int8.json /tmp/int8_8b_q4.json "$bw" "$peak" <<'PY'
import json, sys
b, q, f = (json.load(open(p)) for p in sys.argv[1:4])
print(f"memory read bandwidth (numpy sum, 1 thread): {sys.argv[4]} GB/s; packed product on the 8B FFN shape at M=256, bf16, int8, q4: {sys.argv[5]}")
print("| | bf16 | int8 | q4 | int8 speed-up | q4 speed-up |")
print("|---|---|---|---|---|---|")
def r(label, k, fmt, speed=True):
    s = f"{b[k] / q[k]:.2f}x | {b[k] / f[k]:.2f}x" if speed else " | "
    print(f"| {label} | {fmt.format(b[k])} | {fmt.format(q[k])} | {fmt.format(f[k])} | {s} |")
r("`info` (validate every tensor), s", "info_s", "{:.2f}", False)
r("load + pack (warm page cache), s", "load_s", "{:.2f}", True)
r("peak RSS, forward 64 positions, GB", "peak_rss_gb_forward64", "{:.2f}", False)
r("forward, 64 positions, s", "forward64_s", "{:.2f}")
r("forward, 256 positions, s", "forward256_s", "{:.2f}")
r("dual-cache step (32-token block), ms per model call", "dual_ms_per_call", "{:.0f}")
r("32-token generation, dual cache, s (after loading)", "gen32_s", "{:.1f}")
r("peak RSS, generation, GB", "peak_rss_gb_generate", "{:.2f}", False)
PY
