#!/usr/bin/env bash
# llada-serve end to end (docs/serving.md) on the shipped model: raw HTTP (tests/serve/
# raw_http_check.py: shapes, streaming, frames, errors, batching, disconnects), the web page in
# headless Chromium (tests/js/page_check.mjs; SCREENSHOT=FILE keeps its screenshot), the official
# openai npm client (tests/js/openai_client_check.mjs), the API key, the queue bound (503), bad flags.
# Answers are compared with what `llada generate` prints for the same prompt and settings.
# Usage: bash serve.sh <path-to-llada> <source-dir>
set -u
LLADA=${1:?usage: serve.sh <llada-cli> <source-dir>}
SRC=${2:?usage: serve.sh <llada-cli> <source-dir>}
SERVE="$(dirname "$LLADA")/llada-serve"
MODEL="$SRC/models/llada-poetry"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[ -x "$SERVE" ] || { echo "FAIL: $SERVE not built"; exit 1; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_server LOG ARGS...: starts llada-serve, waits for /health; sets PORT.
start_server() {
  local log=$1
  shift
  PORT=$(free_port)
  "$SERVE" --model "$MODEL" --port "$PORT" --threads 2 --gen-length 16 --block-length 8 "$@" >"$log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    /usr/bin/python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "server did not come up: $(tail -3 "$log")"
  return 1
}

# What `llada generate` prints: chat prompts greedy and sampled, and the same prompt rendered as
# text for /v1/completions (the special tokens in the text are matched, so the ids are equal).
Q="床前明月光的下一句是什么？ 直接输出句子即可。"
RENDERED="<|startoftext|><|start_header_id|>user<|end_header_id|>

${Q}<|eot_id|><|start_header_id|>assistant<|end_header_id|>

"
greedy=$("$LLADA" generate --model "$MODEL" --chat --prompt "$Q" --gen-length 16 --block-length 8 --output json 2>/dev/null)
sampled=$("$LLADA" generate --model "$MODEL" --chat --prompt "$Q" --gen-length 16 --block-length 8 --temperature 0.8 \
  --seed 5 --output json 2>/dev/null)
plain=$("$LLADA" generate --model "$MODEL" --prompt "$RENDERED" --gen-length 16 --block-length 8 --output json 2>/dev/null)
/usr/bin/python3 - "$WORK/expected.json" "$Q" "$RENDERED" "$greedy" "$sampled" "$plain" <<'PY' || fail "expected answers"
import json, sys
out, q, rendered, greedy, sampled, plain = sys.argv[1:7]
chat = lambda **kw: {"messages": [{"role": "user", "content": q}], "max_tokens": 16, **kw}
cases = [
    {"path": "/v1/chat/completions", "request": chat(), "text": json.loads(greedy)["text"]},
    {"path": "/v1/chat/completions", "request": chat(temperature=0.8, seed=5), "text": json.loads(sampled)["text"]},
    {"path": "/v1/completions", "request": {"prompt": rendered, "max_tokens": 16}, "text": json.loads(plain)["text"]},
]
assert cases[0]["text"], "the shipped model answered nothing: the comparison would be empty"
json.dump(cases, open(out, "w"), ensure_ascii=False)
PY

# generate --stream prints the same answer as it is committed.
streamed=$("$LLADA" generate --model "$MODEL" --chat --prompt "$Q" --gen-length 16 --block-length 8 --stream 2>&1)
want=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["text"])' "$greedy")
[ "$streamed" = "$want" ] || fail "generate --stream printed '$streamed', generate '$want'"
"$LLADA" generate --model "$MODEL" --prompt x --stream --output ids >/dev/null 2>&1 && fail "--stream --output ids accepted"

if start_server "$WORK/a.log" --max-body 8192; then
  /usr/bin/python3 "$SRC/tests/serve/raw_http_check.py" "$PORT" "$WORK/expected.json" || fail "raw_http_check.py"
  if [ -d "$SRC/tests/js/node_modules/puppeteer-core" ] && command -v chromium >/dev/null; then
    greedy_text=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["text"])' "$WORK/expected.json")
    node "$SRC/tests/js/page_check.mjs" "http://127.0.0.1:$PORT" "$greedy_text" "${SCREENSHOT:-$WORK/page.png}" ||
      fail "page_check.mjs"
  else
    fail "the page test needs chromium and tests/js/node_modules/puppeteer-core (scripts/install_deps.sh)"
  fi
fi

# The API key, the official client, and a queue of one (everything past it gets 503).
if start_server "$WORK/b.log" --api-key sekrit --max-queue 1 --max-batch 1; then
  if [ -d "$SRC/tests/js/node_modules/openai" ]; then
    node "$SRC/tests/js/openai_client_check.mjs" "http://127.0.0.1:$PORT/v1" sekrit "$WORK/expected.json" ||
      fail "openai_client_check.mjs"
  else
    fail "tests/js/node_modules/openai missing (scripts/install_deps.sh runs npm ci in tests/js)"
  fi
  /usr/bin/python3 - "$PORT" <<'PY' || fail "API key / queue bound"
