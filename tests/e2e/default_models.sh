#!/usr/bin/env bash
# The two default models (models/llada-poetry, models/ar-poetry: the reversal experiment's LLaDA and
# its AR twin) and the README's first command on them:
#   - each is a valid model directory with BF16 weights within the 64 MB budget, one LLaDA (not
#     causal) and one causal twin of the same shape and tokenizer;
#   - each card's reversal-test numbers (README.md) are the count of its stored answers to the
#     committed test pairs (docs/experiments/reversal_many/test_pairs.jsonl), and `llada eval`, with
#     the card's own protocol, gives those answers again on a sample of the pairs;
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

# The cards' numbers, measured again. Each model directory keeps every answer of its card's test
# (reversal_answers.jsonl, written by ship_model.py from the eval report): the card must be their
# count, and `llada eval` today must give the same answers on every eighth test item (78 of 622, an
# eighth of the time of the whole test). A greedy answer can flip on a near-tie between CPUs whose
# kernels round differently (AMX tiles, AVX-512 dot products, f32 emulation), so up to 3 of the 78
# may differ; on the machine that wrote the card they are equal.
[ -f "$TEST" ] || fail "$TEST missing"
awk 'NR % 8 == 1' "$TEST" >"$WORK/sample.jsonl"
for m in "$DIFF" "$AR"; do
  name=$(basename "$m")
  sampler=(--steps 16 --block-length 16)
  [ "$m" = "$AR" ] && sampler=()
  "$LLADA" eval --model "$m" --task "$WORK/sample.jsonl" --chat --gen-length 16 "${sampler[@]}" --batch-size 8 --threads 2 \
    --report "$WORK/eval_$name.json" >/dev/null 2>"$WORK/err" || fail "eval $name: $(tail -2 "$WORK/err")"
  /usr/bin/python3 - "$m" "$WORK/eval_$name.json" "$TEST" <<'PY' || fail "$name: its card or its answers are not what eval gives"
import json, os, re, sys
model, report, test = sys.argv[1:4]
card = open(os.path.join(model, "README.md"), encoding="utf-8").read()
answers = [json.loads(l) for l in open(os.path.join(model, "reversal_answers.jsonl"), encoding="utf-8")]
rows = [json.loads(l) for l in open(test, encoding="utf-8") if l.strip()]
assert len(answers) == len(rows), (len(answers), len(rows))
for a in answers:  # the stored answers are of this test file, scored by `contains`
    r = rows[a["line"] - 1]
    assert a["expected"] == r["response"] and a["direction"] == r["direction"], a
    assert a["score"] == float(a["expected"] in a["output"]), a
for d in ("forward", "backward"):
    m = re.search(rf"^\| {d} \| (\d+) \| ([0-9.]+)% \|$", card, re.M)
    assert m, f"no {d} row in the card"
    mine = [a for a in answers if a["direction"] == d]
    assert int(m.group(1)) == len(mine), (d, m.group(1), len(mine))
    pct = 100 * sum(a["score"] for a in mine) / len(mine)
    assert abs(float(m.group(2)) - pct) < 0.05 + 1e-9, (d, m.group(2), pct)
stored = {a["line"]: a["output"] for a in answers}
items = json.load(open(report))["items"]
assert len(items) == (len(rows) + 7) // 8, len(items)
differ = [(8 * (it["line"] - 1) + 1, it["output"], stored[8 * (it["line"] - 1) + 1]) for it in items
          if it["output"] != stored[8 * (it["line"] - 1) + 1]]
print(f"{model}: card recounted; {len(items) - len(differ)}/{len(items)} sampled answers as stored")
assert len(differ) <= 3, differ[:5]
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
