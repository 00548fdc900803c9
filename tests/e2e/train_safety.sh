#!/usr/bin/env bash
# End-to-end: `llada train` never loses or mixes runs and never trains on held-out data
# (docs/training.md, "Run directories"). Each check below failed on the trainer before these rules:
#   1. an existing run is refused without --resume / --force; two trainers cannot share a directory;
#   2. a training directory holding prepare's heldout.tok, or the same file on both sides, is refused;
#      the run records its data fingerprints;
#   3. negative / NaN / zero flag values are errors naming the flag;
#   4. a model that cannot fit in memory is refused with the numbers;
#   5. SIGINT writes a checkpoint and exits 130; --resume continues from it;
#   6. half-written step-N.tmp.PID folders are removed on resume;
#   7. --resume of a finished run says there is nothing to do and leaves final/ alone;
#   8. without a terminal, training prints a log line per log interval;
#   9. a run that fails before writing anything leaves no empty folder.
# Usage: bash train_safety.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: train_safety.sh <llada-cli> <source-dir>}
SRC=${2:?usage: train_safety.sh <llada-cli> <source-dir>}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_error() {  # pattern command...: must exit non-zero with stderr matching pattern
  local pat=$1; shift
  if "$@" >out.txt 2>err.txt; then fail "exit 0: $*"; return; fi
  grep -q -- "$pat" err.txt || fail "$*: expected '$pat' in: $(cat err.txt)"
}

# Tiny data and model: a few poems, the shipped tokenizer.
for i in $(seq 1 60); do printf '静夜思%d\n李白\n床前明月光，疑是地上霜。\n举头望明月，低头思故乡。\n\n' "$i"; done > poems.txt
"$LLADA" prepare --tokenizer "$SRC/models/llada-poetry" --out shards --heldout-fraction 0.1 poems.txt >/dev/null || fail "prepare"
/usr/bin/python3 - "$SRC/models/llada-poetry/config.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m.update(d_model=32, n_layers=1, n_heads=2, n_kv_heads=2, mlp_hidden_size=64, max_sequence_length=32)
for k in ("architectures", "auto_map"): m.pop(k, None)
base = {"model": {"config": m}, "objective": "diffusion",
        "data": {"train": ["shards/train.tok"], "heldout": ["shards/heldout.tok"]},
        "seq_len": 32, "batch_size": 4, "steps": 6, "checkpoint_every": 3, "eval_every": 3,
        "eval_batches": 1, "log_every": 2, "threads": 1, "out": "run", "save_dtype": "f32"}
json.dump(base, open("c.json", "w"))
json.dump(dict(base, data={"train": ["shards"]}), open("dir.json", "w"))
json.dump(dict(base, data={"train": ["shards/train.tok"], "heldout": ["shards/train.tok"]}), open("same.json", "w"))
big = json.loads(json.dumps(base)); big["model"]["config"].update(d_model=65536, n_layers=80, n_heads=512,
      n_kv_heads=512, mlp_hidden_size=262144, max_sequence_length=128)
json.dump(big, open("big.json", "w"))
PY

# 8 + a first run.
"$LLADA" train --config c.json >out.txt 2>err.txt || fail "first run: $(cat err.txt)"
grep -q '^step 2/6  loss' err.txt || fail "no log lines without a terminal: $(cat err.txt)"
grep -q '"data_fingerprints"' run/config.json || fail "run/config.json has no data fingerprints"
# 1.
expect_error "holds an earlier run" "$LLADA" train --config c.json
[ "$(grep -c '"loss"' run/metrics.jsonl)" -eq 3 ] || fail "the refused run touched metrics.jsonl"
"$LLADA" train --config c.json --force >/dev/null 2>&1 || fail "--force"
expect_error "exclude each other" "$LLADA" train --config c.json --force --resume
# 7.
stamp=$(stat -c %Y run/final/model.safetensors)
"$LLADA" train --config c.json --resume >out.txt 2>err.txt || fail "resume of a finished run: exit $?"
grep -q "nothing to do" err.txt || fail "resume of a finished run: $(cat err.txt)"
[ "$(stat -c %Y run/final/model.safetensors)" = "$stamp" ] || fail "resume of a finished run rewrote final/"
# 2.
expect_error "holds heldout.tok" "$LLADA" train --config dir.json --out run_dir
expect_error "both training and held-out" "$LLADA" train --config same.json --out run_same
# 3.
for flag in "--steps -1" "--steps 0" "--batch-size -1" "--seq-len -1" "--grad-accum 0" "--lr -1" \
            "--lr nan" "--checkpoint-every -1" "--eval-every -1" "--seed -1" "--threads -1" "--precision fp8"; do
  # shellcheck disable=SC2086
  expect_error "${flag%% *}" "$LLADA" train --config c.json --out run_flags $flag
done
# 4.
expect_error "does not fit in memory" "$LLADA" train --config big.json --out run_big
# 9.
for d in run_dir run_same run_flags run_big; do [ ! -e "$d" ] || fail "a failed run left $d"; done
# 1 (lock) + 5 + 6: a long run, a second trainer into it, then Ctrl-C.
"$LLADA" train --config c.json --out long --steps 100000 --checkpoint-every 0 >long.out 2>long.err &
pid=$!
for _ in $(seq 1 100); do grep -q '^step ' long.err 2>/dev/null && break; sleep 0.1; done
expect_error "another llada train (pid $pid)" "$LLADA" train --config c.json --out long --resume
kill -INT "$pid"
wait "$pid"; rc=$?
[ "$rc" -eq 130 ] || fail "SIGINT: exit $rc, expected 130 ($(cat long.err))"
[ -f long/latest ] || fail "SIGINT wrote no checkpoint: $(ls long)"
done_steps=$(sed -n 's/^step-//p' long/latest)
mkdir -p long/step-999.tmp.4242
"$LLADA" train --config c.json --out long --resume --steps $((done_steps + 2)) >out.txt 2>err.txt || fail "resume after SIGINT: $(cat err.txt)"
grep -q "resuming from .*step-$done_steps" err.txt || fail "resume did not start from step $done_steps: $(cat err.txt)"
[ ! -e long/step-999.tmp.4242 ] || fail "half-written checkpoint folder survived the resume"

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
