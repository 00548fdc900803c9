#!/usr/bin/env bash
# End-to-end: int8 and 4-bit weights (`llada quantize`, docs/quantization.md).
#   1. logits of an int8 (and a q4) model equal the PyTorch reference's emulation
#      (tests/reference/llada_torch.py: the same activation quantization and integer sums) within the
#      f32 tolerance of the float models, on a model with awkward shapes (K not a multiple of 4, N not
#      of 32, untied head) and on the shipped poetry model;
#   2. the shipped model's greedy generations in int8 agree with bf16 on >= 95% of tokens (q4: >= 90%);
#   3. bad int8 / q4 directories are clear errors naming the tensor or field; training refuses int8;
#   4. LLaDA-8B's widths with one layer (configs/llada8b.json, 1.25 B parameters, 2.5 GB in bf16,
#      sharded): it quantizes (int8 and q4), loads and runs, and its logits stay close to bf16's.
# Usage: bash int8_vs_torch.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: int8_vs_torch.sh <llada-cli> <source-dir>}
SRC=${2:?usage: int8_vs_torch.sh <llada-cli> <source-dir>}
PY=/usr/bin/python3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
expect_error() {  # pattern command...: must exit non-zero with stderr matching pattern
  local pat=$1; shift
  if "$@" >out.txt 2>err.txt; then fail "exit 0: $*"; return; fi
  grep -q -- "$pat" err.txt || fail "$*: expected '$pat' in: $(cat err.txt)"
}

# An untied model with shapes that exercise the padding: K = 36 and 70 (not multiples of 4 for
# the FFN output), N = 100 rows of the head (not a multiple of 32).
cat > odd.json <<'JSON'
{"d_model": 36, "n_layers": 2, "n_heads": 2, "n_kv_heads": 1, "mlp_hidden_size": 70, "vocab_size": 100,
 "embedding_size": 100, "max_sequence_length": 64, "weight_tying": false, "mask_token_id": 99,
 "eos_token_id": 98, "pad_token_id": 98}
JSON
"$LLADA" init --config odd.json --out odd --seed 3 --init-std 0.2 >/dev/null || fail "init"
"$LLADA" quantize --model odd --out odd8 >/dev/null || fail "quantize odd"
"$LLADA" quantize --model "$SRC/models/llada-poetry" --out poetry8 >/dev/null || fail "quantize poetry"
"$LLADA" quantize --model odd --out oddq4 --type q4 >/dev/null || fail "quantize odd q4"
"$LLADA" quantize --model "$SRC/models/llada-poetry" --out poetryq4 --type q4 >/dev/null || fail "quantize poetry q4"
expect_error "already holds a model" "$LLADA" quantize --model odd --out odd8
expect_error "--type must be int8 or q4" "$LLADA" quantize --model odd --out x --type int4
expect_error "rows: int8 only" "$LLADA" quantize --model odd --out x --type q4 --layout rows

compare() {  # model ids: engine logits vs the reference's int8 emulation
  "$LLADA" logits --model "$1" --ids "$2" --threads 2 --out "$1.npy" >/dev/null || { fail "logits $1"; return; }
  "$PY" - "$SRC" "$1" "$2" <<'PY' || fail "int8 logits of $1 differ from the reference"
import sys, numpy as np
sys.path.insert(0, sys.argv[1] + "/tests/reference")
import llada_torch as lt, torch
m = lt.LLaDA.load(sys.argv[2])
assert m.int8 or m.q4, "the reference loaded no int8 or q4 matrix"
ids = np.array([[int(v) for v in sys.argv[3].split(",")]])
want = m.forward(ids)[0].numpy()
got = np.load(sys.argv[2] + ".npy")
err = np.abs(got - want)
scale = np.abs(want).max()
exact = float((got == want).mean())
print(f"{sys.argv[2]}: max |diff| {err.max():.3g} of max |logit| {scale:.3g} ({err.max() / scale:.2g}), "
      f"median {np.median(err):.2g}, bit-equal {100 * exact:.1f}%")
# The integer products are exact on both sides; the float ops around them (norms, attention,
# softmax) differ in the last bits, and where such a bit moves an activation across a rounding
# boundary one quantized value moves by one step (1/127 of the row's max): the f32 tolerance of the
# float models (1e-4 of the logit scale) for the typical value, 1e-2 for the worst.
assert np.median(err) <= 1e-4 * scale, "median error"
assert err.max() <= 1e-2 * scale, "max error"
PY
}
compare odd8 5,17,99,99,42,3,98,60,7,99,11
compare poetry8 6138,6141,10,343,257,1062,6140,6140,6140,6140,6140,6140
# The row-major layout (--layout rows, packed at load) is the same arithmetic: the same logits, bit
# for bit, as the stored panels.
"$LLADA" quantize --model odd --out odd8rows --layout rows >/dev/null || fail "quantize --layout rows"
grep -q '"layout": "rows"' odd8rows/config.json || fail "--layout rows: config.json does not say rows"
grep -q '"layout": "panels"' odd8/config.json || fail "default layout: config.json does not say panels"
compare odd8rows 5,17,99,99,42,3,98,60,7,99,11
cmp -s odd8.npy odd8rows.npy || fail "int8 logits differ between the panels and rows layouts"
compare oddq4 5,17,99,99,42,3,98,60,7,99,11
compare poetryq4 6138,6141,10,343,257,1062,6140,6140,6140,6140,6140,6140
expect_error "--layout must be panels or rows" "$LLADA" quantize --model odd --out x --layout tiles

