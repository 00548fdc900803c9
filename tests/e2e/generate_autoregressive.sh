#!/usr/bin/env bash
# End-to-end: `llada generate` and `llada chat` on a causal (autoregressive) model decode left to
# right (greedy output is deterministic, --stats says so); every diffusion-only flag is an error
# naming the flag, not a silent no-op; the same flags still work on a diffusion model.
# Usage: bash generate_autoregressive.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: generate_autoregressive.sh <llada-cli> <source-dir>}
SRC=${2:?usage: generate_autoregressive.sh <llada-cli> <source-dir>}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# A small causal model with the shipped tokenizer (random weights: only the mechanics are tested).
/usr/bin/python3 - "$SRC/models/llada-poetry/config.json" "$WORK/ar.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(d_model=64, n_layers=2, n_heads=2, n_kv_heads=2, mlp_hidden_size=128, causal=True)
json.dump(c, open(sys.argv[2], "w"))
PY
"$LLADA" init --config "$WORK/ar.json" --out "$WORK/ar" --seed 3 >/dev/null || fail "init: exit $?"
cp "$SRC"/models/llada-poetry/tokenizer*.json "$WORK/ar/"

"$LLADA" generate --model "$WORK/ar" --prompt "春眠不觉晓" --gen-length 12 --output ids --stats \
  >"$WORK/a" 2>"$WORK/a.err" || fail "generate: exit $?"
"$LLADA" generate --model "$WORK/ar" --prompt "春眠不觉晓" --gen-length 12 --output ids >"$WORK/b" 2>/dev/null
cmp -s "$WORK/a" "$WORK/b" || fail "greedy output differs between runs"
[ "$(tr ',' '\n' <"$WORK/a" | grep -c .)" -eq 12 ] || fail "expected 12 ids, got: $(cat "$WORK/a")"
grep -q 'autoregressive' "$WORK/a.err" || fail "--stats does not say autoregressive: $(cat "$WORK/a.err")"

for flag in "--steps 12" "--block-length 4" "--remasking random" "--cfg-scale 1" "--cache dual" \
            "--threshold 0.9" "--factor 1" "--infill" "--early-exit" "--show"; do
  # shellcheck disable=SC2086
  if "$LLADA" generate --model "$WORK/ar" --prompt "春眠不觉晓" --gen-length 12 $flag >/dev/null 2>"$WORK/err"; then
    fail "generate $flag on a causal model exited 0"
  fi
  grep -q -- "${flag%% *} configures the diffusion sampler" "$WORK/err" || fail "$flag: unclear error: $(cat "$WORK/err")"
done
if echo "你好" | "$LLADA" chat --model "$WORK/ar" --steps 8 >/dev/null 2>"$WORK/err"; then
  fail "chat --steps on a causal model exited 0"
fi
grep -q -- "--steps configures the diffusion sampler" "$WORK/err" || fail "chat: unclear error: $(cat "$WORK/err")"
echo "你好" | "$LLADA" chat --model "$WORK/ar" --gen-length 8 >"$WORK/chat" 2>"$WORK/chat.err" ||
  fail "chat on a causal model: exit $? $(cat "$WORK/chat.err")"

# The diffusion model keeps its flags.
"$LLADA" generate --model "$SRC/models/llada-poetry" --prompt "春眠不觉晓" --gen-length 8 --steps 8 \
  --block-length 4 --cache dual --output ids >/dev/null 2>"$WORK/err" || fail "diffusion flags on LLaDA: $(cat "$WORK/err")"

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
