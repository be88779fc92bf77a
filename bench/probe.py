#!/usr/bin/env python3
"""A light observer of how fast a server answers, beside a load generator that may be saturating its
own core: one request every 1/RATE seconds on one kept-alive connection (a new one when the server
closes it), timed from the request's first byte written to its answer's last byte read, on a thread that
does nothing else. The request is `GET /v1/patient/wallet` without a session: admitted, the
application answers 401 at once; refused for overload, the server answers 503 at its door. Writes one
JSON object: the answers by status, and the latency percentiles of the 503s and of the rest.

    bench/probe.py PORT SECONDS [RATE] > probe.json
"""
import json
import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
rate = float(sys.argv[3]) if len(sys.argv) > 3 else 100.0
request = b"GET /v1/patient/wallet HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"


def connect():
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def answer(s):
    """Reads one HTTP/1.1 answer; returns (status, keep_alive)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        body += chunk
    return status, headers.get("connection", "").lower() != "close"


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p / 100))]


refused, admitted, statuses, errors = [], [], {}, 0
s = connect()
start = time.monotonic()
next_at = start
while time.monotonic() - start < seconds:
    now = time.monotonic()
    if now < next_at:
        time.sleep(next_at - now)
    next_at += 1 / rate
    try:
        sent = time.perf_counter()
        s.sendall(request)
        status, keep = answer(s)
        took = (time.perf_counter() - sent) * 1000
    except OSError:
        errors += 1
        s.close()
        s = connect()
        continue
    statuses[status] = statuses.get(status, 0) + 1
    (refused if status == 503 else admitted).append(took)
    if not keep:
        s.close()
        s = connect()

summary = {"rate": rate, "seconds": seconds, "statuses": statuses, "errors": errors}
for name, values in (("refused", refused), ("admitted", admitted)):
    summary[name] = {
        "count": len(values),
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "max_ms": max(values) if values else None,
    }
json.dump(summary, sys.stdout)
print()
