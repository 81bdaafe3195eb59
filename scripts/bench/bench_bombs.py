"""Peak memory of the serving layer per decompression, parse and record bomb (issue 12); not a timed test.

Each bomb is sent to a real serving layer (uvicorn, embedded topics, no model) started in a fresh subprocess, so that
the subprocess's peak RSS (ru_maxrss) is what that one request cost, next to the RSS of the idle server.

Usage: .venv/bin/python scripts/bench/bench_bombs.py [--only NAME]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import resource, sys, threading, time
import uvicorn
from oryxpy.config import load_config
from serving.layer import server_config
config = load_config(environ={}, sets=sys.argv[1:])
server = uvicorn.Server(server_config(config))
def report():
    import os
    while True:
        line = sys.stdin.readline()
        if not line:
            os._exit(0)
        print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, flush=True)
threading.Thread(target=report, daemon=True).start()
server.run()
"""


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9)


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def _multipart(data: bytes, ctype: str) -> tuple[bytes, str]:
    head = (b'--B\r\nContent-Disposition: form-data; name="f"; filename="f"\r\nContent-Type: ' + ctype.encode()
            + b"\r\n\r\n")
    return head + data + b"\r\n--B--\r\n", "multipart/form-data; boundary=B"


def bombs() -> dict[str, tuple[str, str, bytes, dict[str, str]]]:
    """name -> (method, path, body, headers): the requests of issue 12, at their original sizes."""
    empty_objects = _gz(b"[" + b"{}," * 40_000_000 + b"{}]")
    lines = _gz(b"u,i\n" * 4_000_000)
    zipped, ctype = _multipart(_zip("a.csv", b"u,i,1\n" * 40_000_000), "application/zip")
    nested, nested_type = _multipart(_gz(b"u,i,1\n" * 40_000_000), "application/gzip")
    return {
        "item-gzip-empty-objects": ("POST", "/item/x", empty_objects, {"Content-Encoding": "gzip",
                                                                         "Content-Type": "application/json"}),
        "ingest-gzip-4M-lines": ("POST", "/ingest", lines, {"Content-Encoding": "gzip"}),
        "ingest-multipart-zip": ("POST", "/ingest", zipped, {"Content-Type": ctype}),
        "ingest-gzip-multipart-gzip": ("POST", "/ingest", _gz(nested), {"Content-Type": nested_type,
                                                                       "Content-Encoding": "gzip"}),
        "ingest-deep-json": ("POST", "/ingest", b"[" * 1_000_000 + b"]" * 1_000_000, {}),
        "item-deep-json": ("POST", "/item/x", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, {}),
        "ingest-16MiB-id": ("POST", "/ingest", b"x" * (16 << 20) + b",50\n", {}),
        "pref-8000-char-id": ("POST", "/pref/" + "u" * 8000 + "/50", b"", {}),
        # not a bomb: the largest request that is accepted by default, for scale
        "ingest-1M-records-accepted": ("POST", "/ingest", _gz(b"".join(b"user%d,item%d,1\n" % (n, n % 977)
                                                                       for n in range(1_000_000))),
                                       {"Content-Encoding": "gzip"}),
    }


BATCH = """
import resource, sys, time
from batch.interactions import aggregate, parse_events
records = [f"user{n},item{n % 1682},1.0,{1_700_000_000_000 + n}" for n in range(int(sys.argv[1]))]
records[7] = "u" * 1024 + ",50,1.0,1700000000000"  # the longest ID allowed by default
records += ["u,50,1,99999999999999999999999", "x" * 20000 + ",50,1.0,5", "a,b,i,1.0,5"]  # poison, skipped
started = time.monotonic()
events, bad = parse_events(records)
users = aggregate(events, True)[0]
print(len(users), bad, round(time.monotonic() - started, 1), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def measure_batch(records: int) -> dict[str, object]:
    """Peak RSS of the batch layer's parse and aggregation of ``records`` records with one ID of 1,024 bytes."""
    out = subprocess.run([sys.executable, "-c", BATCH, str(records)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True).stdout.split()
    return {"bomb": f"batch-{records}-records-one-1024-byte-id", "users": int(out[0]), "bad_records": int(out[1]),
            "seconds": float(out[2]), "peak_rss_mb": round(int(out[3]) / 1024)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(name: str, request: tuple[str, str, bytes, dict[str, str]], state: Path) -> dict[str, object]:
    port = free_port()
    sets = [f"oryx.embedded.state-dir={state / name}", f"oryx.serving.api.port={port}"]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, *sets], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300) as client:
            deadline = time.monotonic() + 60
            while True:
                try:
                    client.get("/")
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write("\n")
            proc.stdin.flush()
            idle_kb = int(proc.stdout.readline())
            method, path, body, headers = request
            started = time.monotonic()
            response = client.request(method, path, content=body, headers=headers)
            seconds = time.monotonic() - started
            proc.stdin.write("\n")
            proc.stdin.flush()
            peak_kb = int(proc.stdout.readline())
        return {"bomb": name, "sent_bytes": len(body), "status": response.status_code, "seconds": round(seconds, 2),
                "idle_rss_mb": round(idle_kb / 1024), "peak_rss_mb": round(peak_kb / 1024),
                "answer": response.text[:90]}
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run just this bomb")
    args = parser.parse_args()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "  # noqa: T201
          f"Python {platform.python_version()}; defaults (max-body-bytes 64 MiB, max-records 1,000,000)")
    with tempfile.TemporaryDirectory() as tmp:
        for name, request in bombs().items():
            if args.only and name != args.only:
                continue
            print(json.dumps(measure(name, request, Path(tmp))), flush=True)  # noqa: T201
    if not args.only or args.only == "batch":
        print(json.dumps(measure_batch(2_000_000)), flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
