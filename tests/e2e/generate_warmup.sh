#!/usr/bin/env bash
# End-to-end: `llada generate --warmup N` (untimed runs before the timed one, for benchmarks) and
# `--repeat N` (the median of N timed runs) on the shipped model: the output is the same with and
# without them in every cache mode (printed once), --stats still prints its line, and a bad count
# is an error that names the flag.
# Usage: bash generate_warmup.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: generate_warmup.sh <llada-cli> <source-dir>}
SRC=${2:?usage: generate_warmup.sh <llada-cli> <source-dir>}
MODEL="$SRC/models/llada-poetry"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

common=(--model "$MODEL" --prompt "春眠不觉晓" --gen-length 16 --steps 16 --block-length 8
        --output ids --threads 2)
for mode in "--cache none" "--cache dual --threshold 0.9"; do
  # shellcheck disable=SC2086
  "$LLADA" generate "${common[@]}" $mode >"$WORK/plain" 2>"$WORK/plain.err" || fail "$mode: exit $?"
  # shellcheck disable=SC2086
  "$LLADA" generate "${common[@]}" $mode --warmup 2 --stats >"$WORK/warm" 2>"$WORK/warm.err" ||
    fail "$mode --warmup 2: exit $?"
  cmp -s "$WORK/plain" "$WORK/warm" || fail "$mode: output differs with --warmup ($(cat "$WORK/plain") vs $(cat "$WORK/warm"))"
  [ -s "$WORK/plain" ] || fail "$mode: no output"
  grep -q '^stats: .* NFE ' "$WORK/warm.err" || fail "$mode: no stats line: $(cat "$WORK/warm.err")"
  # shellcheck disable=SC2086
  "$LLADA" generate "${common[@]}" $mode --repeat 3 --stats >"$WORK/rep" 2>"$WORK/rep.err" ||
    fail "$mode --repeat 3: exit $?"
  cmp -s "$WORK/plain" "$WORK/rep" || fail "$mode: output differs with --repeat ($(cat "$WORK/plain") vs $(cat "$WORK/rep"))"
  [ "$(grep -c '^stats:' "$WORK/rep.err")" -eq 1 ] || fail "$mode --repeat 3: want one stats line: $(cat "$WORK/rep.err")"
done

"$LLADA" generate "${common[@]}" --repeat 0 >/dev/null 2>"$WORK/rep0.err"
rc=$?
[ $rc -eq 1 ] || fail "--repeat 0: exit $rc (want 1)"
grep -q -- "--repeat" "$WORK/rep0.err" || fail "--repeat 0: message does not name the flag: $(cat "$WORK/rep0.err")"

"$LLADA" generate "${common[@]}" --warmup -1 >/dev/null 2>"$WORK/neg.err"
rc=$?
[ $rc -eq 1 ] || fail "--warmup -1: exit $rc (want 1)"
grep -q -- "--warmup" "$WORK/neg.err" || fail "--warmup -1: message does not name the flag: $(cat "$WORK/neg.err")"

[ $failures -eq 0 ] && echo "generate --warmup: all checks passed"
exit $((failures > 0))
