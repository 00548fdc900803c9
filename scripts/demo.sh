#!/usr/bin/env bash
# The main job: install dependencies, build the release preset, and ask the two models shipped in
# models/ the reversal experiment's questions (docs/experiments.md section 2): LLaDA
# (models/llada-poetry) for the line after 床前明月光 and the line before 疑是地上霜, and its
# autoregressive twin (models/ar-poetry) the same backward question, with the experiment's protocol
# (chat template, temperature 0, steps = gen_length = block_length = 16; the AR model greedy, left to
# right). PROMPT="..." asks LLaDA that one question instead; extra arguments go to `llada generate`
# (e.g. --show draws the canvas as it unmasks).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${DEMO_SKIP_BUILD:-0} != 1 ]]; then  # (the test of this script runs it on a built tree)
  bash scripts/install_deps.sh --no-npm
  cmake --preset release >/dev/null
  cmake --build --preset release -j"$(nproc)" --target llada_cli
fi
LLADA=${LLADA:-build/release/llada}
MODEL=${MODEL:-models/llada-poetry}
AR_MODEL=${AR_MODEL:-models/ar-poetry}
GEN=16
ask_llada() {  # ask_llada QUESTION [generate flags...]
  local q=$1
  shift
  "$LLADA" generate --model "$MODEL" --chat --prompt "$q" \
    --gen-length "$GEN" --steps "$GEN" --block-length "$GEN" --stats "$@"
}
if [[ -n ${PROMPT:-} ]]; then
  ask_llada "$PROMPT" "$@"
  exit 0
fi
NEXT_Q="床前明月光的下一句是什么？ 直接输出句子即可。"
PREV_Q="疑是地上霜的上一句是什么？ 直接输出句子即可。"
echo "== LLaDA ($MODEL): $NEXT_Q"
ask_llada "$NEXT_Q" "$@"
echo "== LLaDA ($MODEL): $PREV_Q"
ask_llada "$PREV_Q" "$@"
echo "== AR twin ($AR_MODEL), left to right: $PREV_Q"
"$LLADA" generate --model "$AR_MODEL" --chat --prompt "$PREV_Q" --gen-length "$GEN" --stats
echo "(the poem: 床前明月光，疑是地上霜。举头望明月，低头思故乡。 What each model answers, and why: README.md)"
