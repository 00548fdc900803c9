#!/usr/bin/env bash
# Mixed precision against f32 on real data (issue "Training", docs/bench/train.md): a ~25M LLaDA
# (d 512, 8 layers, ffn 1152, the poetry character vocabulary of 6,144, tied head) trained STEPS
# steps from one initialisation, same seed, data and schedule, once with f32 products and once with
# bf16 products; held-out loss (fixed noise, f32) every STEPS/10 steps; the two curves in one plot
# and the final gap in a JSON summary. A third run, f32 with another seed (data order and masks),
# measures how far two f32 runs drift apart: where a run leaves the diffusion loss plateau (section
# 1 of docs/experiments.md) depends on the seed, and a gap smaller than that drift is noise.
# OBJECTIVE=ar trains the same shape as a causal model with the next-token loss instead: no plateau,
# so the gap is the precision's alone.
#
# usage: bench/bf16_vs_f32.sh [OUT]   (default out/bench/bf16_vs_f32, with OBJECTIVE=ar .../bf16_vs_f32_ar)
# env:   LLADA, STEPS (1000), BATCH (4), SEQ (128), LR (1e-3), DATA (a directory holding
#        shards/train.tok and shards_heldout/train.tok; default: the scaling study's, built with
#        `scripts/experiments/scaling.sh data` if missing), PNG / JSON (where the plot and summary go;
#        default docs/bench/bf16_vs_f32[_ar].png / .json),
#        CONTROL_SEED (2: the f32 control run's seed; 0 for none), OBJECTIVE (diffusion | ar)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LLADA=${LLADA:-$ROOT/build/release/llada}
STEPS=${STEPS:-1000}
BATCH=${BATCH:-4}
SEQ=${SEQ:-128}
LR=${LR:-1e-3}
CONTROL_SEED=${CONTROL_SEED:-2}
OBJECTIVE=${OBJECTIVE:-diffusion}
[[ $OBJECTIVE == diffusion || $OBJECTIVE == ar ]] || { echo "bf16_vs_f32: OBJECTIVE must be diffusion or ar, got '$OBJECTIVE'" >&2; exit 2; }
# Each objective has its own run folder and results, so one never reuses (or overwrites) the other's.
suffix=$([[ $OBJECTIVE == ar ]] && echo _ar || true)
OUT=${1:-$ROOT/out/bench/bf16_vs_f32$suffix}
DATA=${DATA:-$ROOT/out/experiments/scaling}
PNG=${PNG:-$ROOT/docs/bench/bf16_vs_f32$suffix.png}
JSON=${JSON:-$ROOT/docs/bench/bf16_vs_f32$suffix.json}
PY=/usr/bin/python3
[[ -x $LLADA ]] || { echo "bf16_vs_f32: $LLADA is not an executable" >&2; exit 1; }
if [[ ! -f $DATA/shards/train.tok ]]; then
  OUT=$DATA SIZES=s LLADA=$LLADA "$ROOT/scripts/experiments/scaling.sh" data
fi
mkdir -p "$OUT"
cd "$OUT"
"$PY" - "$ROOT/models/llada-poetry/config.json" model.json "$OBJECTIVE" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(d_model=512, n_layers=8, n_heads=8, n_kv_heads=8, mlp_hidden_size=1152, causal=(sys.argv[3] == "ar"))
json.dump(c, open(sys.argv[2], "w"), indent=1)
PYEOF
[[ -f init/config.json ]] || "$LLADA" init --config model.json --out init --seed 7
# Finished runs are skipped on a rerun: refuse a folder whose runs were made for the other objective.
"$PY" - init/config.json "$OBJECTIVE" "$OUT" <<'PYEOF' || exit 1
import json, sys
causal = bool(json.load(open(sys.argv[1])).get("causal", False))
if causal != (sys.argv[2] == "ar"):
    sys.exit(f"bf16_vs_f32: {sys.argv[3]} holds runs of a {'causal' if causal else 'diffusion'} model, "
             f"not OBJECTIVE={sys.argv[2]}: give another output folder")
