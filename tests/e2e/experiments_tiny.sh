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
# Small batches: the scripts' paths are what is tested, not the numbers (the experiments' 32 x 128
# batches, with a held-out evaluation at every tiny step, made this test 4+ minutes alone).
export BATCH=4 SEQ=64 SFT_BATCH=8

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

# The reversal experiment: the generated corpus serves as famous text, the same poems retitled as
# the general corpus, its couplets as SFT questions and as the test pairs.
/usr/bin/python3 - "$WORK/corpus.txt" "$WORK/sft.jsonl" "$WORK/test.jsonl" "$WORK/general.txt" "$WORK/all.jsonl" <<'PY'
import json, sys
docs = [d for d in open(sys.argv[1]).read().split("\n\n") if d.strip()]
with open(sys.argv[4], "w") as f:
    f.write("".join("篇" + d[1:] + "\n\n" for d in docs))
rows = []
for d in docs:
    title, author, line = d.split("\n")[:3]
    a, b = line.rstrip("。").split("，")
    meta = {"title": title, "author": author}
    rows.append({"prompt": f"{a}的下一句是什么？ 直接输出句子即可。", "response": b, "direction": "forward", **meta})
    rows.append({"prompt": f"{b}的上一句是什么？ 直接输出句子即可。", "response": a, "direction": "backward", **meta})
with open(sys.argv[2], "w") as f:
    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[:160])
with open(sys.argv[3], "w") as f:
    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows[160:])
with open(sys.argv[5], "w") as f:
    f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
PY
OUT="$WORK/rev" KEEP="$WORK/keep" STEPS=4 CKPT=2 SFT_STEPS=2 TEST_PAIRS=4 FAMOUS="$WORK/corpus.txt" POETRY="$WORK/general.txt" \
  GENERAL_CHARS=2000 SFT_DATA="$WORK/sft.jsonl" TEST="$WORK/test.jsonl" MODEL_SHAPE="64 2 2 160" \
  bash "$SRC/scripts/experiments/reversal.sh" data pretrain sft eval >"$WORK/rev.log" 2>&1 ||
  fail "reversal.sh: $(tail -5 "$WORK/rev.log")"
/usr/bin/python3 - "$WORK/rev" <<'PY' || fail "reversal.sh MODEL_SHAPE: the starting models do not have the asked shape"
import json, sys
for fam in ("diffusion", "ar"):
    c = json.load(open(f"{sys.argv[1]}/init_{fam}/config.json"))
    assert (c["d_model"], c["n_layers"], c["n_heads"], c["mlp_hidden_size"]) == (64, 2, 2, 160), c
PY
/usr/bin/python3 "$SRC/scripts/experiments/reversal_runs_plot.py" --run "LLaDA=$WORK/rev/eval_diffusion.txt" \
  --run "AR=$WORK/rev/eval_ar.txt" --out "$WORK/runs.png" >"$WORK/runs.log" 2>&1 && [ -s "$WORK/runs.png" ] ||
  fail "reversal_runs_plot.py: $(tail -3 "$WORK/runs.log")"
OUT="$WORK/revbad" FAMOUS="$WORK/corpus.txt" POETRY="$WORK/general.txt" GENERAL_CHARS=2000 MODEL_SHAPE="64 2" \
  SFT_DATA="$WORK/sft.jsonl" TEST="$WORK/test.jsonl" \
  bash "$SRC/scripts/experiments/reversal.sh" data >"$WORK/revbad.log" 2>&1 &&
  fail "reversal.sh: MODEL_SHAPE='64 2' was accepted"
grep -q "MODEL_SHAPE: expected" "$WORK/revbad.log" || fail "reversal.sh: no clear MODEL_SHAPE error: $(tail -3 "$WORK/revbad.log")"
OUT="$WORK/rev" KEEP="$WORK/keep" bash "$SRC/scripts/experiments/reversal.sh" keep >>"$WORK/rev.log" 2>&1 ||
  fail "reversal.sh keep: $(tail -3 "$WORK/rev.log")"
[ -f "$WORK/keep/pre_diffusion/latest" ] && [ -f "$WORK/keep/pre_ar/config.json" ] || fail "reversal.sh keep kept nothing"
for fam in diffusion ar; do
  n=$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['items']))" "$WORK/rev/eval_$fam.json" 2>/dev/null)
  [ "$n" = 8 ] || fail "reversal.sh: eval_$fam.json holds '$n' items, expected 8"
