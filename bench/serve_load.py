#!/usr/bin/python3
"""Load and fault test of llada-serve (docs/benchmarks.md, issue "Serving"): starts the server on the
shipped model and measures, on loopback,
  - latency p50 / p99 and total tokens/s at 1, 4 and 16 concurrent clients (closed loop, streaming
    off), and the throughput at 8 concurrent clients against the same requests one at a time;
  - faults: 64 concurrent clients of which a quarter leave mid-stream, plus malformed requests:
    every accepted request must complete or be cancelled, the server must stay up, and its peak
    memory (VmHWM) is reported.
Prints a markdown report. Standard library only.

usage: bench/serve_load.py [--serve build/release/llada-serve] [--model models/llada-poetry]
                           [--max-tokens 32] [--threads 2] [--requests 24]
"""
import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import threading
import time

PROMPTS = ["床前明月光", "白日依山尽", "春眠不觉晓", "红豆生南国", "独在异乡为异客", "慈母手中线", "千山鸟飞绝", "国破山河在"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def post(port, path, body, timeout=600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    c.request("POST", path, body=json.dumps(body, ensure_ascii=False).encode(), headers={"Content-Type": "application/json"})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def get(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def chat(i, max_tokens):
    return {"messages": [{"role": "user", "content": f"{PROMPTS[i % len(PROMPTS)]}的下一句是什么？ 直接输出句子即可。"}],
            "max_tokens": max_tokens}


def closed_loop(port, clients, total, max_tokens):
    """`clients` threads send `total` requests between them; latency per request, tokens, wall."""
    lat, toks, lock, nxt = [], [0], threading.Lock(), [0]

    def worker():
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= total:
                return
            t0 = time.perf_counter()
            s, data = post(port, "/v1/chat/completions", chat(i, max_tokens))
            dt = time.perf_counter() - t0
            with lock:
                if s == 200:
                    lat.append(dt)
                    toks[0] += json.loads(data)["usage"]["completion_tokens"]
    t0 = time.perf_counter()
    ts = [threading.Thread(target=worker) for _ in range(clients)]
    [t.start() for t in ts]
    [t.join() for t in ts]
    wall = time.perf_counter() - t0
    lat.sort()
    return {"clients": clients, "requests": len(lat), "p50": statistics.median(lat),
            "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))], "tokens_per_s": toks[0] / wall,
            "requests_per_s": len(lat) / wall, "wall": wall}


def vm_hwm_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def faults(port, pid, max_tokens):
    results, lock = [], threading.Lock()

    def leaver(i):  # reads the first event of a stream, then hangs up
        s = socket.create_connection(("127.0.0.1", port))
        body = json.dumps(dict(chat(i, max_tokens), stream=True, diffusion_frames=True)).encode()
        s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
        first = s.recv(200)
        s.close()
        with lock:
            results.append(("left", first.startswith(b"HTTP/1.1 200")))

    def stayer(i):
        s, data = post(port, "/v1/chat/completions", dict(chat(i, max_tokens), stream=bool(i % 2)))
        with lock:
            results.append(("stayed", s))

    def malformed(i):
        bodies = [b"{", b"[]", json.dumps({"messages": []}).encode(), json.dumps({"prompt": 5}).encode(),
                  json.dumps({"messages": [{"role": "user", "content": "x"}], "max_tokens": -3}).encode()]
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        path = "/v1/completions" if i % 2 else "/v1/chat/completions"
        c.request("POST", path, body=bodies[i % len(bodies)], headers={"Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        with lock:
            results.append(("malformed", r.status))

    before = json.loads(get(port, "/health")[1])
    threads = [threading.Thread(target=leaver if i % 4 == 0 else stayer, args=(i,)) for i in range(64)]
    threads += [threading.Thread(target=malformed, args=(i,)) for i in range(16)]
    random.Random(1).shuffle(threads)
    [t.start() for t in threads]
    [t.join() for t in threads]
    deadline = time.time() + 300
    while time.time() < deadline:
        h = json.loads(get(port, "/health")[1])
        if h["queued"] == 0 and h["running"] == 0:
            break
        time.sleep(0.5)
    after = json.loads(get(port, "/health")[1])
    stayed = [s for k, s in results if k == "stayed"]
    left = [ok for k, ok in results if k == "left"]
    bad = [s for k, s in results if k == "malformed"]
    accepted = len(stayed) + sum(left)
    finished = (after["completed"] - before["completed"]) + (after["cancelled"] - before["cancelled"])
    return {"stayed_ok": sum(1 for s in stayed if s == 200), "stayed": len(stayed), "left": len(left),
            "malformed_4xx": sum(1 for s in bad if 400 <= s < 500), "malformed": len(bad),
            "accepted": accepted, "completed_or_cancelled": finished,
            "cancelled": after["cancelled"] - before["cancelled"], "up": get(port, "/health")[0] == 200,
            "peak_rss_mb": vm_hwm_mb(pid)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--serve", default="build/release/llada-serve")
    ap.add_argument("--model", default="models/llada-poetry")
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--requests", type=int, default=24)
    a = ap.parse_args()
    port = free_port()
    proc = subprocess.Popen([a.serve, "--model", a.model, "--port", str(port), "--threads", str(a.threads),
                             "--gen-length", str(a.max_tokens), "--max-queue", "128", "--max-batch", "16"],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                if get(port, "/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        post(port, "/v1/chat/completions", chat(0, a.max_tokens))  # warm-up
        rows = [closed_loop(port, c, a.requests if c < 16 else 2 * a.requests, a.max_tokens) for c in (1, 4, 8, 16)]
        f = faults(port, proc.pid, a.max_tokens)
        print(f"llada-serve on {a.model}, max_tokens {a.max_tokens} (one block, steps = max_tokens), "
              f"{a.threads} threads, chat requests, streaming off\n")
        print("| concurrent clients | requests | p50 latency s | p99 latency s | requests/s | tokens/s |")
        print("|---|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['clients']} | {r['requests']} | {r['p50']:.2f} | {r['p99']:.2f} | {r['requests_per_s']:.2f} | "
                  f"{r['tokens_per_s']:.1f} |")
        one, eight = rows[0], rows[2]
        print(f"\nthroughput at 8 concurrent clients / one at a time: "
              f"{eight['requests_per_s'] / one['requests_per_s']:.2f}x requests/s")
        print(f"\nfaults: 64 clients ({f['left']} leave after the first event, {f['stayed']} stay: "
              f"{f['stayed_ok']} answered 200) + {f['malformed']} malformed ({f['malformed_4xx']} got 4xx); "
              f"accepted {f['accepted']}, completed or cancelled {f['completed_or_cancelled']} "
              f"({f['cancelled']} cancelled); server up: {f['up']}; peak RSS {f['peak_rss_mb']:.0f} MB")
        ok = f["up"] and f["stayed_ok"] == f["stayed"] and f["malformed_4xx"] == f["malformed"] and \
            f["completed_or_cancelled"] >= f["accepted"]
        print("fault check:", "ok" if ok else "FAILED")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
