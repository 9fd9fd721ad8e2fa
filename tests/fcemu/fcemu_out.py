"""fcemu_out: everything the emulator writes — log lines, console, metrics, journal.

Firecracker's logger writes `<local time> [<id>:<thread>[:LEVEL][:file:line]] msg`
to stdout until a log path is configured; a configured file/FIFO is opened
read-write without O_APPEND/O_TRUNC, so writing starts at offset 0 (NOTES §8).
The serial console is stdout too (or PUT /serial's file). Metrics are one JSON
object per line with counters reset at each flush. The journal is fcemu's own
record of requests, for tests.
"""

import datetime
import json
import os
import time

LEVEL_RANK = {"Off": 0, "Error": 1, "Warn": 2, "Info": 3, "Debug": 4, "Trace": 5}
LEVEL_TAG = {"Error": "ERROR", "Warn": "WARN", "Info": "INFO", "Debug": "DEBUG",
             "Trace": "TRACE"}


def write_all(fd, data):
    """Write bytes fully; a closed/full reader loses them, like FC's O_NONBLOCK."""
    try:
        while data:
            n = os.write(fd, data)
            data = data[n:]
    except (BlockingIOError, BrokenPipeError, OSError):
        pass


def open_like_fc(path):
    """Open a log/metrics target as FC does: create, rw, nonblocking, no append."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)


def rust_debug_str(s):
    """Rust's {:?} for a &str: quoted, with \\ \" \\n \\r \\t escaped."""
    out = ['"']
    for c in s:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


class Logger:
    """FC's logger: stdout until configured, then the configured file/FIFO."""

    def __init__(self, instance_id):
        self.id = instance_id
        self.fd = 1
        self.level = "Info"
        self.show_level = False
        self.show_origin = False
        self.module = None

    def configure(self, path=None, level=None, show_level=None, show_origin=None,
                  module=None):
        """Apply a logger config; raises OSError if the path cannot be opened."""
        if path is not None:
            fd = open_like_fc(path)
            if self.fd != 1:
                os.close(self.fd)
            self.fd = fd
        if level is not None:
            self.level = level
        if show_level is not None:
            self.show_level = show_level
        if show_origin is not None:
            self.show_origin = show_origin
        if module is not None:
            self.module = module

    def log(self, level, thread, msg, module="firecracker", origin="src/firecracker/src/main.rs:0"):
        if LEVEL_RANK[level] > LEVEL_RANK[self.level]:
            return
        if self.module and not module.startswith(self.module):
            return
        now = datetime.datetime.now()
        ts = now.strftime("%Y-%m-%dT%H:%M:%S") + ".%09d" % (now.microsecond * 1000)
        tag = f"{self.id}:{thread}"
        if self.show_level:
            tag += ":" + LEVEL_TAG[level]
        if self.show_origin:
            tag += ":" + origin
        write_all(self.fd, f"{ts} [{tag}] {msg}\n".encode())


class Console:
    """The guest's serial port output: stdout, or PUT /serial's file."""

    def __init__(self):
        self.fd = 1
        self.enabled = False  # set at boot from the kernel command line

    def redirect(self, path):
        fd = open_like_fc(path)
        if self.fd != 1:
            os.close(self.fd)
        self.fd = fd

    def lines(self, lines):
        if not self.enabled:
            return
        write_all(self.fd, "".join(line + "\r\n" for line in lines).encode())


METRIC_GROUPS = ["api_server", "balloon", "block", "deprecated_api", "entropy",
                 "get_api_requests", "i8042", "interrupts", "latencies_us", "logger",
                 "mmds", "net", "patch_api_requests", "put_api_requests", "seccomp",
                 "signals", "uart", "vcpu", "vmm", "vsock"]


class Metrics:
    """Once-per-process metrics sink; counters are deltas since the last line."""

    def __init__(self):
        self.fd = None
        self.counters = {}

    def init(self, path):
        self.fd = open_like_fc(path)

    def inc(self, group, name, n=1):
        g = self.counters.setdefault(group, {})
        g[name] = g.get(name, 0) + n

    def flush(self, drive_ids=(), iface_ids=()):
        if self.fd is None:
            return
        line = {"utc_timestamp_ms": int(time.time() * 1000)}
        groups = list(METRIC_GROUPS) + [f"block_{d}" for d in drive_ids] + \
            [f"net_{i}" for i in iface_ids]
        for g in sorted(groups):
            line[g] = dict(self.counters.get(g, {}))
        self.counters = {}
        write_all(self.fd, (json.dumps(line, separators=(",", ":")) + "\n").encode())


class Journal:
    """Appends JSON lines to $FCEMU_JOURNAL_DIR/<id>.jsonl (no-op when unset)."""

    def __init__(self, directory, instance_id):
        self.path = os.path.join(directory, f"{instance_id}.jsonl") if directory else None

    def record(self, obj):
        if not self.path:
            return
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(obj) + "\n")