done

# Mixed training: questions about documents 21-40 in the pre-training text and the SFT set, the
# test on documents 1-20 only.
MODEL_SHAPE="64 2 2 160" OUT="$WORK/revq" KEEP="$WORK/keepq" STEPS=4 CKPT=2 SFT_STEPS=2 TEST_PAIRS=4 FAMOUS="$WORK/corpus.txt" \
  POETRY="$WORK/general.txt" GENERAL_CHARS=2000 TEST="$WORK/all.jsonl" FAMOUS_DOCS=40 QA_DOCS=20 QA_COPIES=2 PAIR_DOCS=2 \
  bash "$SRC/scripts/experiments/reversal.sh" data pretrain sft eval >"$WORK/revq.log" 2>&1 ||
  fail "reversal.sh (QA_DOCS): $(tail -5 "$WORK/revq.log")"
[ "$(grep -c . "$WORK/revq/test_all.jsonl" 2>/dev/null)" = 40 ] || fail "reversal.sh QA_DOCS: test_all.jsonl is not the 20 tested documents' pairs"
[ "$(grep -c . "$WORK/revq/qa_pairs.jsonl" 2>/dev/null)" = 40 ] || fail "reversal.sh QA_DOCS: qa_pairs.jsonl is not the 20 asked documents' pairs"
[ "$(grep -c 'start_header_id' "$WORK/revq/mix_train.jsonl" 2>/dev/null)" = 80 ] || fail "reversal.sh QA_DOCS: expected 40 questions x 2 copies in the training text"
/usr/bin/python3 - "$WORK/revq/mix_train.jsonl" "$WORK/corpus.txt" <<'PY' || fail "reversal.sh PAIR_DOCS: the line pairs are not each a document of their own, twice"
import collections, json, sys
docs = [json.loads(l)["text"] for l in open(sys.argv[1])]
pairs = collections.Counter(d for d in docs if "\n" not in d and "<|" not in d)
lines = [d.split("\n")[2] for d in open(sys.argv[2]).read().split("\n\n")[:40]]
assert sorted(pairs) == sorted(lines) and set(pairs.values()) == {2}, (len(pairs), set(pairs.values()))
PY
# --pair-source text: every adjacent pair of the kept text (3 per document here, across the couplet
# break too), not only the test file's (1 per document); no training needed to check the mix.
/usr/bin/python3 "$SRC/scripts/experiments/reversal_data.py" --famous "$WORK/corpus.txt" --poetry "$WORK/general.txt" \
  --out-train "$WORK/pt_train.jsonl" --out-heldout "$WORK/pt_heldout.txt" --general-chars 2000 --famous-docs 40 \
  --test "$WORK/all.jsonl" --out-test "$WORK/pt_test.jsonl" --qa-docs 20 --out-qa "$WORK/pt_qa.jsonl" \
  --pair-docs 3 --pair-source text >"$WORK/pt.log" 2>&1 || fail "reversal_data.py --pair-source text: $(tail -3 "$WORK/pt.log")"
/usr/bin/python3 - "$WORK/pt_train.jsonl" "$WORK/corpus.txt" <<'PY' || fail "reversal_data.py --pair-source text: not every adjacent pair of the text, three times"
import collections, json, sys
docs = [json.loads(l)["text"] for l in open(sys.argv[1])]
pairs = collections.Counter(d for d in docs if "\n" not in d and "<|" not in d)
want = set()
for d in open(sys.argv[2]).read().split("\n\n")[:40]:
    l3, l4 = d.split("\n")[2:4]
    a, b = l3.rstrip("。").split("，")
    c, e = l4.rstrip("。").split("，")
    want |= {f"{a}，{b}。", f"{b}。{c}，", f"{c}，{e}。"}
assert set(pairs) == want and set(pairs.values()) == {3}, (len(pairs), len(want), set(pairs.values()))
PY
/usr/bin/python3 - "$WORK/revq/test_all.jsonl" "$WORK/revq/qa_pairs.jsonl" <<'PY' || fail "reversal.sh QA_DOCS: a tested document was asked about"
import json, sys
key = lambda p: {(r["title"], r["author"]) for r in map(json.loads, open(p))}
sys.exit(1 if key(sys.argv[1]) & key(sys.argv[2]) else 0)
PY

