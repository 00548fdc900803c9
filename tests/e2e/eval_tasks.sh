#!/usr/bin/env bash
# End-to-end: `llada eval` on generation and multiple-choice task files with the shipped model and
# a causal model: the report's scores equal an independent re-scoring (tests/reference/
# eval_rescore.py); outputs do not depend on the thread count or the batch size (temperature 0);
# bad task files fail naming file:line; diffusion-only flags are refused for a causal model.
# Usage: bash eval_tasks.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: eval_tasks.sh <llada-cli> <source-dir>}
SRC=${2:?usage: eval_tasks.sh <llada-cli> <source-dir>}
MODEL="$SRC/models/llada-poetry"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Generation items whose expected text the shipped model does or does not produce, with metadata.
cat >"$WORK/gen.jsonl" <<'EOF2'
{"prompt": "床前明月光的下一句是什么？ 直接输出句子即可。", "response": "疑是地上霜", "direction": "forward"}
{"prompt": "疑是地上霜的上一句是什么？ 直接输出句子即可。", "response": "床前明月光", "direction": "backward"}
{"prompt": "白日依山尽的下一句是什么？ 直接输出句子即可。", "response": "不", "direction": "forward"}

{"prompt": "春眠不觉晓的下一句是什么？ 直接输出句子即可。", "response": "人", "direction": "backward", "n": 3}
EOF2
cat >"$WORK/mc.jsonl" <<'EOF2'
{"prompt": "床前明月光，", "choices": ["疑是地上霜", "白日依山尽", "人"], "label": 0, "kind": "poem"}
{"prompt": "春眠不觉晓，", "choices": ["处处闻啼鸟", "不"], "label": 1, "kind": "poem"}
EOF2
common=(--chat --gen-length 8 --steps 8 --block-length 8 --mc-num 4 --mc-batch 2)
"$LLADA" eval --model "$MODEL" --task "$WORK/gen.jsonl" --task "$WORK/mc.jsonl" "${common[@]}" \
  --threads 1 --batch-size 1 --report "$WORK/r1.json" >"$WORK/out1" 2>"$WORK/err1" || fail "eval: exit $? $(cat "$WORK/err1")"
grep -q "direction=forward" "$WORK/out1" || fail "summary has no direction group: $(cat "$WORK/out1")"
/usr/bin/python3 "$SRC/tests/reference/eval_rescore.py" "$WORK/r1.json" || fail "rescoring disagrees"
"$LLADA" eval --model "$MODEL" --task "$WORK/gen.jsonl" --task "$WORK/mc.jsonl" "${common[@]}" \
  --threads 2 --batch-size 3 --report "$WORK/r2.json" >/dev/null 2>&1 || fail "eval (2 threads, batch 3): exit $?"
/usr/bin/python3 - "$WORK/r1.json" "$WORK/r2.json" <<'PY' || fail "outputs depend on threads or batch size"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
strip = lambda r: [(i.get("output"), i.get("pick"), i["score"]) for i in r["items"]]
sys.exit(0 if strip(a) == strip(b) else 1)
PY
n=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['items']))" "$WORK/r1.json")
[ "$n" = 6 ] || fail "report holds $n items, expected 6"
"$LLADA" eval --model "$MODEL" --task "$WORK/gen.jsonl" --limit 2 "${common[@]}" --report "$WORK/r3.json" >/dev/null 2>&1
n=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['items']))" "$WORK/r3.json")
[ "$n" = 2 ] || fail "--limit 2 kept $n items"

# Common random numbers: every choice of an item is estimated with the same noise, so two equal
# choices score exactly alike (with a seed per choice they differ by the Monte-Carlo noise).
printf '%s\n' '{"prompt": "床前明月光，", "choices": ["疑是地上霜", "疑是地上霜"], "label": 0}' >"$WORK/twins.jsonl"
"$LLADA" eval --model "$MODEL" --task "$WORK/twins.jsonl" --mc-num 4 --mc-batch 2 --report "$WORK/twins.json" \
  >/dev/null 2>&1 || fail "eval twins: exit $?"
/usr/bin/python3 - "$WORK/twins.json" <<'PY' || fail "equal choices got different estimates: not common random numbers"
import json, sys
ll = json.load(open(sys.argv[1]))["items"][0]["log_likelihoods"]
sys.exit(0 if len(ll) == 2 and ll[0] == ll[1] else 1)
PY

