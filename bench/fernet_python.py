#!/usr/bin/env python3
"""Python side of `npm run bench -- fernet`: cryptography.fernet.Fernet, timed
in this one process on the payloads and key the Node side hands over.

Reads one JSON request on stdin, writes one JSON answer on stdout.

  {"mode": "check", "key": "...", "cases": [{"size": n, "payload": path, "token": path}]}
      Decrypts each token (made by the project's Fernet) and compares it with
      its payload; encrypts each payload and returns the token, so the Node
      side can decrypt it. Nothing is timed.

  {"mode": "bench", "key": "...", "payloads": [{"size": n, "path": path}],
   "budget_s": 0.3, "rounds": 7, "warmup_s": 0.05}
      For each size, encrypt and decrypt (of a token Python made itself) are
      timed with time.perf_counter_ns: a warm-up that also estimates the cost
      of one call, then `rounds` batches sized to fill `budget_s` together,
      alternating encrypt and decrypt batches. The median batch gives ns/op.
"""

import json
import platform
import statistics
import sys
import time

import cryptography
from cryptography.fernet import Fernet


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def batch(fn, arg, n):
    start = time.perf_counter_ns()
    for _ in range(n):
        fn(arg)
    return time.perf_counter_ns() - start


def warm_up(fn, arg, warmup_ns):
    """Runs fn until warmup_ns have passed (at least twice); returns ns per call."""
    calls = 0
    start = time.perf_counter_ns()
    elapsed = 0
    while calls < 2 or elapsed < warmup_ns:
        fn(arg)
        calls += 1
        elapsed = time.perf_counter_ns() - start
    return elapsed / calls


def check(request):
    f = Fernet(request["key"].encode("ascii"))
    results = []
    for case in request["cases"]:
        payload = read_bytes(case["payload"])
        our_token = read_bytes(case["token"])
        try:
            ok = f.decrypt(our_token) == payload
            error = None
        except Exception as e:  # report any failure as data, never crash the bench
            ok = False
            error = type(e).__name__
        results.append(
            {
                "size": case["size"],
                "decrypts_ours": ok,
                "error": error,
                "python_token": f.encrypt(payload).decode("ascii"),
            }
        )
    return {"results": results}


def bench(request):
    f = Fernet(request["key"].encode("ascii"))
    budget_ns = int(request["budget_s"] * 1e9)
    warmup_ns = int(request["warmup_s"] * 1e9)
    rounds = int(request["rounds"])
    results = []
    for item in request["payloads"]:
        payload = read_bytes(item["path"])
        token = f.encrypt(payload)
        assert f.decrypt(token) == payload

        ops = {"encrypt": (f.encrypt, payload), "decrypt": (f.decrypt, token)}
        per_round = {}
        for name, (fn, arg) in ops.items():
            estimate = warm_up(fn, arg, warmup_ns)
            per_round[name] = max(1, int(budget_ns / rounds / estimate))
        samples = {name: [] for name in ops}
        for r in range(rounds):
            # Alternate which op goes first, as the Node side rotates its order.
            order = list(ops) if r % 2 == 0 else list(reversed(list(ops)))
            for name in order:
                fn, arg = ops[name]
                n = per_round[name]
                samples[name].append(batch(fn, arg, n) / n)
        entry = {"size": item["size"]}
        for name in ops:
            entry[name] = {
                "ns_per_op": statistics.median(samples[name]),
                "samples_ns": samples[name],
                "iterations_per_round": per_round[name],
            }
        results.append(entry)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "cryptography": cryptography.__version__,
        "results": results,
    }


def main():
    request = json.load(sys.stdin)
    mode = request.get("mode")
    if mode == "check":
        answer = check(request)
    elif mode == "bench":
        answer = bench(request)
    else:
        print(f"unknown mode: {mode!r}", file=sys.stderr)
        return 2
    json.dump(answer, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
