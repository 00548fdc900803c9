#!/usr/bin/env bash
# Installs every build, test and reference dependency from Debian (and the npm reference tools).
# Used by .ci/run and scripts/demo.sh; safe to run again.
# chromium (and a CJK font for its screenshots): the server's web page is tested in a real browser.
# ocl-icd-opencl-dev: oneDNN's CMake package config (dnnl-config.cmake) calls find_package(OpenCL) and
# fails without it; libdnnl-dev only recommends it, and we install without recommends.
# libopenblas0-pthread: python3-torch only recommends an optimised BLAS; without it torch falls back to
# the reference libblas3 (5 GFLOP/s on one core here against about 200 with OpenBLAS on two), which
# made the reference trainings and the torch baselines 30x slower.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
pkgs=(build-essential cmake g++ pkg-config git ca-certificates
      libdnnl-dev ocl-icd-opencl-dev nlohmann-json3-dev libcli11-dev libpcre2-dev
      libgtest-dev libgmock-dev googletest libbenchmark-dev
      python3 python3-torch python3-numpy python3-matplotlib opencc
      libopenblas0-pthread libcpp-httplib-dev libedit-dev chromium fonts-wqy-microhei
      libopenmpi-dev openmpi-bin)
# Node.js may come from another source on the machine (its own npm): Debian's npm conflicts with it,
# so install Debian's only where node/npm are missing.
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
$SUDO apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
# Reference tools from npm (tokenizer reference implementation), pinned by tests/js/package-lock.json.
if [ "${1:-}" != "--no-npm" ] && [ -f tests/js/package.json ]; then
  (cd tests/js && npm ci --no-audit --no-fund --loglevel=error)
fi
