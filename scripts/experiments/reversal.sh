#!/usr/bin/env bash
# The reversal-curse experiment (docs/experiments.md, issue "paper findings" item 1), stage by
# stage; each stage resumes where a killed run stopped, so run the same command again.
#
#   data      the pre-training mix (reversal_data.py: every famous collection x FAMOUS_COPIES beside
#             a general poetry slice), shards with the shipped tokenizer, the starting models
#   pretrain  LLaDA (diffusion) and its AR twin (causal), same shape, data, order, seed, batch and
#             token budget; constant learning rate, then a linear decay to lr/40 over the last 10%
#   keep      copy each pre-training run's newest checkpoint (with its config and metrics) to
#             experiments/checkpoints/reversal/ for committing; `pretrain` restores from there when
#             OUT has no run yet, so a later session (a fresh machine) resumes the run exactly
#   extend    more pre-training on the same mix: ext_FAMILY starts from pre_FAMILY/final (or KEEP's
#             copy) and trains EXTEND_STEPS more at the constant rate (a checkpoint every CKPT steps,
#             all kept), then decays over its last 10%; resumes like pretrain
#   probe     line_probe.py on pre_FAMILY/final and every ext_FAMILY checkpoint: the adjacent line of a
#             test pair in the poem's own layout, both directions (probe.jsonl, one row per model)
#   sft       both pre-trained models fine-tuned on the question format with the non-famous poems'
#             SFT set (SFT_DATA), same steps, batch and learning rate for both
#   eval      the paper's protocol on the famous-pair test (TEST_PAIRS pairs, both directions,
#             evenly spaced over the test file): chat template, temperature 0, steps = gen_length
#             = block_length = GEN (fits the longest answer), score = the expected line appears
#   curve     the same test (and CURVE_QA of the trained questions, when the mix holds questions) on
#             every checkpoint of FROM_FAMILY before SFT, each evaluated once (curve_FAMILY/*.json):
#             accuracy against passes over the mix (curve.jsonl, curve.txt, curve.png; STEP_OFFSET:
#             steps the starting weights already had on this mix, CURVE_BEFORE: the curve.jsonl of
#             the run those weights came from, drawn with this one)
#
# usage: scripts/experiments/reversal.sh STAGE...   (e.g. `data pretrain`, then `sft eval`)
# env:   LLADA, OUT, STEPS (30000), FAMILIES ("diffusion ar"), PRECISION (bf16), LR_DIFF (2e-3),
#        SFT_MIX_EVERY (0; K: every K-th pre-training step is an SFT batch of SFT_BATCH questions from
#        the SFT set, the prompt never masked: llada train's sft_mix), LR_AR (2e-3), DECAY_FRAC (0.9: the rate holds for that fraction of the steps, then decays
#        linearly to lr/40), CKPT (1000), FAMOUS_COPIES (3), GENERAL_CHARS (180000), BATCH (32), SEQ (128),
#        SFT_STEPS (3000), SFT_LR (5e-4), SFT_BATCH (64), TEST_PAIRS (500), GEN (16),
#        FAMOUS_DOCS (0: every famous document; N: the first N, and the test keeps their pairs),
#        KEEP (where `keep` puts checkpoints), FAMOUS, POETRY, SFT_DATA, TEST (the data files),
#        EXTEND_STEPS (10000), PROBE_PAD (48: masks for the rest of the poem), PROBE_STEPS (all kept; e.g. "2000 4000"; "" for none), FROM (pre; ext: sft and eval use the extended models, sft_ext_*),
#        COUPLET (0; 1: every answer is the whole couplet, couplet_answers.py), EXTRA_QA (0; N: N
#        questions about general poems from SFT_GENERAL, couplet answers, once each in pre-training
#        and in the SFT set), SFT_MAXLEN (64), INIT_DIFFUSION / INIT_AR (where `extend` starts:
#        pre_FAMILY/final here or in KEEP unless given),
#        MODEL_SHAPE ("D_MODEL N_LAYERS N_HEADS MLP_HIDDEN" for both families; default the shipped
#        model's shape; set it for the data stage, which writes the starting models),
#        PAIR_DOCS (0; C: every adjacent line pair of the kept famous documents also as a document of
#        its own, C times, shuffled: reversal_data.py --pair-docs; needs FAMOUS_DOCS), PAIR_SOURCE
#        (test: the test file's pairs of those documents; text: every adjacent pair of their text),
#        QA_DOCS (0; Q: mixed training, the last Q of the FAMOUS_DOCS are asked about in pre-training,
#        QA_COPIES (4) times each, and are the SFT set; the test keeps the other documents' pairs)
# small: the session-sized variant (120 Tang poems x 8 beside 40 k general characters):
#        OUT=out/experiments/reversal_small KEEP=experiments/checkpoints/reversal_small FAMOUS_DOCS=120
#        FAMOUS_COPIES=8 GENERAL_CHARS=40000 STEPS=3000 SFT_STEPS=400 scripts/experiments/reversal.sh ...
# mixed: the small variant with QA_DOCS=60 (questions about poems 61-120 in pre-training and SFT,
#        the test on poems 1-60): docs/experiments.md section 2c
# tiny:  OUT=/tmp/rv STEPS=4 CKPT=2 SFT_STEPS=2 TEST_PAIRS=3 scripts/experiments/reversal.sh data pretrain sft eval
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
OUT=${OUT:-$ROOT/out/experiments/reversal}
STEPS=${STEPS:-30000}
FAMILIES=${FAMILIES:-diffusion ar}
PRECISION=${PRECISION:-bf16}
LR_DIFF=${LR_DIFF:-2e-3}
LR_AR=${LR_AR:-2e-3}
CKPT=${CKPT:-1000}
BATCH=${BATCH:-32}
SEQ=${SEQ:-128}
FAMOUS_COPIES=${FAMOUS_COPIES:-3}
GENERAL_CHARS=${GENERAL_CHARS:-180000}
SFT_STEPS=${SFT_STEPS:-3000}
SFT_LR=${SFT_LR:-5e-4}
SFT_BATCH=${SFT_BATCH:-64}
TEST_PAIRS=${TEST_PAIRS:-500}
EXTEND_STEPS=${EXTEND_STEPS:-10000}
PROBE_PAD=${PROBE_PAD:-48}
FROM=${FROM:-pre}
SFT_NAME=sft
[[ $FROM == pre ]] || SFT_NAME=sft_$FROM
GEN=${GEN:-16}
FAMOUS=${FAMOUS:-$ROOT/data/pretrain/famous.txt}
POETRY=${POETRY:-$ROOT/data/pretrain/poetry.txt}
SFT_DATA=${SFT_DATA:-$ROOT/data/sft/poems_train.jsonl}
TEST=${TEST:-$ROOT/data/eval/reversal.jsonl}
FAMOUS_DOCS=${FAMOUS_DOCS:-0}
QA_DOCS=${QA_DOCS:-0}
QA_COPIES=${QA_COPIES:-4}
COUPLET=${COUPLET:-0}
EXTRA_QA=${EXTRA_QA:-0}
PAIR_DOCS=${PAIR_DOCS:-0}
PAIR_SOURCE=${PAIR_SOURCE:-test}
SFT_GENERAL=${SFT_GENERAL:-$ROOT/data/sft/poems_train.jsonl}
SFT_MAXLEN=${SFT_MAXLEN:-64}
CURVE_QA=${CURVE_QA:-300}
DECAY_FRAC=${DECAY_FRAC:-0.9}
SFT_MIX_EVERY=${SFT_MIX_EVERY:-0}
STEP_OFFSET=${STEP_OFFSET:-0}
(( QA_DOCS > 0 )) && SFT_DATA=qa_pairs.jsonl  # written by the data stage in OUT, where stages run
(( EXTRA_QA > 0 )) && SFT_DATA=sft_set.jsonl
MIX=mix_train.txt
(( QA_DOCS > 0 )) && MIX=mix_train.jsonl
KEEP=${KEEP:-$ROOT/experiments/checkpoints/reversal}
[[ $KEEP == /* ]] || KEEP=$ROOT/$KEEP
[[ $OUT == /* ]] || OUT=$ROOT/$OUT
mkdir -p "$OUT"
cd "$OUT"

stage_data() {
  local extra=()
  if (( EXTRA_QA > 0 )); then
    "$PY" "$ROOT/scripts/experiments/couplet_answers.py" --text "$POETRY" --in "$SFT_GENERAL" \
      --out extra_qa.jsonl --sample "$EXTRA_QA" --drop-missing
    extra=(--extra-qa extra_qa.jsonl)
  fi
  "$PY" "$ROOT/scripts/experiments/reversal_data.py" --famous "$FAMOUS" \
    --poetry "$POETRY" --out-train "$MIX" --out-heldout mix_heldout.txt \
    --famous-copies "$FAMOUS_COPIES" --general-chars "$GENERAL_CHARS" --famous-docs "$FAMOUS_DOCS" \
    $( (( FAMOUS_DOCS > 0 )) && echo --test "$TEST" --out-test test_all.jsonl) \
    $( (( QA_DOCS > 0 )) && echo --qa-docs "$QA_DOCS" --qa-copies "$QA_COPIES" --out-qa qa_pairs.jsonl) \
    $( (( COUPLET > 0 )) && echo --couplet-answers) \
    $( (( PAIR_DOCS > 0 )) && echo --pair-docs "$PAIR_DOCS" --pair-source "$PAIR_SOURCE") "${extra[@]}"
  (( FAMOUS_DOCS > 0 )) || cp "$TEST" test_all.jsonl
  # the SFT set: the question poems' pairs, and the general questions beside them
  (( EXTRA_QA > 0 )) && cat qa_pairs.jsonl extra_qa.jsonl > sft_set.jsonl
  rm -rf shards shards_heldout
  "$LLADA" prepare --tokenizer "$TOK" --out shards "$MIX"
  "$LLADA" prepare --tokenizer "$TOK" --out shards_heldout mix_heldout.txt
  starting_models
}

# pretrain_config OBJECTIVE LR [INIT OUT STEPS KEEP]: the run's configuration (out: pre_OBJECTIVE).
pretrain_config() {
  local init=${3:-init_$1} out=${4:-pre_$1} STEPS=${5:-$STEPS} keep=${6:-3}
  local log=$(( STEPS / 100 > 0 ? (STEPS / 100 < 50 ? STEPS / 100 : 50) : 1 ))
  "$PY" "$ROOT/scripts/experiments/train_config.py" --objective "$1" --init "$init" --out "$out" \
    --steps "$STEPS" --lr "$2" --schedule wsd --decay-frac "$DECAY_FRAC" --warmup-frac 0.125 --warmup-max 200 \
    --seq-len "$SEQ" --batch "$BATCH" --precision "$PRECISION" --checkpoint-every "$CKPT" --keep "$keep" \
    --eval-every $(( CKPT / 2 > 0 ? CKPT / 2 : 1 )) --log-every "$log" \
    --train shards/train.tok --heldout shards_heldout/train.tok \
    $( (( SFT_MIX_EVERY > 0 )) && echo --sft-mix sft/train.sft --sft-mix-every "$SFT_MIX_EVERY" --sft-mix-batch "$SFT_BATCH")
}

stage_keep() {
  local fam step
  for fam in $FAMILIES; do
    [[ -f pre_$fam/latest ]] || continue
    step=$(cat "pre_$fam/latest")
    rm -rf "$KEEP/pre_$fam.tmp"
    mkdir -p "$KEEP/pre_$fam.tmp"
    cp -r "pre_$fam/$step" "pre_$fam/config.json" "pre_$fam/metrics.jsonl" "pre_$fam/latest" "$KEEP/pre_$fam.tmp/"
    rm -rf "$KEEP/pre_$fam"
    mv "$KEEP/pre_$fam.tmp" "$KEEP/pre_$fam"
    echo "reversal.sh: kept pre_$fam/$step in $KEEP/pre_$fam"
  done
}

stage_pretrain() {
  local fam lr
  for fam in $FAMILIES; do
    if [[ ! -e pre_$fam && -f $KEEP/pre_$fam/latest ]]; then
      cp -r "$KEEP/pre_$fam" "pre_$fam"
      echo "reversal.sh: restored pre_$fam from $KEEP/pre_$fam ($(cat "pre_$fam/latest"))"
    fi
    lr=$LR_DIFF
    [[ $fam == ar ]] && lr=$LR_AR
    (( SFT_MIX_EVERY > 0 )) && prepare_sft_set
    pretrain_config "$fam" "$lr" > "pre_$fam.json"
    if [[ -f "pre_$fam/latest" ]]; then "$LLADA" train --config "pre_$fam.json" --resume --no-progress
    else "$LLADA" train --config "pre_$fam.json" --no-progress; fi
  done
}

# extend_init FAMILY: the weights `extend` starts from
extend_init() {
  local init=pre_$1/final
  [[ -d $init ]] || init=$KEEP/pre_$1/final
  [[ $1 == diffusion && -n ${INIT_DIFFUSION:-} ]] && init=$INIT_DIFFUSION
  [[ $1 == ar && -n ${INIT_AR:-} ]] && init=$INIT_AR
  echo "$init"
}

stage_extend() {
  local fam lr init
  for fam in $FAMILIES; do
    init=$(extend_init "$fam")
    [[ -d $init ]] || { echo "reversal.sh: pre_$fam/final missing here and in $KEEP (run pretrain)" >&2; exit 1; }
    lr=$LR_DIFF
    [[ $fam == ar ]] && lr=$LR_AR
    (( SFT_MIX_EVERY > 0 )) && prepare_sft_set
    pretrain_config "$fam" "$lr" "$init" "ext_$fam" "$EXTEND_STEPS" 1000 > "ext_$fam.json"
    if [[ -f "ext_$fam/latest" ]]; then "$LLADA" train --config "ext_$fam.json" --resume --no-progress
    else "$LLADA" train --config "ext_$fam.json" --no-progress; fi
  done
}

stage_probe() {
  local models=() fam d
  for fam in $FAMILIES; do
    d=pre_$fam/final
    [[ -f $d/model.safetensors ]] || d=$KEEP/pre_$fam/final
    [[ -f $d/model.safetensors ]] && models+=(--model "$d")
    local steps=${PROBE_STEPS-all}
    [[ $steps == all ]] && steps=$(ls -d ext_$fam/step-* 2>/dev/null | sed 's/.*step-//' | sort -n | tr '\n' ' ')
    for d in $(for n in $steps; do echo ext_$fam/step-$n; done) ext_$fam/final; do
      [[ -f $d/model.safetensors ]] && models+=(--model "$d")
    done
  done
  (( ${#models[@]} )) || { echo "reversal.sh: no model to probe" >&2; exit 1; }
  "$PY" "$ROOT/scripts/experiments/line_probe.py" "${models[@]}" --pairs test_pairs.jsonl \
    --famous "$FAMOUS" --pad "$PROBE_PAD" --json probe.json | tee probe.txt
}

# the SFT set's sample files (sft/train.sft, sft/heldout.sft), for the sft stage and SFT_MIX
prepare_sft_set() {
  [[ -f sft/train.sft ]] || { rm -rf sft; "$LLADA" prepare --sft --tokenizer "$TOK" --out sft --heldout-fraction 0.01 --max-len "$SFT_MAXLEN" "$SFT_DATA"; }
}

stage_sft() {
  prepare_sft_set
  local fam  # (a tiny SFT file may hold out nothing: then no --heldout)
  for fam in $FAMILIES; do
    [[ -d ${FROM}_$fam/final ]] || { echo "reversal.sh: ${FROM}_$fam/final missing (run the pretrain or extend stage)" >&2; exit 1; }
    local every=$(( SFT_STEPS / 4 > 0 ? SFT_STEPS / 4 : 1 ))
    "$PY" "$ROOT/scripts/experiments/train_config.py" --objective sft --init "${FROM}_$fam/final" \
      --out "${SFT_NAME}_$fam" --steps "$SFT_STEPS" --lr "$SFT_LR" --schedule cosine --min-lr 0 \
      --warmup $(( SFT_STEPS / 20 > 0 ? SFT_STEPS / 20 : 1 )) --seq-len "$SFT_MAXLEN" --batch "$SFT_BATCH" \
      --precision "$PRECISION" --seed 2 --checkpoint-every "$every" --eval-every "$every" --log-every 50 \
      --save-dtype bf16 --train sft/train.sft $( [[ -f sft/heldout.sft ]] && echo --heldout sft/heldout.sft) \
      > "${SFT_NAME}_$fam.json"
    if [[ -f "${SFT_NAME}_$fam/latest" ]]; then "$LLADA" train --config "${SFT_NAME}_$fam.json" --resume --no-progress
    else "$LLADA" train --config "${SFT_NAME}_$fam.json" --no-progress; fi
  done
}

# TEST_PAIRS (forward, backward) pairs evenly spaced over the test file (pairs are adjacent lines).
# (test_all.jsonl: the pairs of the pre-trained famous documents, written by the data stage)
make_test_pairs() {
  "$PY" - test_all.jsonl "$TEST_PAIRS" > test_pairs.jsonl <<'PYEOF'
import sys
lines = [l for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
pairs = len(lines) // 2
n = min(int(sys.argv[2]), pairs)
for k in range(n):
    i = 2 * (k * pairs // n)
    sys.stdout.write(lines[i] + lines[i + 1])
PYEOF
}

stage_eval() {
  make_test_pairs
  local fam
  for fam in $FAMILIES; do
    local sampler=(--steps "$GEN" --block-length "$GEN")  # the AR model decodes left to right
    [[ $fam == ar ]] && sampler=()
    local tag=$fam
    [[ $FROM == pre ]] || tag=${FROM}_$fam
    "$LLADA" eval --model "${SFT_NAME}_$fam/final" --task test_pairs.jsonl --chat --gen-length "$GEN" \
      "${sampler[@]}" --batch-size 8 --threads 2 --report "eval_$tag.json" | tee "eval_$tag.txt"
  done
}

stage_curve() {
  make_test_pairs
  local tasks=(test_pairs.jsonl)
  if [[ -f qa_pairs.jsonl ]]; then  # every ninth trained question, forward and backward alike
    [[ -f qa_sample.jsonl ]] || awk 'NR % 9 == 1' qa_pairs.jsonl | head -n "$CURVE_QA" > qa_sample.jsonl
    tasks+=(qa_sample.jsonl)
  fi
  local fam d tag
  for fam in $FAMILIES; do
    local sampler=(--steps "$GEN" --block-length "$GEN")
    [[ $fam == ar ]] && sampler=()
    mkdir -p "curve_$fam"
    local start=init_$fam  # step 0: the weights the run started from
    [[ $FROM == ext ]] && start=$(extend_init "$fam")
    for d in "$start" $(ls -d "${FROM}_$fam"/step-* 2>/dev/null | grep -E "/step-[0-9]+$" | sort -t- -k2 -n) "${FROM}_$fam/final"; do
      [[ -f $d/model.safetensors ]] || continue
      tag=$(basename "$d")
      [[ $d == "$start" ]] && tag=step-0
      # the final weights are the last checkpoint's when the run saved one at its last step
      [[ $tag == final && -f ${FROM}_$fam/step-$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["steps"])' "${FROM}_$fam/config.json")/model.safetensors ]] && continue
      [[ -f curve_$fam/$tag.json ]] && continue  # evaluated by an earlier call
      "$LLADA" eval --model "$d" --task "${tasks[@]}" --chat --gen-length "$GEN" "${sampler[@]}" \
        --batch-size 8 --threads 2 --report "curve_$fam/$tag.json" > /dev/null
      echo "reversal.sh: curve: evaluated $d"
    done
  done
  "$PY" "$ROOT/scripts/experiments/curve_plot.py" --run-dir . --run-name "$FROM" --families "$FAMILIES" \
    --tokens-per-step $(( BATCH * SEQ )) --step-offset "$STEP_OFFSET" \
    ${CURVE_BEFORE:+--before "$CURVE_BEFORE"} --out-json curve.jsonl --out-png curve.png | tee curve.txt
}

for stage in "$@"; do
  case $stage in
    data) stage_data ;;
    pretrain) stage_pretrain ;;
    keep) stage_keep ;;
    sft) stage_sft ;;
    eval) stage_eval ;;
    extend) stage_extend ;;
    curve) stage_curve ;;
    probe) stage_probe ;;
    *) echo "reversal.sh: unknown stage '$stage' (data, pretrain, keep, extend, probe, sft, eval, curve)" >&2; exit 2 ;;
  esac
done