# The questions mixed into pre-training as SFT batches too (SFT_MIX_EVERY): every second step.
MODEL_SHAPE="64 2 2 160" OUT="$WORK/revm" KEEP="$WORK/keepm" STEPS=4 CKPT=2 FAMOUS="$WORK/corpus.txt" POETRY="$WORK/general.txt" \
  GENERAL_CHARS=2000 TEST="$WORK/all.jsonl" FAMOUS_DOCS=40 QA_DOCS=20 QA_COPIES=1 SFT_MIX_EVERY=2 \
  bash "$SRC/scripts/experiments/reversal.sh" data pretrain >"$WORK/revm.log" 2>&1 ||
  fail "reversal.sh (SFT_MIX_EVERY): $(tail -5 "$WORK/revm.log")"
for fam in diffusion ar; do
  /usr/bin/python3 -c "
import json, sys
c = json.load(open(sys.argv[1]))
assert c['sft_mix']['every'] == 2 and c['sft_mix']['train'][0].endswith('sft/train.sft'), c.get('sft_mix')
" "$WORK/revm/pre_$fam/config.json" || fail "reversal.sh SFT_MIX_EVERY: pre_$fam was not trained with sft_mix"
done

# Couplet answers: every question answered with the whole couplet, 20 general questions beside the
# famous ones in pre-training and in the SFT set.
MODEL_SHAPE="64 2 2 160" OUT="$WORK/revc" KEEP="$WORK/keepc" STEPS=2 CKPT=2 SFT_STEPS=2 TEST_PAIRS=2 FAMOUS="$WORK/corpus.txt" POETRY="$WORK/general.txt" \
  GENERAL_CHARS=2000 TEST="$WORK/all.jsonl" FAMOUS_DOCS=40 QA_DOCS=20 QA_COPIES=1 COUPLET=1 EXTRA_QA=20 \
  SFT_GENERAL="$WORK/sft.jsonl" SFT_MAXLEN=96 FAMILIES=diffusion \
  bash "$SRC/scripts/experiments/reversal.sh" data pretrain sft eval >"$WORK/revc.log" 2>&1 ||
  fail "reversal.sh (COUPLET): $(tail -5 "$WORK/revc.log")"
[ "$(grep -c 'start_header_id' "$WORK/revc/mix_train.jsonl" 2>/dev/null)" = 60 ] || fail "reversal.sh COUPLET: expected 40 + 20 questions in the training text"
[ "$(grep -c . "$WORK/revc/sft_set.jsonl" 2>/dev/null)" = 60 ] || fail "reversal.sh COUPLET: the SFT set is not the 40 + 20 questions"
/usr/bin/python3 - "$WORK/revc/sft_set.jsonl" <<'PY' || fail "reversal.sh COUPLET: an answer is not the asked couplet"
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    asked = r["prompt"].split("的")[0]
    a, b = r["response"].split("，")
    forward = r.get("direction", {"next": "forward", "prev": "backward"}.get(r.get("kind"))) == "forward"
    assert (a, b) == ((asked, r["line"]) if forward else (r["line"], asked)), r
PY
[ "$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['items']))" "$WORK/revc/eval_diffusion.json" 2>/dev/null)" = 4 ] ||
  fail "reversal.sh COUPLET: eval_diffusion.json does not hold the 4 test items"

# More pre-training from the final weights (extend), the line probe on every checkpoint, then SFT and
# the test of the extended models.
MODEL_SHAPE="64 2 2 160" OUT="$WORK/revq" KEEP="$WORK/keepq" STEPS=4 CKPT=2 SFT_STEPS=2 TEST_PAIRS=4 FAMOUS="$WORK/corpus.txt" \
  POETRY="$WORK/general.txt" GENERAL_CHARS=2000 TEST="$WORK/all.jsonl" FAMOUS_DOCS=40 QA_DOCS=20 QA_COPIES=2 \
  EXTEND_STEPS=2 bash "$SRC/scripts/experiments/reversal.sh" extend probe >>"$WORK/revq.log" 2>&1 ||
  fail "reversal.sh extend probe: $(tail -5 "$WORK/revq.log")"
