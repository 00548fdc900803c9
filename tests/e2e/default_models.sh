#!/usr/bin/env bash
# The two default models (models/llada-poetry, models/ar-poetry: the reversal experiment's LLaDA and
# its AR twin) and the README's first command on them:
#   - each is a valid model directory with BF16 weights within the 64 MB budget, one LLaDA (not
#     causal) and one causal twin of the same shape and tokenizer;
#   - each card's reversal-test numbers (README.md) are what `llada eval` gives today on the committed
#     test pairs (docs/experiments/reversal_many/test_pairs.jsonl), with the card's own protocol;
#   - scripts/demo.sh (build skipped) asks the three questions and prints an answer to each, the
#     same as `llada generate` / `llada eval` give for them.
# Usage: bash default_models.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: default_models.sh <llada-cli> <source-dir>}
SRC=${2:?usage: default_models.sh <llada-cli> <source-dir>}
DIFF="$SRC/models/llada-poetry"
AR="$SRC/models/ar-poetry"
TEST="$SRC/docs/experiments/reversal_many/test_pairs.jsonl"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for m in "$DIFF" "$AR"; do
  "$LLADA" info --model "$m" --json >"$WORK/$(basename "$m").json" 2>"$WORK/err" || fail "llada info $m: $(tail -2 "$WORK/err")"
done
/usr/bin/python3 - "$DIFF" "$AR" "$WORK" <<'PY' || fail "the default models are not a BF16 LLaDA and its causal twin within 64 MB"
import json, os, struct, sys
diff, ar, work = sys.argv[1:4]
def dtypes(d):
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return {v["dtype"] for k, v in json.loads(f.read(n)).items() if k != "__metadata__"}
cfg = {d: json.load(open(os.path.join(d, "config.json"))) for d in (diff, ar)}
for d in (diff, ar):
    assert dtypes(d) == {"BF16"}, (d, dtypes(d))
    assert os.path.getsize(os.path.join(d, "model.safetensors")) <= 64e6, d
assert not cfg[diff].get("causal") and cfg[ar].get("causal") is True, "expected LLaDA and a causal twin"
shape = lambda c: (c["d_model"], c["n_layers"], c["n_heads"], c["mlp_hidden_size"], c["vocab_size"])
assert shape(cfg[diff]) == shape(cfg[ar]), (shape(cfg[diff]), shape(cfg[ar]))
assert open(os.path.join(diff, "tokenizer.json")).read() == open(os.path.join(ar, "tokenizer.json")).read()
PY

# The cards' numbers, measured again. A greedy answer can flip on a near-tie between CPUs whose
# kernels round differently (AMX tiles against AVX-512 dot products), so each direction may move by
# up to 2 of its items; on the machine that wrote the card it is exact.
[ -f "$TEST" ] || fail "$TEST missing"
for m in "$DIFF" "$AR"; do
  name=$(basename "$m")
  sampler=(--steps 16 --block-length 16)
  [ "$m" = "$AR" ] && sampler=()
  "$LLADA" eval --model "$m" --task "$TEST" --chat --gen-length 16 "${sampler[@]}" --batch-size 8 --threads 2 \
    --report "$WORK/eval_$name.json" >/dev/null 2>"$WORK/err" || fail "eval $name: $(tail -2 "$WORK/err")"
  /usr/bin/python3 - "$m/README.md" "$WORK/eval_$name.json" <<'PY' || fail "$name: its card's reversal numbers are not what eval gives"
import json, re, sys
card = open(sys.argv[1], encoding="utf-8").read()
task = json.load(open(sys.argv[2]))["tasks"][0]
for d in ("forward", "backward"):
    m = re.search(rf"^\| {d} \| (\d+) \| ([0-9.]+)% \|$", card, re.M)
    assert m, f"no {d} row in the card"
    items, pct = int(m.group(1)), float(m.group(2))
    got = task["groups"]["direction"][d]
    assert got["items"] == items, (d, got["items"], items)
    assert abs(100 * got["score"] - pct) <= 100 * 2 / items + 0.05, (d, 100 * got["score"], pct)
    print(f"{sys.argv[1]}: {d} card {pct}% eval {100 * got['score']:.1f}%")
PY
done

# The README's first command without its build step.
DEMO_SKIP_BUILD=1 LLADA="$LLADA" bash "$SRC/scripts/demo.sh" >"$WORK/demo" 2>"$WORK/demo.err" ||
  fail "demo.sh exited $?: $(tail -3 "$WORK/demo.err")"
[ "$(grep -c '^== ' "$WORK/demo")" = 3 ] || fail "demo.sh: expected three questions: $(cat "$WORK/demo")"
NEXT_Q="床前明月光的下一句是什么？ 直接输出句子即可。"
PREV_Q="疑是地上霜的上一句是什么？ 直接输出句子即可。"
want=("$("$LLADA" generate --model "$DIFF" --chat --prompt "$NEXT_Q" --gen-length 16 --steps 16 --block-length 16 2>/dev/null)"
      "$("$LLADA" generate --model "$DIFF" --chat --prompt "$PREV_Q" --gen-length 16 --steps 16 --block-length 16 2>/dev/null)"
      "$("$LLADA" generate --model "$AR" --chat --prompt "$PREV_Q" --gen-length 16 2>/dev/null)")
mapfile -t got < <(awk '/^== /{getline; print}' "$WORK/demo")
for i in 0 1 2; do
  [ -n "${want[$i]}" ] || fail "question $((i + 1)): generate gave an empty answer"
  [ "${got[$i]:-}" = "${want[$i]}" ] || fail "demo answer $((i + 1)) '${got[$i]:-}' != generate '${want[$i]}'"
done

[ "$failures" = 0 ] && echo "default models: all checks passed"
exit "$failures"
