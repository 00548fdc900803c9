#!/usr/bin/env bash
# End-to-end: data-parallel training under mpirun (docs/training.md, "Data parallelism").
#   1. `mpirun -np 2` (one thread each) ends with the same weights, bit for bit, as one process
#      with one thread over the same global batch; rank 0 alone writes, every metrics row and the
#      checkpoint record world_size 2, and the rows carry the exchange and waiting times;
#   2. a run stopped on 2 ranks resumes on 1 process and ends with the same weights again;
#   3. grad_accum that does not split into whole micro-batches per rank is a clear error;
#   4. a rank that dies takes the job down (non-zero exit, no hang) and the last checkpoint stays
#      resumable.
# Usage: bash mpi_train.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: mpi_train.sh <llada-cli> <source-dir>}
SRC=${2:?usage: mpi_train.sh <llada-cli> <source-dir>}
command -v mpirun >/dev/null || { echo "FAIL: mpirun not installed (scripts/install_deps.sh installs openmpi-bin)"; exit 1; }
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# Root in a container is allowed to run mpirun only with these; --oversubscribe lets 2 ranks share
# fewer cores (CI machines have 2).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun -np 2 --oversubscribe --bind-to none)

for i in $(seq 1 60); do printf '静夜思%d\n李白\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n\n' "$i"; done > poems.txt
"$LLADA" prepare --tokenizer "$SRC/models/llada-poetry" --out shards --heldout-fraction 0.1 poems.txt >/dev/null || fail "prepare"
/usr/bin/python3 - "$SRC/models/llada-poetry/config.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m.update(d_model=32, n_layers=2, n_heads=2, n_kv_heads=2, mlp_hidden_size=64, max_sequence_length=32)
for k in ("architectures", "auto_map"): m.pop(k, None)
c = {"model": {"config": m}, "objective": "diffusion",
     "data": {"train": ["shards/train.tok"], "heldout": ["shards/heldout.tok"]},
     "seq_len": 32, "batch_size": 4, "grad_accum": 4, "steps": 8, "checkpoint_every": 4, "eval_every": 4,
     "eval_batches": 1, "log_every": 2, "threads": 1, "out": "run", "save_dtype": "f32",
     "diffusion": {"random_length_prob": 0.2}}
json.dump(c, open("dp.json", "w"))
PY

# 1. two ranks against one process
"$LLADA" train --config dp.json --out one --no-progress >/dev/null 2>one.err || fail "one process: $(cat one.err)"
timeout 300 "${MPIRUN[@]}" "$LLADA" train --config dp.json --out two --no-progress >two.out 2>two.err \
  || fail "mpirun -np 2: $(tail -5 two.err)"
cmp -s one/final/model.safetensors two/final/model.safetensors \
  || fail "2 ranks and 1 process ended with different weights"
[[ $(grep -c '"loss"' two/metrics.jsonl) == 4 ]] || fail "rank 0 should write 4 loss rows once: $(cat two/metrics.jsonl)"
grep '"loss"' two/metrics.jsonl | grep -qv '"world_size":2' && fail "a metrics row without world_size 2"
grep -q '"comm_s"' two/metrics.jsonl && grep -q '"wait_s"' two/metrics.jsonl || fail "no comm_s / wait_s in the metrics"
grep -q '"world_size": 2' two/config.json || fail "config.json does not record world_size 2"
[[ $(grep -c '^trained' two.out) == 1 ]] || fail "exactly one rank should report: $(cat two.out)"

# 2. killed on 2 ranks after its step-4 checkpoint (SIGINT to the job: every rank stops at one step),
#    resumed on 1 process
/usr/bin/python3 -c "import json; c=json.load(open('dp.json')); c['steps']=400; c['checkpoint_every']=4; json.dump(c, open('long.json','w'))"
/usr/bin/python3 -c "import json; c=json.load(open('dp.json')); c['steps']=400; c['checkpoint_every']=4; c['out']='ref'; json.dump(c, open('ref.json','w'))"
"${MPIRUN[@]}" "$LLADA" train --config long.json --out stop --no-progress >stop.out 2>stop.err &
job=$!
for _ in $(seq 1 200); do [[ -f stop/latest ]] && break; sleep 0.1; done
kill -INT $job
wait $job
rc=$?
[[ -f stop/latest ]] || fail "no checkpoint before the stop"
[[ $rc == 130 ]] || echo "note: mpirun exited $rc after SIGINT"
ls -d stop/step-*.tmp* >/dev/null 2>&1 && fail "a half-written checkpoint was left"
"$LLADA" train --config long.json --out stop --resume --no-progress >/dev/null 2>resume.err || fail "resume on 1 process: $(tail -3 resume.err)"
"$LLADA" train --config ref.json --no-progress >/dev/null 2>ref.err || fail "reference run: $(tail -3 ref.err)"
cmp -s stop/final/model.safetensors ref/final/model.safetensors \
  || fail "stopped on 2 ranks and resumed on 1: weights differ from the uninterrupted run"

# 3. micro-batches that do not split between the ranks
/usr/bin/python3 -c "import json; c=json.load(open('dp.json')); c['grad_accum']=1; json.dump(c, open('odd.json','w'))"
if timeout 120 "${MPIRUN[@]}" "$LLADA" train --config odd.json --out odd --no-progress >odd.out 2>odd.err; then
  fail "grad_accum 1 on 2 ranks was accepted"
fi
grep -q "grad_accum 1 is not a multiple of the 2 processes" odd.err || fail "uneven split: $(tail -5 odd.err)"

# 4. one rank killed mid-run: the job ends (no hang) with an error, the checkpoint resumes
"${MPIRUN[@]}" "$LLADA" train --config long.json --out dead --no-progress >dead.out 2>dead.err &
job=$!
for _ in $(seq 1 200); do [[ -f dead/latest ]] && break; sleep 0.1; done
victim=$(pgrep -f -- "--out dead" | while read -r p; do
  [[ $(cat /proc/$p/comm 2>/dev/null) == llada ]] && grep -q OMPI_COMM_WORLD_RANK=1 /proc/$p/environ 2>/dev/null && echo $p
done | head -1)
[[ -n $victim ]] || fail "could not find rank 1"
[[ -n $victim ]] && kill -KILL "$victim"
for _ in $(seq 1 300); do kill -0 $job 2>/dev/null || break; sleep 0.1; done
if kill -0 $job 2>/dev/null; then fail "the job still runs 30 s after rank 1 died"; kill -KILL $job; fi
wait $job && fail "the job exited 0 after a rank died"
"$LLADA" train --config long.json --out dead --resume --steps 12 --no-progress >/dev/null 2>dead_resume.err \
  || fail "resume after a dead rank: $(tail -3 dead_resume.err)"

if (( failures )); then echo "$failures failure(s)"; exit 1; fi
echo "mpi_train: all checks passed"