OUT="$WORK/revq" KEEP="$WORK/keepq" SFT_STEPS=2 TEST_PAIRS=4 TEST="$WORK/all.jsonl" FAMOUS_DOCS=40 QA_DOCS=20 \
  FROM=ext bash "$SRC/scripts/experiments/reversal.sh" sft eval >>"$WORK/revq.log" 2>&1 ||
  fail "reversal.sh FROM=ext sft eval: $(tail -5 "$WORK/revq.log")"
/usr/bin/python3 - "$WORK/revq/probe.json" "$WORK/revq/eval_ext_diffusion.json" <<'PY' || fail "reversal.sh probe / FROM=ext: $(tail -3 "$WORK/revq.log")"
import json, sys
rows = json.load(open(sys.argv[1]))
names = [r["model"] for r in rows]
assert any(n.endswith("pre_diffusion/final") for n in names) and any("ext_diffusion/" in n for n in names), names
assert any(n.endswith("pre_ar/final") for n in names), names
for r in rows:
    assert r["pairs"] == 4 and 0 <= r["forward"] <= 4, r
    assert (r["backward"] is None) == r["causal"], r
assert len(json.load(open(sys.argv[2]))["items"]) == 8
PY
# Question accuracy against pre-training: the test and 3 trained questions on the starting weights
# and every checkpoint of the extended runs (step 2 = final: one row), one row per step and family.
OUT="$WORK/revq" KEEP="$WORK/keepq" TEST_PAIRS=4 TEST="$WORK/all.jsonl" FAMOUS_DOCS=40 QA_DOCS=20 FROM=ext \
  CURVE_QA=3 STEP_OFFSET=4 bash "$SRC/scripts/experiments/reversal.sh" curve >>"$WORK/revq.log" 2>&1 ||
  fail "reversal.sh curve: $(tail -5 "$WORK/revq.log")"
[ -s "$WORK/revq/curve.png" ] || fail "reversal.sh curve: no curve.png"
/usr/bin/python3 - "$WORK/revq/curve.jsonl" <<'PY' || fail "reversal.sh curve: curve.jsonl is not one row per family and step"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for fam in ("diffusion", "ar"):
    fr = [r for r in rows if r["family"] == fam]
    assert [r["step"] for r in fr] == [4, 6], fr   # step 0 and 2 of the extension, after 4 steps
    for r in fr:
        assert r["test_items"] == 8 and r["trained_items"] == 3, r
        assert r["tokens"] == r["step"] * 64 * 4 and r["passes"] > 0, r
        assert 0 <= r["test_forward"] <= 1 and 0 <= r["test_backward"] <= 1 and 0 <= r["trained"] <= 1, r
PY
# A run that continued this one (--before): its rows come first, one row per step.
(cd "$WORK/revq" && /usr/bin/python3 "$SRC/scripts/experiments/curve_plot.py" --run-dir . --run-name ext \
  --families "diffusion ar" --tokens-per-step 256 --step-offset 6 --before curve.jsonl --out-json curve2.jsonl) \
  >/dev/null || fail "curve_plot.py --before failed"
/usr/bin/python3 -c "
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for fam in ('diffusion', 'ar'):
    assert [r['step'] for r in rows if r['family'] == fam] == [4, 6, 8], rows
" "$WORK/revq/curve2.jsonl" || fail "curve_plot.py --before: not the continued run's rows then this run's"
# Where the answers come from: every one of the 8 items in exactly one class, per direction.
/usr/bin/python3 "$SRC/scripts/experiments/answer_sources.py" --report "$WORK/revq/eval_ext_diffusion.json" \
  --qa "$WORK/revq/qa_pairs.jsonl" --test "$WORK/revq/test_pairs.jsonl" >"$WORK/sources.txt" 2>&1 ||
  fail "answer_sources.py: $(tail -3 "$WORK/sources.txt")"
grep -Eq '^all +.*/ 8 ' "$WORK/sources.txt" && [ "$(grep -Eo '[0-9]+ / 8 ' "$WORK/sources.txt" | head -4 | awk '{s += $1} END {print s}')" = 8 ] ||
  fail "answer_sources.py: the classes of the 8 items do not add up: $(cat "$WORK/sources.txt")"

# Sampling ablations on the mixed-training LLaDA: every configuration, the table and the plot.
GEN=8 LIMIT=2 DOCS="$WORK/abl" bash "$SRC/scripts/experiments/ablations.sh" "$WORK/revq/pre_diffusion/final" \
  "$WORK/revq/qa_pairs.jsonl" "$WORK/abl" >"$WORK/abl.log" 2>&1 || fail "ablations.sh: $(tail -5 "$WORK/abl.log")"
