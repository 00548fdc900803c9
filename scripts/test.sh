#!/usr/bin/env bash
# The test command (README, CI): configure, build and run every test with the release preset.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset release >/dev/null
cmake --build --preset release -j"$(nproc)"
ctest --preset release -j"$(nproc)"
