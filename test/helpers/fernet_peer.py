"""Python `cryptography` as the Fernet peer for the interop tests.

Reads one JSON request from stdin, writes one JSON answer to stdout, so a
whole batch of tokens costs one process. Payloads travel as base64; results
of decryption travel back as SHA-256 digests to keep the pipe small.

Requests:
  {"op": "encrypt", "keys": [k...], "payloads": [b64...]}
      -> {"tokens": [...]}            (MultiFernet(keys): encrypts with keys[0])
  {"op": "decrypt", "keys": [k...], "tokens": [...]}
      -> {"results": [{"ok": true, "sha256": hex, "length": n, "timestamp": t} | {"ok": false}]}
  {"op": "generate_keys", "count": n} -> {"keys": [...]}
"""
import base64
import hashlib
import json
import sys

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def ring(keys):
    return MultiFernet([Fernet(k) for k in keys])


def timestamp_of(fernets, token):
    # MultiFernet.extract_timestamp only exists from cryptography 39 (Debian 12 ships 38).
    for f in fernets:
        try:
            return f.extract_timestamp(token)
        except InvalidToken:
            pass
    return None


def main():
    request = json.load(sys.stdin)
    op = request["op"]
    if op == "encrypt":
        f = ring(request["keys"])
        tokens = [f.encrypt(base64.b64decode(p)).decode("ascii") for p in request["payloads"]]
        json.dump({"tokens": tokens}, sys.stdout)
    elif op == "decrypt":
        f = ring(request["keys"])
        singles = [Fernet(k) for k in request["keys"]]
        results = []
        for token in request["tokens"]:
            try:
                plaintext = f.decrypt(token)
            except InvalidToken:
                results.append({"ok": False})
                continue
            results.append(
                {
                    "ok": True,
                    "sha256": hashlib.sha256(plaintext).hexdigest(),
                    "length": len(plaintext),
                    "timestamp": timestamp_of(singles, token),
                }
            )
        json.dump({"results": results}, sys.stdout)
    elif op == "generate_keys":
        json.dump({"keys": [Fernet.generate_key().decode("ascii") for _ in range(request["count"])]}, sys.stdout)
    else:
        raise SystemExit(f"unknown op {op!r}")


if __name__ == "__main__":
    main()
