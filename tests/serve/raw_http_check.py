#!/usr/bin/python3
"""Raw-HTTP checks of llada-serve (tests/e2e/serve.sh): shapes, streaming, frames, errors, batching,
the queue bound and disconnects. Standard library only, so nothing between us and the wire.

usage: raw_http_check.py PORT EXPECTED_JSON   (EXPECTED_JSON: what `llada generate` printed for the
       prompts, written by serve.sh)
"""
import http.client
import json
import socket
import sys
import threading
import time

PORT = int(sys.argv[1])
EXPECTED = json.load(open(sys.argv[2], encoding="utf-8"))
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def request(method, path, body=None, headers=None, raw=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    data = raw if raw is not None else (json.dumps(body, ensure_ascii=False).encode() if body is not None else None)
    c.request(method, path, body=data, headers=headers or {"Content-Type": "application/json"})
    r = c.getresponse()
    text = r.read().decode("utf-8")
    c.close()
    return r.status, dict(r.getheaders()), text


def sse_events(path, body):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    c.request("POST", path, body=json.dumps(body, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    out = []
    for line in r.read().decode("utf-8").split("\n"):
        if line.startswith("data: "):
            out.append(line[6:])
    c.close()
    return r.status, r.getheader("Content-Type"), out


def error_of(status, text):
    try:
        return json.loads(text)["error"]
    except Exception:  # noqa: BLE001 - any non-JSON error body is a failure below
        return None


# --- health and models
s, _, t = request("GET", "/health")
check(s == 200 and json.loads(t)["status"] == "ok", f"/health: {s} {t}")
s, _, t = request("GET", "/v1/models")
check(s == 200 and json.loads(t)["data"][0]["object"] == "model", f"/v1/models: {s} {t}")

# --- answers equal `llada generate` (greedy, and sampled with a seed), streamed or not
def answer_of(j):
    c = j["choices"][0]
    return c["text"] if "text" in c else c["message"]["content"]


def delta_of(c):
    c = c["choices"][0]
    return c.get("text", "") if "text" in c else c.get("delta", {}).get("content", "")


for case in EXPECTED:
    s, _, t = request("POST", case["path"], case["request"])
    ok = s == 200
    j = json.loads(t) if ok else {}
    got = answer_of(j) if ok else None
    check(ok and got == case["text"], f"{case['path']} {case['request']}: got {got!r}, llada generate {case['text']!r} ({s} {t[:200]})")
    if ok:
        u = j["usage"]
        check(u["prompt_tokens"] + u["completion_tokens"] == u["total_tokens"] and u["timings"]["model_calls"] > 0,
              f"usage: {u}")
        check(j["choices"][0]["finish_reason"] in ("stop", "length"), f"finish_reason: {j['choices'][0]}")
        check(u["completion_tokens"] <= case["request"]["max_tokens"], f"completion_tokens > max_tokens: {u}")
    # the stream's deltas add up to the same text, with usage on the last chunk and [DONE] at the end
    s, ctype, ev = sse_events(case["path"], dict(case["request"], stream=True))
    check(s == 200 and ctype.startswith("text/event-stream"), f"stream status {s} {ctype}")
    check(ev and ev[-1] == "[DONE]", f"stream does not end with [DONE]: {ev[-2:]}")
    chunks = [json.loads(e) for e in ev[:-1]]
    text = "".join(delta_of(c) for c in chunks)
    check(text == case["text"], f"stream text {text!r} != {case['text']!r}")
    check(chunks and chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length") and "usage" in chunks[-1],
          f"last chunk: {chunks[-1] if chunks else None}")

# max_tokens below the block: the canvas is a whole block (8), the answer is cut back to 2 tokens
s8, _, t8 = request("POST", EXPECTED[0]["path"], dict(EXPECTED[0]["request"], max_tokens=8))
s2, _, t2 = request("POST", EXPECTED[0]["path"], dict(EXPECTED[0]["request"], max_tokens=2))
if s8 == 200 and s2 == 200:
    a8, j2 = answer_of(json.loads(t8)), json.loads(t2)
    check(len(a8) > 2 and answer_of(j2) == a8[:2] and j2["usage"]["completion_tokens"] == 2
          and j2["choices"][0]["finish_reason"] == "length", f"max_tokens 2 vs 8: {a8!r} {t2[:300]}")
else:
    check(False, f"max_tokens 8 / 2: {s8} {s2}")

# --- chat, streamed with diffusion frames: one frame per step, canvases with masks that fill
body = {"messages": [{"role": "user", "content": "床前明月光的下一句是什么？ 直接输出句子即可。"}], "max_tokens": 8,
        "steps": 8, "block_length": 8, "stream": True, "diffusion_frames": True}
s, _, ev = sse_events("/v1/chat/completions", body)
chunks = [json.loads(e) for e in ev[:-1]]
frames = [c["diffusion_frame"] for c in chunks if "diffusion_frame" in c]
check(s == 200 and 1 <= len(frames) <= 8, f"frames: {len(frames)} (status {s})")
if frames:
    check(frames[0]["canvas"].count(None) >= frames[-1]["canvas"].count(None), "masks do not decrease")
    check(all(len(f["canvas"]) == 8 for f in frames), "canvas length != 8")
    check(all(isinstance(f["committed"], list) for f in frames), "frame without 'committed'")
    check(all(c["object"] == "chat.completion.chunk" for c in chunks), "chat chunks' object")
s, _, t = request("POST", "/v1/chat/completions", dict(body, stream=False, diffusion_frames=False))
msg = json.loads(t)["choices"][0]["message"] if s == 200 else None
streamed = "".join(c["choices"][0].get("delta", {}).get("content", "") for c in chunks)
check(msg is not None and msg["role"] == "assistant" and msg["content"] == streamed,
      f"chat: non-stream {msg} vs stream {streamed!r}")

# --- errors: OpenAI shape, right status, the field named
for body, raw, status, param in [
    (None, b"{not json", 400, None),
    ({}, None, 400, "prompt"),
    ({"prompt": "x", "n": 2}, None, 400, "n"),
    ({"prompt": "x", "steps": 0}, None, 400, "steps"),
    ({"prompt": "x", "max_tokens": -1}, None, 400, "max_tokens"),
    ({"prompt": "x", "max_tokens": 100000}, None, 400, "max_tokens"),
    ({"prompt": "x", "remasking": "sideways"}, None, 400, "remasking"),
    ({"prompt": "x", "temperature": "hot"}, None, 400, "temperature"),
    ({"prompt": "x", "cache": "huge"}, None, 400, "cache"),
    ({"prompt": [1, 2, 99999999]}, None, 400, "prompt"),
    ({"prompt": "x", "stop": [1]}, None, 400, "stop"),
    ({"prompt": "x", "ar_recompute": True}, None, 400, "ar_recompute"),
]:
    s, _, t = request("POST", "/v1/completions", body, raw=raw)
    e = error_of(s, t)
    check(s == status and e is not None and (param is None or e.get("param") == param),
          f"error case {body or raw}: {s} {t[:200]}")
s, _, t = request("POST", "/v1/chat/completions", {"messages": [{"role": "robot", "content": "x"}]})
check(s == 400 and error_of(s, t)["param"] == "messages[0].role", f"bad role: {s} {t}")
s, _, t = request("GET", "/v1/nothing")
check(s == 404 and error_of(s, t) is not None, f"404: {s} {t}")
s, _, t = request("POST", "/v1/completions", raw=b'{"prompt": "' + b"x" * 20000 + b'"}')
check(s == 413 and error_of(s, t) is not None, f"413: {s} {t[:200]}")

# --- batching: concurrent requests with the same settings share batched calls
before = json.loads(request("GET", "/health")[2])
results = [None] * 6


def one(i):
    results[i] = request("POST", "/v1/completions", {"prompt": "春眠不觉晓，", "max_tokens": 16, "seed": 1})


threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
for th in threads:
    th.start()
for th in threads:
    th.join()
after = json.loads(request("GET", "/health")[2])
texts = {json.loads(r[2])["choices"][0]["text"] for r in results if r and r[0] == 200}
check(all(r and r[0] == 200 for r in results), f"batched requests failed: {[r[0] if r else None for r in results]}")
check(len(texts) == 1, f"identical requests gave different texts in a batch: {texts}")
check(after["batches"] - before["batches"] < 6, f"6 concurrent requests ran in {after['batches'] - before['batches']} batches")

# --- a client that leaves mid-stream: the server cancels it and stays up
sock = socket.create_connection(("127.0.0.1", PORT))
payload = json.dumps({"prompt": "白日依山尽，", "max_tokens": 64, "steps": 64, "stream": True,
                      "diffusion_frames": True}).encode()
sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
             + str(len(payload)).encode() + b"\r\n\r\n" + payload)
sock.recv(100)
sock.close()
deadline = time.time() + 60
while time.time() < deadline:
    h = json.loads(request("GET", "/health")[2])
    if h["cancelled"] > after["cancelled"] and h["running"] == 0:
        break
    time.sleep(0.2)
check(h["cancelled"] > after["cancelled"], f"the abandoned stream was not cancelled: {h}")
s, _, _ = request("GET", "/health")
check(s == 200, "server down after a disconnect")

# --- plain (non-streaming) answers that take long: a client that leaves is cancelled, one that stays
# gets the same answer as when the server is idle. Six requests of different settings (never batched
# together, and never stopping early at an EOS) keep the one worker busy for a few seconds; the two
# plain clients queue behind them.
base = json.loads(request("GET", "/health")[2])
blockers = [threading.Thread(target=request, args=("POST", "/v1/completions",
                                                   {"prompt": "白日依山尽，", "max_tokens": 96, "block_length": 96,
                                                    "steps": 96 - i, "logits_eos_inf": True}))
            for i in range(6)]
for th in blockers:
    th.start()
time.sleep(0.1)
stay_body = {"prompt": "床前明月光，", "max_tokens": 32, "block_length": 32, "steps": 31}
stay = [None]
stayer = threading.Thread(target=lambda: stay.__setitem__(0, request("POST", "/v1/completions", stay_body)))
stayer.start()
sock = socket.create_connection(("127.0.0.1", PORT))
payload = json.dumps({"prompt": "春眠不觉晓，", "max_tokens": 32, "block_length": 32, "steps": 30}).encode()
sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
             + str(len(payload)).encode() + b"\r\n\r\n" + payload)
time.sleep(0.2)
sock.close()
for th in blockers + [stayer]:
    th.join()
deadline = time.time() + 30
while time.time() < deadline:
    h = json.loads(request("GET", "/health")[2])
    if h["running"] == 0 and h["queued"] == 0:
        break
    time.sleep(0.2)
check(h["cancelled"] == base["cancelled"] + 1 and h["completed"] == base["completed"] + 7,
      f"the plain client that left was not cancelled (or another was): {base} -> {h}")
check(stay[0] and stay[0][0] == 200, f"the waiting plain client got {stay[0] and stay[0][:1]}")
alone = request("POST", "/v1/completions", stay_body)
try:
    waited, idle = answer_of(json.loads(stay[0][2])), answer_of(json.loads(alone[2]))
except (ValueError, KeyError, TypeError) as e:
    waited, idle = f"unreadable: {e}: {stay[0] and stay[0][2][:80]!r}", None
check(waited == idle, f"a plain answer sent after a wait differs from the idle server's: {waited!r} vs {idle!r}")

print("raw_http_check:", "ok" if not failures else f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