import http.client, json, sys, threading
port = int(sys.argv[1])
def req(path, body=None, key="sekrit"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    h = {"Content-Type": "application/json"}
    if key:
        h["Authorization"] = "Bearer " + key
    c.request("POST" if body else "GET", path, body=json.dumps(body) if body else None, headers=h)
    r = c.getresponse()
    return r.status, r.getheader("Retry-After"), r.read()
bad = []
if req("/health", key=None)[0] != 200: bad.append("/health needs no key")
if req("/v1/models", key=None)[0] != 401: bad.append("/v1/models without a key is not 401")
if req("/v1/models", key="wrong")[0] != 401: bad.append("/v1/models with a wrong key is not 401")
res = []
def one():
    res.append(req("/v1/completions", {"prompt": "春", "max_tokens": 64, "steps": 64, "block_length": 64}))
ts = [threading.Thread(target=one) for _ in range(8)]
[t.start() for t in ts]
[t.join() for t in ts]
codes = sorted(r[0] for r in res)
if 503 not in codes or 200 not in codes: bad.append(f"8 requests on a queue of 1: {codes}")
if any(r[0] == 503 and r[1] != "1" for r in res): bad.append("503 without Retry-After")
if any(r[0] not in (200, 503) for r in res): bad.append(f"unexpected statuses {codes}")
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
fi

# An autoregressive model streams token by token: its content deltas arrive as it decodes and join
# to the plain answer, which equals `llada generate` (and `generate --stream` prints the same).
AR_MODEL="$SRC/experiments/checkpoints/reversal_mixed/pre_ar/final"
ar_want=$("$LLADA" generate --model "$AR_MODEL" --prompt "白日依山尽，" --gen-length 24 --output json 2>/dev/null |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["text"])')
ar_streamed=$("$LLADA" generate --model "$AR_MODEL" --prompt "白日依山尽，" --gen-length 24 --stream 2>/dev/null)
[ -n "$ar_want" ] && [ "$ar_streamed" = "$ar_want" ] || fail "AR generate --stream printed '$ar_streamed', generate '$ar_want'"
PORT=$(free_port)
"$SERVE" --model "$AR_MODEL" --port "$PORT" --threads 2 --gen-length 24 >"$WORK/ar.log" 2>&1 &
PIDS+=($!)
/usr/bin/python3 - "$PORT" "$ar_want" <<'PY' || fail "AR streaming: $(tail -3 "$WORK/ar.log")"
import http.client, json, sys, time
port, want = int(sys.argv[1]), sys.argv[2]
for _ in range(100):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=2); c.request("GET", "/health")
        if c.getresponse().status == 200: break
    except OSError:
        time.sleep(0.1)
def post(body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("POST", "/v1/completions", body=json.dumps(body, ensure_ascii=False).encode(),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    return r.status, r.read().decode("utf-8")
body = {"prompt": "白日依山尽，", "max_tokens": 24}
status, text = post(body)
plain = json.loads(text)["choices"][0]["text"]
status_s, text_s = post(dict(body, stream=True))
deltas = [json.loads(l[6:])["choices"][0].get("text", "") for l in text_s.split("\n")
          if l.startswith("data: {") and json.loads(l[6:]).get("choices")]
deltas = [d for d in deltas if d]
bad = []
if (status, status_s) != (200, 200): bad.append(f"statuses {status}, {status_s}")
if plain.strip() != want.strip(): bad.append(f"plain answer {plain!r}, generate {want!r}")
if "".join(deltas) != plain: bad.append(f"streamed {''.join(deltas)!r}, plain {plain!r}")
if len(deltas) < min(3, len(plain)): bad.append(f"{len(deltas)} content deltas for {len(plain)} characters: not streamed as decoded")
for b in bad: print("FAIL:", b)
sys.exit(1 if bad else 0)
PY

# Bad flags and files: a clear error and exit 1, never a crash.
expect_error() {  # expect_error PATTERN ARGS...
  local pat=$1
  shift
  local out
  out=$("$SERVE" "$@" 2>&1)
  local rc=$?
  [ $rc -eq 1 ] && echo "$out" | grep -q -- "$pat" || fail "llada-serve $*: rc $rc, expected an error naming '$pat': $out"
}
expect_error "--port" --model "$MODEL" --port 0
expect_error "nothing: model directory not found" --model "$WORK/nothing" --port 9
expect_error "--gen-length" --model "$MODEL" --gen-length 10 --block-length 3
expect_error "--max-queue" --model "$MODEL" --max-queue 0

[ "$failures" -eq 0 ] && echo "ok" || { echo "$failures failure(s)"; exit 1; }
