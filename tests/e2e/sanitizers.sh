#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer (the `asan` preset's flags) over the unit tests of
# the layers every command stands on: core, kernels, sample (which runs the model). Built in a scratch directory
# with -O1 to fit the suite's time; any report fails the test (-fno-sanitize-recover). Tests that
# run the CLI binary (*Cli*) are left out: the CLI is not built here.
# Usage: bash sanitizers.sh <path-to-llada> <source-dir>
set -u
SRC=${2:?usage: sanitizers.sh <llada-cli> <source-dir>}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
log="$WORK/build.log"
flags="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if ! cmake -S "$SRC" -B "$WORK/b" -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="$flags" \
      -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" -DLLADA_BUILD_BENCH=OFF -DLLADA_MPI=OFF \
      >"$log" 2>&1; then
  echo "FAIL: configure: $(tail -5 "$log")"; exit 1
fi
tests="test_core test_kernels test_sample"
if ! cmake --build "$WORK/b" --target $tests -j"$(nproc)" >>"$log" 2>&1; then
  echo "FAIL: the sanitizer build: $(grep -m5 -E 'error' "$log")"; exit 1
fi
failed=0
for t in $tests; do
  # OpenMP's runtime keeps its thread pool to the end: not a leak of ours.
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1 OMP_NUM_THREADS=2 \
    "$WORK/b/tests/$t" --gtest_brief=1 --gtest_filter=-*Cli* >"$WORK/$t.log" 2>&1 ||
    { echo "FAIL: $t under ASan/UBSan: $(grep -m8 -E 'FAILED|Failure|runtime error|ERROR: AddressSanitizer' "$WORK/$t.log")"; failed=1; }
done
[ "$failed" -eq 0 ] && echo "ok" || exit 1
