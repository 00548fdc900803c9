#!/usr/bin/env bash
# Sampling ablations (docs/experiments.md section 4, issue "paper findings" item 3): one trained
# LLaDA model, one question set, the sampler varied one axis at a time with `llada eval` (chat
# template, temperature 0, gen_length GEN):
#   steps          GEN/8, GEN/4, GEN/2, GEN (low-confidence remasking, one block)
#   remasking      low_confidence, random, margin, entropy (steps = GEN)
#   block length   GEN/4, GEN/2, GEN (steps = GEN)
#   fast decoders  cache none / prefix / dual x confidence threshold 0.7 / 0.8 / 0.9 / 0.95, and the
#                  factor rule (blocks of GEN/2): accuracy against model calls and tokens/s
# then ablations_plot.py writes the table and the plot (Pareto front of the fast decoders).
#
# usage: scripts/experiments/ablations.sh MODEL TASK [OUT]   (OUT default out/experiments/ablations)
# env:   LLADA, GEN (16), LIMIT (200 items), THREADS (2), DOCS (where the table and PNG go;
#        default docs/experiments), NAME (ablations: the files' stem)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
MODEL=${1:?usage: ablations.sh MODEL TASK [OUT]}
TASK=${2:?usage: ablations.sh MODEL TASK [OUT]}
OUT=${3:-$ROOT/out/experiments/ablations}
GEN=${GEN:-16}
LIMIT=${LIMIT:-200}
THREADS=${THREADS:-2}
DOCS=${DOCS:-$ROOT/docs/experiments}
NAME=${NAME:-ablations}
mkdir -p "$OUT" "$DOCS"

run() {  # run TAG ARGS...: one configuration (skipped when its report exists)
  local tag=$1
  shift
  [[ -f "$OUT/$tag.json" ]] && return 0
  "$LLADA" eval --model "$MODEL" --task "$TASK" --limit "$LIMIT" --chat --gen-length "$GEN" --threads "$THREADS" \
    --report "$OUT/$tag.json.tmp" "$@" >/dev/null 2>"$OUT/$tag.err" || { cat "$OUT/$tag.err" >&2; exit 1; }
  mv "$OUT/$tag.json.tmp" "$OUT/$tag.json"
}

for div in 8 4 2 1; do
  run "steps_$(( GEN / div ))" --steps $(( GEN / div )) --block-length "$GEN"
done
for rule in low_confidence random margin entropy; do
  run "remasking_$rule" --steps "$GEN" --block-length "$GEN" --remasking "$rule"
done
for div in 4 2 1; do
  run "block_$(( GEN / div ))" --steps "$GEN" --block-length $(( GEN / div ))
done
half=$(( GEN / 2 ))
for cache in none prefix dual; do
  for th in 0.7 0.8 0.9 0.95; do
    run "fast_${cache}_t$th" --block-length "$half" --cache "$cache" --threshold "$th"
  done
  run "fast_${cache}_factor1" --block-length "$half" --cache "$cache" --factor 1.0
  run "fast_${cache}_base" --block-length "$half" --steps "$GEN" --cache "$cache"
done
"$PY" "$ROOT/scripts/experiments/ablations_plot.py" --dir "$OUT" --gen "$GEN" --model "$MODEL" --task "$TASK" \
  --out-md "$DOCS/$NAME.md" --out-png "$DOCS/$NAME.png"
