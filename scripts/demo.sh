#!/usr/bin/env bash
# The main job: install dependencies, build the release preset, and generate with the default model
# shipped in models/ (a small character-level LLaDA trained on Chinese poetry, then fine-tuned on poem
# questions; see docs/training.md). Extra arguments are passed to `llada generate`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install_deps.sh --no-npm
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)" --target llada_cli
MODEL=${MODEL:-models/llada-poetry}
PROMPT=${PROMPT:-床前明月光的下一句是什么？ 直接输出句子即可。}
set -x
build/release/llada generate --model "$MODEL" --chat --prompt "$PROMPT" \
  --gen-length 28 --steps 28 --block-length 28 --logits-eos-inf --stats "$@"
