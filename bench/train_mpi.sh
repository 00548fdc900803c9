#!/usr/bin/env bash
# Data-parallel training speed (issue "MPI"): the ~25M model of bench/train_bench.sh at sequence
# 512, one global batch of BATCH x ACCUM sequences per step, trained three ways on this machine:
#   1 process x 1 thread, 1 process x THREADS threads, mpirun -np 2 x THREADS/2 threads.
# Reports tokens/s (steps after the first WARMUP), the seconds per step in the ranks' gradient sum
# (metrics "comm_s") and its share, the all-reduce bandwidth it implies, and a paper estimate of the
# efficiency at 8 and 64 machines (no overlap of communication with the backward).
#
#   bench/train_mpi.sh [LLADA_BINARY] [OUT_DIR]
#   env: THREADS (2), SEQ (512), BATCH (4), ACCUM (2), STEPS (6), WARMUP (2), PRECISION (bf16),
#        NET_GBPS (10: the network of the estimate, Gbit/s per machine)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LLADA="${1:-$ROOT/build/release/llada}"
OUT="${2:-/tmp/llada_train_mpi}"
THREADS="${THREADS:-2}"; SEQ="${SEQ:-512}"; BATCH="${BATCH:-4}"; ACCUM="${ACCUM:-2}"; STEPS="${STEPS:-6}"
WARMUP="${WARMUP:-2}"; PRECISION="${PRECISION:-bf16}"; NET_GBPS="${NET_GBPS:-10}"
PY=/usr/bin/python3
export OMP_WAIT_POLICY=PASSIVE OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
[[ -x "$LLADA" ]] || { echo "train_mpi: $LLADA is not an executable" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "train_mpi: mpirun missing (apt install openmpi-bin)" >&2; exit 1; }
mkdir -p "$OUT"
cd "$OUT"

if [[ ! -f data/train.tok ]]; then
  "$PY" - <<'PYEOF'
import random
random.seed(1)
chars = [chr(0x4E00 + i) for i in range(3000)]
with open("text.txt", "w", encoding="utf-8") as f:
    for _ in range(3000):
        f.write("".join(random.choice(chars) for _ in range(200)) + "\n\n")
PYEOF
  "$LLADA" prepare --tokenizer "$ROOT/models/llada-poetry" --out data --heldout-fraction 0.01 text.txt >&2
fi
"$PY" - "$ROOT/models/llada-poetry/config.json" "$SEQ" "$BATCH" "$ACCUM" "$STEPS" "$PRECISION" <<'PYEOF'
import json, sys
m = json.load(open(sys.argv[1]))
seq, batch, accum, steps, precision = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
m.update(d_model=512, n_layers=8, n_heads=8, n_kv_heads=8, mlp_hidden_size=1152, max_sequence_length=seq)
for k in ("architectures", "auto_map"):
    m.pop(k, None)
json.dump({"model": {"config": m}, "objective": "diffusion", "data": {"train": ["data/train.tok"], "heldout": []},
           "seq_len": seq, "batch_size": batch, "grad_accum": accum, "steps": steps, "precision": precision,
           "checkpoint_every": 0, "eval_every": 0, "log_every": 1, "save_dtype": "bf16", "seed": 1},
          open("bench.json", "w"))
PYEOF

run() {  # name threads ranks
  local name=$1 threads=$2 ranks=$3
  rm -rf "run_$name"
  local t0; t0=$(date +%s.%N)
  if (( ranks == 1 )); then
    /usr/bin/time -f %M -o "rss_$name" "$LLADA" train --config bench.json --out "run_$name" --threads "$threads" --no-progress 2>"log_$name" >/dev/null
  else
    /usr/bin/time -f %M -o "rss_$name" mpirun -np "$ranks" --oversubscribe --bind-to none \
      "$LLADA" train --config bench.json --out "run_$name" --threads "$threads" --no-progress 2>"log_$name" >/dev/null
  fi
  echo "train_mpi: $name done in $(echo "$(date +%s.%N) - $t0" | bc) s" >&2
}
run p1t1 1 1
run p1t$THREADS "$THREADS" 1
run p2t$((THREADS / 2)) $((THREADS / 2)) 2