# 2. greedy generations, int8 against bf16 (the shipped model), token by token
for m in "$SRC/models/llada-poetry" poetry8 poetryq4; do
  for p in 床前明月光 春眠不觉晓 白日依山尽 红豆生南国 千山鸟飞绝 锄禾日当午 空山不见人 国破山河在; do
    "$LLADA" generate --model "$m" --prompt "$p" --chat --gen-length 32 --steps 32 --block-length 32 --output ids --threads 2
  done > "$(basename "$m").ids" 2>/dev/null || fail "generate $m"
done
agreement() {  # bf16-ids quantized-ids name minimum
  "$PY" - "$@" <<'PY'
import sys
a = open(sys.argv[1]).read().replace(",", " ").split()
b = open(sys.argv[2]).read().replace(",", " ").split()
assert len(a) == 8 * 32 and len(a) == len(b), (len(a), len(b))
same = sum(x == y for x, y in zip(a, b)) / len(a)
print(f"{sys.argv[3]} vs bf16 greedy tokens: {100 * same:.1f}% equal over {len(a)} (8 answers of 32)")
assert same >= float(sys.argv[4])
PY
}
agreement llada-poetry.ids poetry8.ids int8 0.95 || fail "int8 generations disagree with bf16"
# 4 bits per weight (15 levels a group) move more answers: measured 96.1%; 90% leaves room for a
# CPU whose bf16 reference path rounds differently (AMX).
agreement llada-poetry.ids poetryq4.ids q4 0.90 || fail "q4 generations disagree with bf16"

# 3. bad input
cp -r odd8 noscale
"$PY" - noscale/model.safetensors <<'PY'
import json, struct, sys
p = sys.argv[1]
raw = open(p, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
h["model.transformer.blocks.0.q_proj.weight_scale_x"] = h.pop("model.transformer.blocks.0.q_proj.weight_scale")
t = json.dumps(h).encode()
t += b" " * ((8 - len(t) % 8) % 8)
open(p, "wb").write(struct.pack("<Q", len(t)) + t + raw[8 + n:])
PY
expect_error "q_proj.weight_scale' (the int8 scales" "$LLADA" info --model noscale
cp -r odd8 nosum
sed -i 's/q_proj.weight_colsum"/q_proj.weight_colsux"/' nosum/model.safetensors
expect_error "q_proj.weight_colsum' (the int8 column sums" "$LLADA" info --model nosum
cp -r odd8 layout
sed -i 's/"layout": "panels"/"layout": "tiles"/' layout/config.json
expect_error "quantization_config.layout' is 'tiles'" "$LLADA" info --model layout
cp -r odd8rows panelsays
sed -i 's/"layout": "rows"/"layout": "panels"/' panelsays/config.json
expect_error "expected \[2, 9, 32, 4\]: the int8 panels" "$LLADA" info --model panelsays
# q4: a missing scale, panels of the wrong shape, a NaN scale, a layout or group size it does not have
cp -r oddq4 q4noscale
sed -i 's/q_proj.weight_scale"/q_proj.weight_scalx"/' q4noscale/model.safetensors
expect_error "q_proj.weight_scale' (the q4 scales" "$LLADA" info --model q4noscale
cp -r odd8 q4says
"$PY" -c "import json; c=json.load(open('q4says/config.json')); c['quantization_config']={'quant_method':'llada','weight_dtype':'q4'}; json.dump(c, open('q4says/config.json','w'))"
expect_error "expected U8 \[2, 2, 8, 64\]: the 4-bit panels" "$LLADA" info --model q4says
cp -r oddq4 q4nan
"$PY" - q4nan/model.safetensors <<'PY'
import json, struct, sys
p = sys.argv[1]
raw = bytearray(open(p, "rb").read())
n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n])
off = 8 + n + h["model.transformer.blocks.1.up_proj.weight_scale"]["data_offsets"][0]
raw[off + 6:off + 8] = struct.pack("<H", 0x7fc0)  # element 3: a bf16 NaN
open(p, "wb").write(raw)
PY
expect_error "up_proj.weight_scale' element 3: scale nan" "$LLADA" info --model q4nan
cp -r oddq4 q4rows
sed -i 's/"layout": "panels"/"layout": "rows"/' q4rows/config.json
expect_error "q4 weights are stored in the kernels' layout only" "$LLADA" info --model q4rows
cp -r oddq4 q4g64
sed -i 's/"group_size": 32/"group_size": 64/' q4g64/config.json
expect_error "group_size' is 64" "$LLADA" info --model q4g64
expect_error "holds q4 weights, which serve inference only" "$LLADA" bench --model oddq4 --backward --seq-len 8 --iters 1
cp -r odd8 scheme
sed -i 's/"weight_dtype": "int8"/"weight_dtype": "int3"/' scheme/config.json
expect_error "quantization_config.weight_dtype' is 'int3'" "$LLADA" info --model scheme
cp -r odd8 noconfig
"$PY" -c "import json; c=json.load(open('noconfig/config.json')); c.pop('quantization_config'); json.dump(c, open('noconfig/config.json','w'))"
expect_error "need \"quantization_config\"" "$LLADA" info --model noconfig
printf '床前明月光，疑是地上霜。\n\n' > t.txt
"$LLADA" prepare --tokenizer "$SRC/models/llada-poetry" --out shard t.txt >/dev/null || fail "prepare"
cp "$SRC/models/llada-poetry/tokenizer.json" poetry8/
echo '{"model": {"init_from": "poetry8"}, "objective": "diffusion", "data": {"train": ["shard/train.tok"]}, "seq_len": 8, "batch_size": 1, "steps": 1, "out": "run"}' > t.json
expect_error "int8 weights (quantization_config" "$LLADA" train --config t.json

