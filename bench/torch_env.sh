# Sourced by the benchmark scripts: TORCH_ENV, the `env` arguments that make Debian's torch (with
# OpenBLAS as libblas.so.3) a fair baseline on this machine.
# - The machine may set OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (they hold OpenBLAS to AVX2): unset.
# - OpenBLAS 0.3.21 (Debian 12) does not know CPUs newer than itself (seen: an Intel Xeon of CPU
#   model 207, i.e. Emerald Rapids) and then falls back to its generic "Prescott" SSE3 kernels:
#   torch's 100M forward took 945 ms there instead of 293-303 ms with the AVX-512 kernels. So when
#   OpenBLAS reports Prescott on an AVX-512 CPU, it is pointed at its newest matching kernels.
# - OMP_WAIT_POLICY=PASSIVE: waiting OpenMP threads sleep (torch's and OpenBLAS's pools share 2 cores).
# Prints what it chose on stderr.
torch_env_detect() {
  local py=${1:-/usr/bin/python3} core
  core=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_VERBOSE=2 "$py" -c \
    'import torch; torch.ones(64, 64) @ torch.ones(64, 64)' 2>&1 | sed -n 's/^Core: //p' | head -1)
  TORCH_ENV=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_WAIT_POLICY=PASSIVE)
  if [[ "$core" == Prescott ]] && grep -qw avx512f /proc/cpuinfo; then
    local pick=SkylakeX
    grep -qw avx512_bf16 /proc/cpuinfo && pick=Cooperlake
    TORCH_ENV+=(OPENBLAS_CORETYPE=$pick)
    echo "torch_env: OpenBLAS does not know this CPU (it chose Prescott); using its $pick kernels" >&2
  else
    echo "torch_env: OpenBLAS core ${core:-unknown}" >&2
  fi
}