"$PY" - "$WARMUP" "$NET_GBPS" "p1t1" "p1t$THREADS" "p2t$((THREADS / 2))" <<'PYEOF'
import json, os, sys
warm, net = int(sys.argv[1]), float(sys.argv[2])
rows = {}
for name in sys.argv[3:]:
    ms = [json.loads(l) for l in open(f"run_{name}/metrics.jsonl") if '"loss"' in l]
    ms = [m for m in ms if m["step"] > warm]
    secs = ms[-1]["elapsed_s"] - [json.loads(l) for l in open(f"run_{name}/metrics.jsonl") if '"loss"' in l][warm - 1]["elapsed_s"]
    toks = ms[-1]["tokens"] - [json.loads(l) for l in open(f"run_{name}/metrics.jsonl") if '"loss"' in l][warm - 1]["tokens"]
    comm = sum(m.get("comm_s", 0.0) for m in ms)
    wait = sum(m.get("wait_s", 0.0) for m in ms)
    rows[name] = dict(tok_s=toks / secs, step_s=secs / len(ms), comm_s=comm / len(ms), wait_s=wait / len(ms),
                      rss=int(open(f"rss_{name}").read()) / 1024)
cfg = json.load(open("bench.json"))
import math
mc = cfg["model"]["config"]
C, L, F, V = mc["d_model"], mc["n_layers"], mc["mlp_hidden_size"], mc.get("embedding_size", mc["vocab_size"])
params = V * C + L * (4 * C * C + 3 * C * F + 2 * C) + C
grad_bytes = 4 * params
base = rows[sys.argv[4]]["tok_s"]
print(f"| run | tokens/s | vs 1 process x {sys.argv[4][-1]} threads | seconds per step | exchanging gradients | waiting for the slower rank | peak RSS (MB, largest process) |")
print("|---|---|---|---|---|---|---|")
for name, r in rows.items():
    share = f"{r['comm_s']:.3f} s ({100 * r['comm_s'] / r['step_s']:.1f}%)" if r["comm_s"] else "-"
    wait = f"{r['wait_s']:.3f} s ({100 * r['wait_s'] / r['step_s']:.1f}%)" if r["comm_s"] else "-"
    print(f"| {name} | {r['tok_s']:.0f} | {r['tok_s'] / base:.2f}x | {r['step_s']:.2f} | {share} | {wait} | {r['rss']:.0f} |")
mpi = rows[sys.argv[5]]
if mpi["comm_s"] > 0:
    bw = grad_bytes / mpi["comm_s"]  # one exchange of the whole gradient (2 ranks: one butterfly level)
    print(f"\ngradient {grad_bytes / 1e6:.1f} MB ({params / 1e6:.1f}M parameters); measured exchange on this machine: "
          f"{bw / 1e9:.2f} GB/s per direction")
    comp = rows[sys.argv[3]]["step_s"]  # one machine's compute for the global batch at 1 thread here
    print(f"\nestimate (no overlap; each machine computes its share of a global batch that grows with N, "
          f"step compute {comp:.2f} s as measured for one process here; network {net:g} Gbit/s):")
    print("| machines | butterfly (log2 N exchanges) | ring all-reduce (2(N-1)/N) | efficiency butterfly / ring |")
    print("|---|---|---|---|")
    link = net * 1e9 / 8
    for n in (2, 8, 64):
        t_b = math.log2(n) * grad_bytes / link
        t_r = 2 * (n - 1) / n * grad_bytes / link
        print(f"| {n} | {t_b:.3f} s | {t_r:.3f} s | {comp / (comp + t_b):.2f} / {comp / (comp + t_r):.2f} |")
PYEOF
