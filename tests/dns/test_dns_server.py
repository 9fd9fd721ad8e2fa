"""banger's DNS responder as a resolver sees it: dig against dns-test-server
(the real server code over a fixed name table) on 127.0.0.1.

Other zones are checked both ways: with no upstream they get REFUSED; with
an upstream (a tiny fake resolver in this file, also on loopback) they are
forwarded and the answer comes back. Nothing leaves loopback.

The binary is $DNS_TEST_SERVER, else $BUILD/src/dns/dns-test-server
(BUILD defaults to `build`, as in the Makefile).
"""
import os
import random
import re
import socket
import struct
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TABLE = ["calm-otter=10.0.0.2", "busy-bee=10.0.0.3"]


def server_binary():
    env = os.environ.get("DNS_TEST_SERVER")
    path = Path(env) if env else REPO / os.environ.get("BUILD", "build") / "src/dns/dns-test-server"
    if not path.exists():
        pytest.fail(f"{path} is missing: build it (ninja -C build) or set DNS_TEST_SERVER")
    return path


class Server:
    """One dns-test-server process; its debug log goes to a temp file."""

    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile(prefix="dns-test-server-", suffix=".log")
        self.proc = subprocess.Popen(
            [str(server_binary()), *args],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if not line.strip().isdigit():
            self.stop()
            pytest.fail(f"dns-test-server did not start: {self.log_text()}")
        self.port = int(line)

    def log_text(self):
        with open(self.log.name) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


@pytest.fixture
def server():
    s = Server(*TABLE)
    yield s
    s.stop()


def dig(port, *args):
    out = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(port), "+time=3", "+tries=1", *args],
        capture_output=True, text=True, timeout=30)
    return out.stdout


def status(output):
    m = re.search(r"status: (\w+)", output)
    assert m, f"no status in dig output:\n{output}"
    return m.group(1)


def flags(output):
    m = re.search(r";; flags: ([a-z ]+);", output)
    assert m, f"no flags in dig output:\n{output}"
    return m.group(1).split()


def test_a_record(server):
    assert dig(server.port, "calm-otter.vm", "A", "+short").split() == ["10.0.0.2"]
    assert dig(server.port, "busy-bee.vm", "A", "+short").split() == ["10.0.0.3"]


def test_a_record_is_authoritative_with_short_ttl(server):
    out = dig(server.port, "calm-otter.vm", "A")
    assert status(out) == "NOERROR"
    assert "aa" in flags(out)
    assert re.search(r"^calm-otter\.vm\.\s+5\s+IN\s+A\s+10\.0\.0\.2$", out, re.M), out


def test_case_insensitive_and_question_echoed(server):
    out = dig(server.port, "CALM-Otter.VM", "A")
    assert status(out) == "NOERROR"
    assert ";CALM-Otter.VM.\t" in out  # question in the asker's case
    assert re.search(r"IN\s+A\s+10\.0\.0\.2$", out, re.M), out


def test_unknown_name_is_nxdomain_with_soa(server):
    out = dig(server.port, "nobody.vm", "A")
    assert status(out) == "NXDOMAIN"
    assert "aa" in flags(out)
    assert re.search(r"^vm\.\s+5\s+IN\s+SOA\s+vm\. hostmaster\.vm\. 1 3600 600 86400 5$",
                     out, re.M), out


def test_aaaa_for_known_name_is_empty(server):
    assert dig(server.port, "calm-otter.vm", "AAAA", "+short").strip() == ""
    out = dig(server.port, "calm-otter.vm", "AAAA")
    assert status(out) == "NOERROR"
    assert "ANSWER: 0," in out
    assert "AUTHORITY: 1," in out


def test_tcp(server):
    assert dig(server.port, "calm-otter.vm", "A", "+tcp", "+short").split() == ["10.0.0.2"]
    assert status(dig(server.port, "nobody.vm", "A", "+tcp")) == "NXDOMAIN"


