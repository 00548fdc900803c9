#!/usr/bin/env bash
# One entry point for all data: downloads the raw public sources into data/cache/ and builds
# data/pretrain, data/sft and data/eval (see docs/data.md). Idempotent: each step skips outputs that
# already exist; pass --force to rebuild the derived files (downloads are always reused).
# Needs: npm, apt-get (download only, no root needed to unpack), opencc, /usr/bin/python3.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FORCE=()
[[ "${1:-}" == "--force" ]] && FORCE=(--force)
command -v opencc >/dev/null || { echo "fetch_all: opencc not found (apt-get install opencc)" >&2; exit 1; }
bash "$HERE/fetch_raw.sh"
/usr/bin/python3 "$HERE/prepare_poetry.py" "${FORCE[@]}"
/usr/bin/python3 "$HERE/prepare_english.py" "${FORCE[@]}"
/usr/bin/python3 "$HERE/make_arithmetic.py" "${FORCE[@]}"
ROOT="$(cd "$HERE/../.." && pwd)"
echo "[fetch_all] outputs:"
( cd "${LLADA_DATA:-$ROOT/data}" && for f in pretrain/* sft/* eval/*; do
    printf '  %-28s %10s lines %8s\n' "$f" "$(wc -l < "$f")" "$(du -h "$f" | cut -f1)"; done )
