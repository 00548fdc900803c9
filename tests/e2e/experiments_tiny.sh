#!/usr/bin/env bash
# The experiment scripts (scripts/experiments/) on a tiny setting, so they cannot rot: each runs end
# to end on a small generated corpus with a few steps and writes its tables and plots. The numbers
# mean nothing here; docs/experiments.md has the real runs.
# Usage: bash experiments_tiny.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: experiments_tiny.sh <llada-cli> <source-dir>}
SRC=${2:?usage: experiments_tiny.sh <llada-cli> <source-dir>}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
export LLADA

# 120 short "poems" from the tokenizer's own characters (documents in prepare's text format).
/usr/bin/python3 - "$WORK/corpus.txt" <<'PY'
import random, sys
chars = "春眠不觉晓处闻啼鸟夜来风雨声花落知多少床前明月光疑是地上霜举头望低思故乡白日依山尽黄河入海流欲穷千里目更上一层楼"
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(120):
        lines = ["".join(r.choice(chars) for _ in range(5)) for _ in range(4)]
        f.write("题%d\n某人\n%s，%s。\n%s，%s。\n\n" % (i, *lines))
PY

CORPUS="$WORK/corpus.txt" OUT="$WORK/inv" STEPS=4 EVAL_DOCS=8 \
  bash "$SRC/scripts/experiments/investigate.sh" >"$WORK/inv.log" 2>&1 || fail "investigate.sh: $(tail -5 "$WORK/inv.log")"
for f in fill.jsonl t_profile.jsonl wall.json curves.png; do
  [ -s "$WORK/inv/$f" ] || fail "investigate.sh wrote no $f"
done
[ "$(grep -c '"accuracy"' "$WORK/inv/fill.jsonl" 2>/dev/null)" = 4 ] || fail "fill.jsonl: expected 4 models"

CORPUS="$WORK/corpus.txt" OUT="$WORK/mem" DIFF_STEPS=4 AR_STEPS=4 CKPT=2 AR_CKPT=2 EVAL_DOCS=8 \
  bash "$SRC/scripts/experiments/memorisation.sh" >"$WORK/mem.log" 2>&1 || fail "memorisation.sh: $(tail -5 "$WORK/mem.log")"
[ -s "$WORK/mem/memorisation.png" ] || fail "memorisation.sh wrote no plot"
[ "$(grep -c '"epochs"' "$WORK/mem/memorisation.jsonl" 2>/dev/null)" = 4 ] || fail "memorisation.jsonl: expected 2 checkpoints x 2 runs"

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
