"""Shared helpers for banger's benchmarks: an isolated banger home inside a
throw-away network namespace, and timing utilities. Benchmarks print
figures and ratios; they assert nothing."""
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
from conftest import Env  # noqa: E402


class Bench:
    def __enter__(self):
        self.ns = "bgb-" + secrets.token_hex(4)
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up"],
                       check=True)
        self.tmp = tempfile.mkdtemp(prefix="banger-bench-")
        self.env = Env(self.tmp, self.ns)
        self.env.default_config()
        return self.env

    def __exit__(self, *a):
        self.env.stop_daemon()
        self.env.kill_vmms()
        shutil.rmtree(self.env.runtime, ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)
        subprocess.run(["ip", "netns", "del", self.ns], check=False)


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def median_ms(samples):
    return statistics.median(samples) * 1000


def http_get(sock_path, path):
    """One HTTP/1.1 GET over a Unix socket, returning the status code."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock_path)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: banger\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return int(data.split(b" ", 2)[1])


def row(label, ms, base_ms=None):
    ratio = f"  ({ms / base_ms:.1f}x)" if base_ms else ""
    print(f"  {label:<44} {ms:9.3f} ms{ratio}")
