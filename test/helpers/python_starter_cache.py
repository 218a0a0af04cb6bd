"""The Python FastAPI starter's cache format, written and read by Python itself.

Values are stored as the starter stores them:
    Fernet(key).encrypt(json.dumps({"_serialized_data": "rawj:" + json.dumps(value)}).encode())
(the text token's bytes). redis-py is not needed: a few lines of RESP over a
socket send exactly the bytes a Python client would.

Usage (one JSON request on stdin, one JSON answer on stdout):
  {"op": "write", "host": h, "port": p, "key": fernet_key, "ttl": s,
   "entries": [{"redis_key": k, "value": v}, ...]}              -> {"written": n}
  {"op": "read", "host": h, "port": p, "keys": [fernet_key, ...],
   "redis_keys": [k, ...]}                                       -> {"values": [v | null, ...]}
"""
import json
import socket
import sys

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class Resp:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.file = self.sock.makefile("rb")

    def command(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self.reply()

    def reply(self):
        line = self.file.readline().rstrip(b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            data = self.file.read(length + 2)[:-2]
            return data
        raise RuntimeError("unexpected reply %r" % line[:20])


def starter_encode(fernet, value):
    wrapped = {"_serialized_data": "rawj:" + json.dumps(value)}
    return fernet.encrypt(json.dumps(wrapped).encode("utf-8"))


def starter_decode(fernet, token):
    wrapped = json.loads(fernet.decrypt(token).decode("utf-8"))
    serialized = wrapped["_serialized_data"]
    if not serialized.startswith("rawj:"):
        raise ValueError("unsupported serialization")
    return json.loads(serialized[len("rawj:"):])


def main():
    request = json.load(sys.stdin)
    redis = Resp(request["host"], request["port"])
    if request["op"] == "write":
        fernet = Fernet(request["key"])
        for entry in request["entries"]:
            redis.command("SET", entry["redis_key"], starter_encode(fernet, entry["value"]), "EX", request["ttl"])
        json.dump({"written": len(request["entries"])}, sys.stdout)
    elif request["op"] == "read":
        fernet = MultiFernet([Fernet(k) for k in request["keys"]])
        values = []
        for redis_key in request["redis_keys"]:
            raw = redis.command("GET", redis_key)
            try:
                values.append({"ok": True, "value": starter_decode(fernet, raw)} if raw is not None else {"ok": False})
            except (InvalidToken, ValueError, KeyError):
                values.append({"ok": False})
        json.dump({"values": values}, sys.stdout)
    else:
        raise SystemExit("unknown op")


if __name__ == "__main__":
    main()