def test_without_edns(server):
    out = dig(server.port, "calm-otter.vm", "A", "+noedns")
    assert status(out) == "NOERROR"
    assert "OPT PSEUDOSECTION" not in out
    assert re.search(r"IN\s+A\s+10\.0\.0\.2$", out, re.M), out


def test_zone_apex_soa(server):
    assert dig(server.port, "vm", "SOA", "+short").strip() == \
        "vm. hostmaster.vm. 1 3600 600 86400 5"


def test_other_zone_refused_without_upstream(server):
    out = dig(server.port, "example.com", "A")
    assert status(out) == "REFUSED"
    assert "aa" not in flags(out)


class FakeUpstream:
    """A resolver on 127.0.0.1 that answers every A query with 192.0.2.7."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                return
            if data == b"stop":
                return
            self.queries.append(data)
            qid, _, qd = struct.unpack(">HHH", data[:6])
            end = data.index(b"\0", 12) + 5  # question: name, type, class
            reply = struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + data[12:end]
            reply += b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + bytes([192, 0, 2, 7])
            self.sock.sendto(reply, peer)

    def stop(self):
        self.sock.sendto(b"stop", ("127.0.0.1", self.port))
        self.thread.join(5)
        self.sock.close()


def test_other_zone_forwarded_to_upstream():
    up = FakeUpstream()
    s = Server("--upstream", f"127.0.0.1:{up.port}", *TABLE)
    try:
        assert dig(s.port, "example.com", "A", "+short").split() == ["192.0.2.7"]
        assert dig(s.port, "example.com", "A", "+tcp", "+short").split() == ["192.0.2.7"]
        assert len(up.queries) == 2
        # vm. names never go upstream.
        assert dig(s.port, "calm-otter.vm", "A", "+short").split() == ["10.0.0.2"]
        assert status(dig(s.port, "nobody.vm", "A")) == "NXDOMAIN"
        assert len(up.queries) == 2
    finally:
        s.stop()
        up.stop()


def test_chain_of_two_instances():
    """Other zones relayed twice (banger -> second instance -> upstream) come
    back with the client's own ID, and each instance answers its own table."""
    up = FakeUpstream()
    second = Server("--upstream", f"127.0.0.1:{up.port}", "other=10.9.9.9")
    first = Server("--upstream", f"127.0.0.1:{second.port}", *TABLE)
    try:
        assert dig(first.port, "example.org", "A", "+short").split() == ["192.0.2.7"]
        assert dig(first.port, "calm-otter.vm", "A", "+short").split() == ["10.0.0.2"]
        assert dig(second.port, "other.vm", "A", "+short").split() == ["10.9.9.9"]
    finally:
        first.stop()
        second.stop()
        up.stop()


def test_dead_upstream_gives_servfail():
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    dead_port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more
    s = Server("--upstream", f"127.0.0.1:{dead_port}", *TABLE)
    try:
        assert status(dig(s.port, "example.com", "A")) == "SERVFAIL"
    finally:
        s.stop()


def test_garbage_does_not_kill_it(server):
    rng = random.Random(20240601)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(300):
        size = rng.choice([0, 1, 5, 11, 12, 13, 40, 300, 1500])
        pkt = bytearray(rng.getrandbits(8) for _ in range(size))
        if i % 2 and size >= 12:
            pkt[2] &= 0x07  # a plausible query header: QR=0, opcode QUERY
            pkt[4:6] = b"\x00\x01"
        sock.sendto(bytes(pkt), ("127.0.0.1", server.port))
    # A TCP client that sends a length prefix and half a message, then leaves.
    with socket.create_connection(("127.0.0.1", server.port)) as t:
        t.sendall(b"\x00\x40garbage")
    sock.close()
    assert dig(server.port, "calm-otter.vm", "A", "+short").split() == ["10.0.0.2"]
    assert dig(server.port, "calm-otter.vm", "A", "+tcp", "+short").split() == ["10.0.0.2"]
    assert server.alive()
    assert re.search(r'"dropped_total":[1-9]', server.log_text())
