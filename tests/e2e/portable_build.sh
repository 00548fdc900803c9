#!/usr/bin/env bash
# The portable build (LLADA_NATIVE=OFF: no -march=native, so none of the AVX-512 / AMX code paths
# are compiled and every kernel takes its scalar or oneDNN path) once broke without anyone seeing
# it. This builds the core and kernel libraries and their unit tests that way in a scratch
# directory and runs the tests, so the fallbacks stay compiled and correct. (The full portable
# binary is the same code above the kernels.)
# Usage: bash portable_build.sh <path-to-llada> <source-dir>
set -u
SRC=${2:?usage: portable_build.sh <llada-cli> <source-dir>}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log="$WORK/build.log"
if ! cmake -S "$SRC" -B "$WORK/b" -DCMAKE_BUILD_TYPE=Release -DLLADA_NATIVE=OFF -DLLADA_BUILD_BENCH=OFF \
      -DLLADA_MPI=OFF >"$log" 2>&1; then
  echo "FAIL: configure: $(tail -5 "$log")"; exit 1
fi
if ! cmake --build "$WORK/b" --target test_core test_kernels -j"$(nproc)" >>"$log" 2>&1; then
  echo "FAIL: the portable build: $(grep -m5 -E 'error' "$log")"; exit 1
fi
for t in test_core test_kernels; do
  OMP_NUM_THREADS=2 "$WORK/b/tests/$t" --gtest_brief=1 >"$WORK/$t.log" 2>&1 ||
    { echo "FAIL: $t (portable): $(grep -E 'FAILED|Failure' "$WORK/$t.log" | head -5)"; exit 1; }
done
echo "ok"
