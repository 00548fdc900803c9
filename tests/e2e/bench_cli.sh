#!/usr/bin/env bash
# `llada bench` on the shipped model: the forward (packed, with the GEMM-alone peak) and the
# forward+backward in bf16 report consistent JSON; bad flags are clear errors. Speed itself is
# measured in bench/, never asserted here.
# Usage: bash bench_cli.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: bench_cli.sh <llada-cli> <source-dir>}
SRC=${2:?usage: bench_cli.sh <llada-cli> <source-dir>}
MODEL="$SRC/models/llada-poetry"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

fwd=$("$LLADA" bench --model "$MODEL" --seq-len 32 --iters 2 --warmup 1 --matmul-peak --json 2>&1) || fail "forward: $fwd"
bwd=$("$LLADA" bench --model "$MODEL" --seq-len 16 --batch 2 --iters 1 --warmup 0 --backward --precision bf16 --json 2>&1) ||
  fail "backward: $bwd"
/usr/bin/python3 - "$fwd" "$bwd" <<'PY' || fail "bench JSON"
import json, sys
f, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert f["packed_weights"] and not f["backward"] and f["seq_len"] == 32 and f["batch"] == 1, f
assert f["ms_median"] > 0 and f["gflops"] > 0 and f["matmul_gflops"] > 0 and f["packed_matmul_gflops"] > 0, f
assert abs(f["fraction_of_matmul_peak"] - f["gflops"] / f["matmul_gflops"]) < 1e-9, f
assert abs(f["tokens_per_s"] - 32 / (f["ms_median"] * 1e-3)) < 1e-6 * f["tokens_per_s"], f
assert b["backward"] and not b["packed_weights"] and b["precision"] == "bf16" and b["batch"] == 2, b
assert b["gflop_per_iter"] > 0 and b["n_params"] == f["n_params"] == 6393088, b
PY
text=$("$LLADA" bench --model "$MODEL" --seq-len 8 --iters 1 --warmup 0 2>&1) || fail "text: $text"
echo "$text" | grep -q "median .* ms .* tokens/s" || fail "text report: $text"

expect_error() {  # expect_error PATTERN ARGS...
  local pat=$1
  shift
  local out
  out=$("$LLADA" bench "$@" 2>&1)
  local rc=$?
  [ $rc -ne 0 ] && echo "$out" | grep -q -- "$pat" || fail "bench $*: rc $rc, expected an error naming '$pat': $out"
}
expect_error "--seq-len" --model "$MODEL" --seq-len 0
expect_error "--iters" --model "$MODEL" --seq-len 8 --iters 0
expect_error "--precision" --model "$MODEL" --seq-len 8 --precision f16
expect_error "--dtype" --model "$MODEL" --seq-len 8 --dtype int4
expect_error "nothing" --model "$SRC/nothing" --seq-len 8

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