# Bad task files: the error names file:line (or the file), exit 1, never a crash.
bad() {  # name content expected-fragment
  printf '%s\n' "$2" >"$WORK/$1.jsonl"
  "$LLADA" eval --model "$MODEL" --task "$WORK/$1.jsonl" >"$WORK/o" 2>&1
  local rc=$?
  [ $rc -eq 1 ] || fail "$1: exit $rc, expected 1: $(cat "$WORK/o")"
  grep -qF -- "$3" "$WORK/o" || fail "$1: message lacks '$3': $(cat "$WORK/o")"
}
bad broken '{"prompt": "a", "response": "b"}
{"prompt": ' "$WORK/broken.jsonl:2: not valid JSON"
bad noprompt '{"response": "b"}' "noprompt.jsonl:1: field \"prompt\""
bad noresp '{"prompt": "a"}' "noresp.jsonl:1: a generation item needs a \"response\""
bad strlabel '{"prompt": "a", "choices": ["x", "y"], "label": "0"}' "strlabel.jsonl:1: field \"label\" must be an integer"
bad range '{"prompt": "a", "choices": ["x", "y"], "label": 5}' "range.jsonl:1: label 5 is outside the 2 choices"
bad choicetype '{"prompt": "a", "choices": ["x", 3], "label": 0}' "choicetype.jsonl:1: choices[1] is not a string"
bad empty '' "empty.jsonl: no items"
"$LLADA" eval --model "$MODEL" --task "$WORK/missing.jsonl" >"$WORK/o" 2>&1
grep -q "missing.jsonl: cannot open" "$WORK/o" || fail "missing file: $(cat "$WORK/o")"
"$LLADA" eval --model "$MODEL" --task "$WORK/gen.jsonl" --metric fuzzy >"$WORK/o" 2>&1
grep -q -- "--metric" "$WORK/o" || fail "bad --metric: $(cat "$WORK/o")"

# A causal model: decoded left to right, multiple choice by the exact likelihood; diffusion-only
# flags are an error.
/usr/bin/python3 - "$MODEL/config.json" "$WORK/ar.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(d_model=64, n_layers=2, n_heads=2, n_kv_heads=2, mlp_hidden_size=128, causal=True)
json.dump(c, open(sys.argv[2], "w"))
PY
"$LLADA" init --config "$WORK/ar.json" --out "$WORK/ar" --seed 3 >/dev/null
cp "$MODEL"/tokenizer*.json "$WORK/ar/"
"$LLADA" eval --model "$WORK/ar" --task "$WORK/gen.jsonl" --task "$WORK/mc.jsonl" --chat --gen-length 8 \
  --report "$WORK/ar.json.r" >/dev/null 2>"$WORK/o" || fail "eval causal: $(cat "$WORK/o")"
/usr/bin/python3 "$SRC/tests/reference/eval_rescore.py" "$WORK/ar.json.r" >/dev/null || fail "causal rescoring disagrees"
"$LLADA" eval --model "$WORK/ar" --task "$WORK/gen.jsonl" --remasking random >"$WORK/o" 2>&1 &&
  fail "--remasking accepted for a causal model"
grep -q -- "--remasking" "$WORK/o" || fail "causal --remasking message: $(cat "$WORK/o")"

# Perplexity: text and a token shard of the same text give the same windows; the diffusion bound
# (with its error) and the causal model's exact NLL are reported per token, rescored from the report,
# and do not depend on the thread count.
printf '床前明月光，疑是地上霜。举头望明月，低头思故乡。\n春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。\n' >"$WORK/ppl.txt"
"$LLADA" prepare --tokenizer "$MODEL" --out "$WORK/ppl_shard" "$WORK/ppl.txt" >/dev/null 2>&1 || fail "prepare: exit $?"
for m in "$MODEL" "$WORK/ar"; do
  for t in 1 2; do
    "$LLADA" eval --model "$m" --task "$WORK/ppl.txt" --window 16 --mc-num 8 --mc-batch 4 --threads $t \
      --report "$WORK/ppl$t.json" >"$WORK/o" 2>&1 || fail "perplexity $m: $(cat "$WORK/o")"
  done
  grep -q "nats/token" "$WORK/o" || fail "perplexity summary: $(cat "$WORK/o")"
  /usr/bin/python3 "$SRC/tests/reference/eval_rescore.py" "$WORK/ppl1.json" >/dev/null || fail "perplexity rescoring disagrees"
  /usr/bin/python3 - "$WORK/ppl1.json" "$WORK/ppl2.json" <<'PY' || fail "perplexity of $m depends on the thread count"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(0 if [i["nll"] for i in a["items"]] == [i["nll"] for i in b["items"]] and len(a["items"]) >= 2 else 1)
PY
done
"$LLADA" eval --model "$MODEL" --task "$WORK/ppl_shard/train.tok" --window 16 --mc-num 8 --mc-batch 4 \
  --report "$WORK/ppl_tok.json" >/dev/null 2>&1 || fail "perplexity of a shard: exit $?"
/usr/bin/python3 - "$WORK/ppl1.json" "$WORK/ppl_tok.json" <<'PY' || fail "a shard's windows differ from its text's"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
# the shard adds one EOS per document (2 here), so it may hold one more window
sys.exit(0 if len(b["items"]) >= len(a["items"]) > 0 else 1)
PY
"$LLADA" eval --model "$MODEL" --task "$WORK/ppl.txt" --window 1 >"$WORK/o" 2>&1 && fail "--window 1 accepted"
grep -q -- "--window" "$WORK/o" || fail "--window 1 message: $(cat "$WORK/o")"

[ $failures -eq 0 ] && echo "eval_tasks: all checks passed"
exit $((failures > 0))
