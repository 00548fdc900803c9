#!/usr/bin/env bash
# End-to-end: `llada likelihood` against an independent PyTorch implementation of spec section 4
# (tests/reference/likelihood_ref.py) on small random models: the Monte-Carlo estimates agree within
# 3 combined standard errors, with and without cfg; a one-token answer and a causal model's exact
# log-likelihood agree within 1e-4; --mc-num below --batch works and reports a non-zero error;
# bad token ids are refused by flag.
# Usage: bash likelihood_vs_torch.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: likelihood_vs_torch.sh <llada-cli> <source-dir>}
SRC=${2:?usage: likelihood_vs_torch.sh <llada-cli> <source-dir>}
REF="$SRC/tests/reference/likelihood_ref.py"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for fam in diffusion causal; do
  causal=false; [ $fam = causal ] && causal=true
  cat >"$WORK/$fam.json" <<JSON
{"d_model": 32, "n_layers": 2, "n_heads": 4, "n_kv_heads": 2, "mlp_hidden_size": 64, "vocab_size": 40,
 "embedding_size": 40, "max_sequence_length": 64, "mask_token_id": 39, "eos_token_id": 38,
 "pad_token_id": 38, "causal": $causal}
JSON
  # A larger init spread than training's 0.02 so the logits are far from uniform.
  "$LLADA" init --config "$WORK/$fam.json" --out "$WORK/$fam" --seed 5 --init-std 0.3 >/dev/null || fail "init $fam: exit $?"
done

# agree NAME ENGINE_JSON REF_JSON: |a - b| <= 3 sqrt(se_a^2 + se_b^2) + 1e-4
agree() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY' || fail "$1 disagrees"
import json, math, sys
name, a, b = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
tol = 3 * math.hypot(a["std_error"], b["std_error"]) + 1e-4
d = abs(a["log_likelihood"] - b["log_likelihood"])
print(f"{name}: engine {a['log_likelihood']:.4f} +- {a['std_error']:.4f}, torch {b['log_likelihood']:.4f} "
      f"+- {b['std_error']:.4f}, difference {d:.4f} (allowed {tol:.4f})")
sys.exit(0 if d <= tol else 1)
PY
}

P=1,7,3,12; A=20,5,9,31,2,14
for cfg in 0 1.5; do
  e=$("$LLADA" likelihood --model "$WORK/diffusion" --prompt-ids $P --answer-ids $A --mc-num 1024 --batch 16 \
      --cfg-scale $cfg --seed 3 --threads 1 --json) || fail "engine cfg $cfg: exit $?"
  r=$(/usr/bin/python3 "$REF" --model "$WORK/diffusion" --prompt-ids $P --answer-ids $A --mc-num 1024 \
      --batch 16 --cfg-scale $cfg --seed 11) || fail "reference cfg $cfg: exit $?"
  agree "monte-carlo cfg=$cfg" "$e" "$r"
done
e=$("$LLADA" likelihood --model "$WORK/diffusion" --prompt-ids $P --answer-ids 20 --json) || fail "one token: exit $?"
r=$(/usr/bin/python3 "$REF" --model "$WORK/diffusion" --prompt-ids $P --answer-ids 20)
agree "one-token answer (exact)" "$e" "$r"
e=$("$LLADA" likelihood --model "$WORK/causal" --prompt-ids $P --answer-ids $A --json) || fail "causal: exit $?"
r=$(/usr/bin/python3 "$REF" --model "$WORK/causal" --prompt-ids $P --answer-ids $A --causal)
agree "causal model (exact)" "$e" "$r"

# One mini-batch (mc-num below batch): a real standard error, printed after the estimate.
out=$("$LLADA" likelihood --model "$WORK/diffusion" --prompt-ids $P --answer-ids $A --mc-num 8 --batch 16) ||
  fail "--mc-num 8 --batch 16: exit $?"
echo "$out" | grep -Eq '^-[0-9]+\.[0-9]+ \+- [0-9]*\.[0-9]*[1-9][0-9]* nats' || fail "one mini-batch: $out"

# Bad ids: the flag is named, exit 1.
for bad in "--answer-ids 4,x" "--answer-ids 40" "--answer-ids 39" "--prompt-ids -1 --answer-ids 4"; do
  args=(--prompt-ids $P --answer-ids 4)
  # shellcheck disable=SC2206
  [[ $bad == --prompt-ids* ]] && args=($bad) || args=(--prompt-ids $P $bad)
  "$LLADA" likelihood --model "$WORK/diffusion" "${args[@]}" >"$WORK/o" 2>&1
  rc=$?
  [ $rc -eq 1 ] || fail "$bad: exit $rc"
  grep -q -- "${bad%% *}" "$WORK/o" || fail "$bad: the message does not name the flag: $(cat "$WORK/o")"
done

[ $failures -eq 0 ] && echo "likelihood_vs_torch: all checks passed"
exit $((failures > 0))