[ -s "$WORK/abl/ablations.png" ] || fail "ablations.sh wrote no plot"
[ "$(grep -c '^| ' "$WORK/abl/ablations.md" 2>/dev/null)" = 30 ] || fail "ablations.md: expected a header and 29 configurations"
grep -q "Pareto front" "$WORK/abl/ablations.md" 2>/dev/null || fail "ablations.md: no Pareto front"

# Scaling: two sizes, both families, the couplet task from the generated poems.
OUT="$WORK/sc" DOCS="$WORK/sc" SIZES="s m" STEPS=4 EVAL_WINDOWS=2 MC_ITEMS=3 MC_NUM=2 POETRY="$WORK/corpus.txt" \
  STRIDE=1 HELDOUT_EVERY=10 bash "$SRC/scripts/experiments/scaling.sh" data train eval plot >"$WORK/sc.log" 2>&1 ||
  fail "scaling.sh: $(tail -5 "$WORK/sc.log")"
[ -s "$WORK/sc/scaling.png" ] || fail "scaling.sh wrote no plot"
[ "$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['rows']))" "$WORK/sc/scaling.json" 2>/dev/null)" = 4 ] ||
  fail "scaling.json: expected 2 sizes x 2 families"
grep -q "the compute" "$WORK/sc/scaling.md" 2>/dev/null || fail "scaling.md: no compute factor"
# The plot against an earlier run (here: itself), as the longer-budget study draws the short one.
cp "$WORK/sc/scaling.json" "$WORK/sc_then.json"
OUT="$WORK/sc" DOCS="$WORK/sc2" SIZES="s m" COMPARE="$WORK/sc_then.json" COMPARE_LABEL="then" \
  bash "$SRC/scripts/experiments/scaling.sh" plot >"$WORK/sc2.log" 2>&1 || fail "scaling.sh plot --compare: $(tail -5 "$WORK/sc2.log")"
[ "$(grep -c '| +0.000 |' "$WORK/sc2/scaling.md" 2>/dev/null)" = 4 ] || fail "scaling.md --compare: expected 4 unchanged rows"

# bf16 against f32 (and the f32 seed control) on the scaling study's tiny data: three runs, one plot.
STEPS=4 BATCH=2 SEQ=32 DATA="$WORK/sc" PNG="$WORK/bf.png" JSON="$WORK/bf.json" \
  bash "$SRC/bench/bf16_vs_f32.sh" "$WORK/bf" >"$WORK/bf.log" 2>&1 || fail "bf16_vs_f32.sh: $(tail -5 "$WORK/bf.log")"
[ -s "$WORK/bf.png" ] || fail "bf16_vs_f32.sh wrote no plot"
/usr/bin/python3 - "$WORK/bf.json" <<'PY' || fail "bf16_vs_f32.sh: summary incomplete: $(head -c 300 "$WORK/bf.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["steps"] == 4 and len(d["f32_curve"]) == len(d["bf16_curve"]) == len(d["f32_control_seed_curve"]) == 4, d
assert d["f32_curve"] != d["f32_control_seed_curve"], "the control seed changed nothing"
PY
# The same with the next-token objective on a causal model of the same shape, no control run.
OBJECTIVE=ar CONTROL_SEED=0 STEPS=4 BATCH=2 SEQ=32 DATA="$WORK/sc" PNG="$WORK/bf_ar.png" JSON="$WORK/bf_ar.json" \
  bash "$SRC/bench/bf16_vs_f32.sh" "$WORK/bf_ar" >"$WORK/bf_ar.log" 2>&1 || fail "bf16_vs_f32.sh (ar): $(tail -5 "$WORK/bf_ar.log")"
/usr/bin/python3 - "$WORK/bf_ar.json" "$WORK/bf_ar/init/config.json" <<'PY' || fail "bf16_vs_f32.sh (ar): not a causal run: $(head -c 300 "$WORK/bf_ar.json")"
import json, sys
d, c = (json.load(open(p)) for p in sys.argv[1:])
assert d["objective"] == "ar" and c.get("causal") is True and len(d["bf16_curve"]) == 4, (d, c)
PY

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