PYEOF
ev=$(( STEPS / 10 > 0 ? STEPS / 10 : 1 ))
runs=("f32 1 run_f32" "bf16 1 run_bf16")
(( CONTROL_SEED > 0 )) && runs+=("f32 $CONTROL_SEED run_f32_seed$CONTROL_SEED")
for run in "${runs[@]}"; do
  read -r prec seed dir <<<"$run"
  [[ -d $dir/final ]] && continue
  "$PY" "$ROOT/scripts/experiments/train_config.py" --objective "$OBJECTIVE" --init init --out "$dir" \
    --steps "$STEPS" --lr "$LR" --schedule cosine --warmup $(( STEPS / 20 > 0 ? STEPS / 20 : 1 )) --seq-len "$SEQ" \
    --batch "$BATCH" --precision "$prec" --seed "$seed" --checkpoint-every "$ev" --eval-every "$ev" --eval-batches 16 \
    --train "$DATA/shards/train.tok" --heldout "$DATA/shards_heldout/train.tok" > "$dir.json"
  if [[ -f $dir/latest ]]; then "$LLADA" train --config "$dir.json" --resume --no-progress
  else "$LLADA" train --config "$dir.json" --no-progress; fi
done
control=""
(( CONTROL_SEED > 0 )) && control=run_f32_seed$CONTROL_SEED/metrics.jsonl
"$PY" - run_f32/metrics.jsonl run_bf16/metrics.jsonl "$PNG" "$JSON" "$OBJECTIVE" $control <<'PYEOF'
import json, os, sys
objective = sys.argv.pop(5)
def curve(p):
    rows = [json.loads(l) for l in open(p) if l.strip()]
    ev = [(r["step"], r["eval_loss"]) for r in rows if "eval_loss" in r]
    tps = [r["tok_per_s"] for r in rows if "tok_per_s" in r]
    return ev, sorted(tps)[len(tps) // 2] if tps else 0.0
(f, f_tps), (b, b_tps) = curve(sys.argv[1]), curve(sys.argv[2])
gap = (b[-1][1] - f[-1][1]) / f[-1][1]
out = {"objective": objective, "steps": f[-1][0], "f32_final_heldout": f[-1][1], "bf16_final_heldout": b[-1][1],
       "relative_gap": gap, "f32_curve": f, "bf16_curve": b,
       "f32_median_tok_per_s": f_tps, "bf16_median_tok_per_s": b_tps}
c = None
if len(sys.argv) > 5:  # the f32 control run with another seed: how far two f32 runs drift apart
    c, _ = curve(sys.argv[5])
    out.update(f32_control_seed_final_heldout=c[-1][1], f32_control_seed_curve=c,
               control_relative_gap=(c[-1][1] - f[-1][1]) / f[-1][1],
               max_control_relative_gap=max(abs(l2 - l1) / l1 for (_, l1), (_, l2) in zip(f, c)),
               max_bf16_relative_gap=max(abs(l2 - l1) / l1 for (_, l1), (_, l2) in zip(f, b)))
tmp = sys.argv[4] + ".tmp"
json.dump(out, open(tmp, "w"), indent=1)
os.replace(tmp, sys.argv[4])
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(7, 4.2))
ax.plot([s for s, _ in f], [l for _, l in f], "o-", label=f"f32 products (final {f[-1][1]:.4f})")
ax.plot([s for s, _ in b], [l for _, l in b], "s--", label=f"bf16 products (final {b[-1][1]:.4f})")
if c:
    ax.plot([s for s, _ in c], [l for _, l in c], "^:", color="gray",
            label=f"f32 products, another seed (final {c[-1][1]:.4f})")
ax.set_xlabel("step")
ax.set_ylabel("held-out loss (diffusion bound, fixed noise)" if objective == "diffusion" else
              "held-out loss (next token)")
ax.set_title(f"25M {'LLaDA' if objective == 'diffusion' else 'AR model'}, same init, seed and data: "
             f"bf16 vs f32 ({100 * gap:+.2f}%)")
ax.legend()
fig.tight_layout()
tmp = sys.argv[3] + ".tmp.png"
fig.savefig(tmp, dpi=110)
os.replace(tmp, sys.argv[3])
print(f"bf16_vs_f32: final held-out f32 {f[-1][1]:.4f}, bf16 {b[-1][1]:.4f} ({100 * gap:+.2f}%); "
      f"median tok/s f32 {f_tps:.0f}, bf16 {b_tps:.0f}")
if c:
    print(f"bf16_vs_f32: f32 with another seed {c[-1][1]:.4f} ({100 * out['control_relative_gap']:+.2f}%); "
          f"largest gap along the curve: bf16 {100 * out['max_bf16_relative_gap']:.2f}%, "
          f"seed {100 * out['max_control_relative_gap']:.2f}%")
PYEOF