# 4. the 8B widths, one layer
sed 's/"n_layers": 32/"n_layers": 1/' "$SRC/configs/llada8b.json" > w8b.json
"$LLADA" init --config w8b.json --dtype bf16 --shard-mb 800 --seed 5 --out w8b >/dev/null || fail "init 8B widths"
"$LLADA" quantize --model w8b --out w8b8 >/dev/null || fail "quantize 8B widths"
"$LLADA" quantize --model w8b --out w8bq4 --type q4 >/dev/null || fail "quantize 8B widths q4"
rm -f w8b/*.safetensors.tmp* 2>/dev/null
ids8=126080,100,2000,30000,126336,126336,126336,126336,126336,126336,5,77,126336,126336,9000,126081
"$LLADA" logits --model w8b --ids $ids8 --threads 2 --out w8b.npy >/dev/null || fail "bf16 logits, 8B widths"
"$LLADA" logits --model w8b8 --ids $ids8 --threads 2 --out w8b8.npy >/dev/null || fail "int8 logits, 8B widths"
"$LLADA" logits --model w8bq4 --ids $ids8 --threads 2 --out w8bq4.npy >/dev/null || fail "q4 logits, 8B widths"
"$PY" - <<'PY' || fail "int8 logits of the 8B-width model far from bf16"
import numpy as np
a, b = np.load("w8b8.npy"), np.load("w8b.npy")
rel = np.linalg.norm(a - b) / np.linalg.norm(b)
top = float((a.argmax(-1) == b.argmax(-1)).mean())
print(f"8B widths, 1 layer: int8 vs bf16 logits relative error {rel:.3g}, top-1 agreement {100 * top:.0f}%")
# Random weights are the hard case for per-row 8-bit activations (a Gaussian row's max is ~4x its
# RMS, so each product loses ~2%, compounding over the layer's products and the head): measured
# 4.7% and 88% here; a trained model agrees far closer (docs/quantization.md).
assert rel < 0.08 and top >= 0.75
a = np.load("w8bq4.npy")
rel = np.linalg.norm(a - b) / np.linalg.norm(b)
top = float((a.argmax(-1) == b.argmax(-1)).mean())
print(f"8B widths, 1 layer: q4 vs bf16 logits relative error {rel:.3g}, top-1 agreement {100 * top:.0f}%")
# 15 levels per group of 32 lose far more than int8 on Gaussian weights (a step of max/7, ~0.3
# sigma: ~10% per weight, over the layer's chain of products and the head): measured 0.31 and 31%.
# Random logits have no clear winner, so top-1 is printed, not asserted; the trained model's
# agreement (section 2) and the emulation (section 1) are the real checks of q4.
assert rel < 0.4
PY

if (( failures )); then echo "$failures failure(s)"; exit 1; fi
echo "int8_vs_torch: all checks passed"
