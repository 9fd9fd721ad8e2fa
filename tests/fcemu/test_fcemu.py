"""Tests for fcemu, the strict Firecracker emulator: it must accept the documented
sequence from api-examples.md and refuse what Firecracker v1.16.1 refuses.

Run: /usr/bin/python3 -m pytest tests/fcemu
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest

HERE = os.path.dirname(os.path.realpath(__file__))
FC = os.path.join(HERE, "firecracker")


# -- client helper: raw HTTP/1.1 over AF_UNIX --------------------------------

class Client:
    """One keep-alive API connection, parsing responses by hand."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(path)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send_raw(self, data):
        self.sock.sendall(data)

    def request(self, method, path, body=None, raw_body=None, extra=""):
        data = raw_body if raw_body is not None else (
            json.dumps(body).encode() if body is not None else None)
        head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
        if data is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        head += extra + "\r\n"
        self.sock.sendall(head.encode() + (data or b""))
        return self.read_response()

    def read_response(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed; have {self.buf!r}")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status_line = lines[0]
        headers = {}
        for line in lines[1:]:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        body, self.buf = self.buf[:n], self.buf[n:]
        return Response(status_line, headers, body.decode())


class Response:
    def __init__(self, status_line, headers, body):
        self.status_line = status_line
        self.status = int(status_line.split(" ")[1])
        self.headers = headers
        self.text = body

    def json(self):
        return json.loads(self.text)

    @property
    def fault(self):
        return self.json()["fault_message"]


# -- process fixture -------------------------------------------------------------

class Emu:
    """A running emulator with its socket, stdout file and journal."""

    def __init__(self, tmp, vm_id="devbox", args=(), prefix=(), behaviour=None):
        self.tmp = tmp
        self.id = vm_id
        self.sock = str(tmp / "fc.sock")
        self.stdout_path = tmp / "stdout.txt"
        self.stderr_path = tmp / "stderr.txt"
        self.journal_dir = tmp / "journal"
        self.journal_dir.mkdir(exist_ok=True)
        self.config = tmp / "fcemu.json"
        if behaviour is not None:
            self.config.write_text(json.dumps(behaviour))
        env = dict(os.environ, FCEMU_JOURNAL_DIR=str(self.journal_dir),
                   FCEMU_CONFIG=str(self.config))
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                list(prefix) + [FC, "--api-sock", self.sock, "--id", vm_id, *args],
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        self.clients = []
        deadline = time.monotonic() + 5
        while True:
            try:
                self.client = self.connect()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"emulator did not come up: {self.stderr()}")
                time.sleep(0.02)

    def connect(self):
        c = Client(self.sock)
        self.clients.append(c)
        return c

    def req(self, method, path, body=None, **kw):
        return self.client.request(method, path, body, **kw)

    def stdout(self):
        return self.stdout_path.read_bytes().decode(errors="replace")

    def stderr(self):
        return self.stderr_path.read_text(errors="replace")

    def journal(self):
        p = self.journal_dir / f"{self.id}.jsonl"
        return [json.loads(line) for line in p.read_text().splitlines()]

    def wait_stdout(self, needle, timeout=5):
        deadline = time.monotonic() + timeout
        while needle not in self.stdout():
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not in stdout:\n{self.stdout()}")
            time.sleep(0.02)

    def wait_exit(self, timeout=5):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        for c in self.clients:
            c.close()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def files(tmp_path):
    """Kernel (ELF magic), a non-ELF kernel, disk images."""
    d = tmp_path / "files"
    d.mkdir()
    (d / "vmlinux").write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 4089)
    (d / "bzImage").write_bytes(b"MZ" + b"\0" * 4094)
    for name in ("rootfs.ext4", "base.ext4", "home.ext4", "scratch.ext4"):
        with open(d / name, "wb") as f:
            f.truncate(1 << 20)
    return d


@pytest.fixture
def emu(tmp_path):
    started = []

    def start(**kw):
        e = Emu(tmp_path, **kw)
        started.append(e)
        return e
    yield start
    for e in started:
        e.stop()


def base_config(e, files, boot_args="console=ttyS0 reboot=k panic=1"):
    assert e.req("PUT", "/machine-config", {"vcpu_count": 2, "mem_size_mib": 256}).status == 204
    assert e.req("PUT", "/boot-source", {"kernel_image_path": str(files / "vmlinux"),
                                         "boot_args": boot_args}).status == 204
    assert e.req("PUT", "/drives/rootfs", {"drive_id": "rootfs",
                                           "path_on_host": str(files / "rootfs.ext4"),
                                           "is_root_device": True,
                                           "is_read_only": False}).status == 204


def boot(e, files):
    base_config(e, files)
    r = e.req("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 204, r.text
    e.wait_stdout("login:")


# -- netns helpers for tap tests --------------------------------------------------

def have_netns():
    return os.geteuid() == 0 and shutil.which("ip") is not None and \
        os.path.exists("/dev/net/tun")


@pytest.fixture
def netns():
    if not have_netns():
        pytest.skip("needs root, iproute2 and /dev/net/tun for a throw-away netns")
    name = f"fcemu-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "tuntap", "add", "dev", "bgr-devbox0", "mode", "tap"],
                       check=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False)


# -- the documented happy path -----------------------------------------------------

def test_api_examples_sequence_is_accepted(emu, files, tmp_path, netns):
    e = emu(prefix=["ip", "netns", "exec", netns])
    log, metrics = tmp_path / "firecracker.log", tmp_path / "metrics.ndjson"
    r = e.req("GET", "/")
    assert r.status == 200 and r.status_line == "HTTP/1.1 200 "
    assert r.json() == {"id": "devbox", "state": "Not started", "vmm_version": "1.16.1",
                        "app_name": "Firecracker"}
    assert e.req("GET", "/version").json() == {"firecracker_version": "1.16.1"}
    steps = [
        ("/logger", {"log_path": str(log), "level": "Info", "show_level": True,
                     "show_log_origin": False}),
        ("/metrics", {"metrics_path": str(metrics)}),
        ("/machine-config", {"vcpu_count": 2, "mem_size_mib": 2048, "smt": False,
                             "track_dirty_pages": False}),
        ("/boot-source", {"kernel_image_path": str(files / "vmlinux"),
                          "boot_args": "console=ttyS0 reboot=k panic=1"}),
        ("/drives/rootfs", {"drive_id": "rootfs", "path_on_host": str(files / "rootfs.ext4"),
                            "is_root_device": True, "is_read_only": False}),
        ("/drives/base", {"drive_id": "base", "path_on_host": str(files / "base.ext4"),
                          "is_root_device": False, "is_read_only": True}),
        ("/drives/home", {"drive_id": "home", "path_on_host": str(files / "home.ext4"),
                          "is_root_device": False, "is_read_only": False,
                          "cache_type": "Writeback"}),
        ("/drives/scratch", {"drive_id": "scratch", "path_on_host": str(files / "scratch.ext4"),
                             "is_root_device": False, "is_read_only": False, "io_engine": "Sync",
                             "rate_limiter": {"bandwidth": {"size": 104857600, "refill_time": 1000},
                                              "ops": {"size": 5000, "refill_time": 1000}}}),
        ("/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "bgr-devbox0",
                                      "guest_mac": "06:00:ac:10:00:02"}),
    ]
    for path, body in steps:
        r = e.req("PUT", path, body)
        assert r.status == 204, (path, r.text)
        assert r.status_line == "HTTP/1.1 204 " and "content-length" not in r.headers
        assert r.headers["server"] == "Firecracker API"
        assert r.headers["connection"] == "keep-alive"
    cfg = e.req("GET", "/vm/config").json()
    assert [d["drive_id"] for d in cfg["drives"]] == ["rootfs", "base", "home", "scratch"]
    assert cfg["drives"][0]["partuuid"] is None and cfg["drives"][0]["io_engine"] == "Sync"
    assert cfg["machine-config"] == {"vcpu_count": 2, "mem_size_mib": 2048, "smt": False,
                                     "track_dirty_pages": False, "huge_pages": "None"}
    assert cfg["logger"] is None and cfg["metrics"] is None and cfg["pmem"] == []
    assert cfg["network-interfaces"][0]["mtu"] is None
    assert e.req("PUT", "/actions", {"action_type": "InstanceStart"}).status == 204
    e.wait_stdout("login:")
    assert ("Command line: console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw "
            "virtio_mmio.device=4K@0xc0001000:5 virtio_mmio.device=4K@0xc0002000:6 "
            "virtio_mmio.device=4K@0xc0003000:7 virtio_mmio.device=4K@0xc0004000:8 "
            "virtio_mmio.device=4K@0xc0005000:9") in e.stdout()
    assert e.req("GET", "/").json()["state"] == "Running"
    assert e.req("PUT", "/actions", {"action_type": "FlushMetrics"}).status == 204
    assert e.req("PATCH", "/network-interfaces/eth0",
                 {"iface_id": "eth0",
                  "tx_rate_limiter": {"bandwidth": {"size": 10485760, "refill_time": 1000}}}
                 ).status == 204
    assert e.req("PATCH", "/drives/scratch",
                 {"drive_id": "scratch",
                  "rate_limiter": {"bandwidth": {"size": 52428800, "refill_time": 1000}}}
                 ).status == 204
    assert e.req("PATCH", "/vm", {"state": "Paused"}).status == 204
    assert e.req("GET", "/").json()["state"] == "Paused"
    assert e.req("PATCH", "/vm", {"state": "Resumed"}).status == 204
    assert e.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
    assert e.wait_exit() == 0
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert len(lines) >= 3  # InstanceStart, FlushMetrics, exit
    assert "block_rootfs" in lines[0] and "net_eth0" in lines[0]
    text = log.read_text()
    assert "[devbox:fc_api:INFO] The API server received a Put request on \"/actions\"" in text
    assert "[devbox:main:INFO] Vmm is stopping." in text
    assert text.rstrip().endswith("Firecracker exiting successfully. exit_code=0")
    j = e.journal()
    assert j[0]["event"] == "start" and j[-1] == {"event": "exit", "code": 0}
    reqs = [x for x in j if "method" in x]
    assert [(x["method"], x["path"], x["status"]) for x in reqs][:4] == [
        ("GET", "/", 200), ("GET", "/version", 200), ("PUT", "/logger", 204),
        ("PUT", "/metrics", 204)]


def test_startup_lines_and_console_boot(emu, files):
    e = emu()
    out = e.stdout()
    assert "[devbox:main] Running Firecracker v1.16.1" in out
    assert 'Listening on API socket ("' in out and "API server started." in out
    boot(e, files)
    out = e.stdout()
    assert "Linux version" in out
    assert "Command line: console=ttyS0 reboot=k panic=1 pci=off root=/dev/vda rw " \
           "virtio_mmio.device=4K@0xc0001000:5\r\n" in out
    assert "\r\ndevbox login: \r\n" in out


def test_logger_writes_from_offset_zero_without_append(emu, files, tmp_path):
    log = tmp_path / "fc.log"
    log.write_text("X" * 5000)
    e = emu()
    assert e.req("PUT", "/logger", {"log_path": str(log)}).status == 204
    e.req("GET", "/")
    text = log.read_text()
    assert not text.startswith("X") and text.endswith("X")


# -- rejections --------------------------------------------------------------------

DESER = "An error occurred when deserializing the json body of a request: "


@pytest.mark.parametrize("path,body,expect", [
    ("/drives/home", {"drive_id": "home", "path_on_host": "/x", "is_root_device": False,
                      "read_only": True},
     DESER + "unknown field `read_only`, expected one of `drive_id`, `partuuid`, "
     "`is_root_device`, `cache_type`, `is_read_only`, `path_on_host`, `rate_limiter`, "
     "`io_engine`, `socket` at line 1 column "),
    ("/machine-config", {"vcpu_count": 2}, DESER + "missing field `mem_size_mib` at line 1"),
    ("/machine-config", {"vcpu_count": "2", "mem_size_mib": 128},
     DESER + 'invalid type: string "2", expected u8 at line 1'),
    ("/machine-config", {"vcpu_count": True, "mem_size_mib": 128},
     DESER + "invalid type: boolean `true`, expected u8 at line 1"),
    ("/machine-config", {"vcpu_count": 2, "mem_size_mib": 128, "smt": None},
     DESER + "invalid type: null, expected a boolean at line 1"),
    ("/machine-config", {"vcpu_count": 2, "mem_size_mib": 128, "huge_pages": "1G"},
     DESER + "unknown variant `1G`, expected `None` or `2M` at line 1"),
    ("/machine-config", {"vcpu_count": 3, "mem_size_mib": 1024, "smt": True},
     "Machine config error: The number of vCPUs must be greater than 0, less than 32 and must "
     "be 1 or an even number if SMT is enabled."),
    ("/machine-config", {"vcpu_count": 33, "mem_size_mib": 1024},
     "Machine config error: The number of vCPUs must be greater than 0"),
    ("/machine-config", {"vcpu_count": 1, "mem_size_mib": 0},
     "Machine config error: The memory size (MiB) is either 0"),
    ("/actions", {"action_type": "Reboot"},
     DESER + "unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, "
     "`SendCtrlAltDel`"),
    ("/drives/data-1", {"drive_id": "data-1", "is_root_device": False},
     "API Resource IDs can only contain alphanumeric characters and underscores."),
    ("/drives/home", {"drive_id": "data", "path_on_host": "/x", "is_root_device": False},
     "The id from the path does not match the id from the body!"),
    ("/boot-source", {"kernel_image_path": "/nonexistent/vmlinux"},
     "Boot source error: The kernel file cannot be opened: No such file or directory "
     "(os error 2)"),
    ("/actions", {"action_type": "SendCtrlAltDel"},
     "The requested operation is not supported before starting the microVM."),
    ("/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "fcemu-no-such0"},
     "Network config error: Could not create the network device: Open tap device failed: "
     "Error while creating ifreq structure: Operation not permitted (os error 1). Invalid "
     "TUN/TAP Backend provided by fcemu-no-such0."),
    ("/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "a-very-long-tapname"},
     "Network config error: Could not create the network device: Open tap device failed: "
     "Invalid interface name"),
    ("/network-interfaces/eth0", {"iface_id": "eth0", "host_dev_name": "t", "guest_mac": "zz"},
     DESER + "The provided MAC address is not valid."),
    ("/logger", {"level": "Loud"}, DESER + "unknown variant `Loud`"),
    ("/rate", {}, "Invalid request method and/or path: PUT rate."),
])
def test_preboot_rejections(emu, path, body, expect):
    e = emu()
    r = e.req("PUT", path, body)
    assert r.status == 400
    assert r.headers["content-type"] == "application/json"
    assert r.fault.startswith(expect), r.fault
    assert e.req("GET", "/").json()["state"] == "Not started"


def test_unknown_field_position_is_serde_like(emu):
    e = emu()
    body = b'{"vcpu_count":1,"mem_size_mib":128,"bogus":1}'
    r = e.req("PUT", "/machine-config", raw_body=body)
    assert r.fault == DESER + ("unknown field `bogus`, expected one of `vcpu_count`, "
                               "`mem_size_mib`, `smt`, `cpu_template`, `track_dirty_pages`, "
                               "`huge_pages` at line 1 column 42.")


def test_unknown_fields_ignored_where_firecracker_ignores_them(emu, files, tmp_path):
    e = emu()
    r = e.req("PUT", "/metrics", {"metrics_path": str(tmp_path / "m.json"), "extra": 1})
    assert r.status == 204
    r = e.req("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": str(files / "home.ext4"),
                                    "is_root_device": False, "is_read_only": False,
                                    "rate_limiter": {"ops": {"size": 1, "refill_time": 1,
                                                             "whatever": 2}}})
    assert r.status == 204
    r = e.req("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": str(files / "home.ext4"),
                                    "is_root_device": False, "is_read_only": False,
                                    "rate_limiter": {"opz": {}}})
    assert r.status == 400 and "unknown field `opz`" in r.fault


def test_nullable_fields_accept_null(emu, files):
    e = emu()
    r = e.req("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": str(files / "home.ext4"),
                                    "is_root_device": False, "is_read_only": None,
                                    "partuuid": None, "rate_limiter": None, "io_engine": None})
    assert r.status == 204, r.text
    r = e.req("PUT", "/drives/d1", {"drive_id": "d1", "path_on_host": str(files / "home.ext4"),
                                    "is_root_device": False, "cache_type": None})
    assert r.status == 400 and "invalid type: null" in r.fault


def test_second_metrics_and_second_root_rejected(emu, files, tmp_path):
    e = emu()
    assert e.req("PUT", "/metrics", {"metrics_path": str(tmp_path / "m1")}).status == 204
    r = e.req("PUT", "/metrics", {"metrics_path": str(tmp_path / "m2")})
    assert r.fault == ("Metrics error: Cannot initialize the metrics system due to bad user "
                       "input: Reinitialization of metrics not allowed.")
    base_config(e, files)
    r = e.req("PUT", "/drives/home", {"drive_id": "home", "path_on_host": str(files / "home.ext4"),
                                      "is_root_device": True, "is_read_only": False})
    assert r.fault == "Drive config error: A root block device already exists!"
    # Re-PUT of the root drive itself is an update, not a second root.
    r = e.req("PUT", "/drives/rootfs", {"drive_id": "rootfs", "is_root_device": True,
                                        "path_on_host": str(files / "rootfs.ext4"),
                                        "is_read_only": True})
    assert r.status == 204


def test_instance_start_rules(emu, files):
    e = emu()
    r = e.req("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.fault == "Start microvm error: Cannot start microvm without kernel configuration."
    assert e.req("PUT", "/boot-source",
                 {"kernel_image_path": str(files / "bzImage")}).status == 204
    r = e.req("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 400 and r.fault.startswith("Start microvm error: Cannot load kernel")
    boot(e, files)
    r = e.req("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.fault == "The requested operation is not supported after starting the microVM."
    r = e.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
    assert r.fault == "The requested operation is not supported after starting the microVM."
    r = e.req("PUT", "/drives/extra", {"drive_id": "extra", "is_root_device": False,
                                       "path_on_host": str(files / "home.ext4")})
    assert r.fault == "PCI is not enabled"


def test_read_only_image_refused_as_rw_drive(emu, files):
    # We run as root, so mode 0444 would not stop an open(O_RDWR). The emulator
    # really opens the image like FC; an immutable file refuses O_RDWR even to root.
    img = files / "ro.ext4"
    img.write_bytes(b"\0" * 4096)
    if subprocess.run(["chattr", "+i", str(img)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i unsupported here")
    try:
        e = emu()
        r = e.req("PUT", "/drives/ro", {"drive_id": "ro", "path_on_host": str(img),
                                        "is_root_device": False, "is_read_only": False})
        assert r.fault == ("Drive config error: Unable to create the virtio block device: "
                           "Virtio backend error: Error manipulating the backing file: "
                           f"Operation not permitted (os error 1) {img}")
        r = e.req("PUT", "/drives/ro", {"drive_id": "ro", "path_on_host": str(img),
                                        "is_root_device": False, "is_read_only": True})
        assert r.status == 204
    finally:
        subprocess.run(["chattr", "-i", str(img)], check=False)


def test_duplicate_mac_rejected(emu, netns):
    subprocess.run(["ip", "-n", netns, "tuntap", "add", "dev", "bgr-other", "mode", "tap"],
                   check=True)
    e = emu(prefix=["ip", "netns", "exec", netns])
    assert e.req("PUT", "/network-interfaces/eth0",
                 {"iface_id": "eth0", "host_dev_name": "bgr-devbox0",
                  "guest_mac": "06:00:AC:10:00:02"}).status == 204
    r = e.req("PUT", "/network-interfaces/eth1",
              {"iface_id": "eth1", "host_dev_name": "bgr-other",
               "guest_mac": "06:00:ac:10:00:02"})
    assert r.fault == "Network config error: The MAC address is already in use: 06:00:ac:10:00:02"


# -- HTTP-level behaviour -------------------------------------------------------------

def test_http_level_errors(emu):
    e = emu()
    r = e.req("GET", "/", raw_body=b"{}")
    assert r.status == 400 and r.fault == "GET request cannot have a body."
    r = e.req("PUT", "/machine-config")
    assert r.fault == "Empty PUT request."
    r = e.req("GET", "/drives/rootfs")
    assert r.fault == "Invalid request method and/or path: GET drives."
    big = b'{"x":"' + b"a" * 51200 + b'"}'
    r = e.req("PUT", "/mmds", raw_body=big)
    assert r.status == 400
    assert r.text == ('{ "error": "Request payload with size 51208 is larger than the limit of '
                      '51200 allowed by server.\nAll previous unanswered requests will be '
                      'dropped." }')
    # The connection stays usable after the oversized body was skipped.
    assert e.req("GET", "/").status == 200
    e.client.send_raw(b"PUT /mmds HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
    r = e.client.read_response()
    assert r.status == 400 and r.text.startswith('{ "error": "Invalid header.')
    e.client.send_raw(b"POST / HTTP/1.1\r\n\r\n")
    r = e.client.read_response()
    assert r.status == 400 and "Unsupported HTTP method" in r.text


def test_eleventh_connection_gets_503(emu):
    e = emu()
    for _ in range(9):  # plus the fixture's own connection = 10
        c = e.connect()
        assert c.request("GET", "/").status == 200
    extra = e.connect()
    data = b""
    while True:
        chunk = extra.sock.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data.startswith(b"HTTP/1.1 503\r\n")
    assert b"Too many open connections" in data
    assert e.req("GET", "/").status == 200


# -- command line ------------------------------------------------------------------------

def run_cli(*args, tmp_path=None):
    return subprocess.run([FC, *args], capture_output=True, text=True, timeout=10)


def test_cli_rules(tmp_path):
    r = run_cli("--version")
    assert r.returncode == 0 and r.stdout == "Firecracker v1.16.1\n"
    r = run_cli("--id=foo")
    assert r.returncode == 153 and "--id=foo" in r.stderr
    r = run_cli("--id", "a", "--id", "b")
    assert r.returncode == 153 and "more than once" in r.stderr
    r = run_cli("--api-sock", "--id")
    assert r.returncode == 153 and "requires a value" in r.stderr
    r = run_cli("--id", "bad_id", "--api-sock", str(tmp_path / "s"))
    assert r.returncode == -signal.SIGABRT
    r = run_cli("--level", "Loud", "--api-sock", str(tmp_path / "s"))
    assert r.returncode == 152


def test_stale_socket_fails_and_socket_is_never_unlinked(emu, tmp_path):
    stale = tmp_path / "stale.sock"
    stale.write_text("")
    r = run_cli("--api-sock", str(stale), "--id", "x")
    assert r.returncode == 1
    assert r.stderr == f'Error: RunWithApi(FailedToBindSocket("{stale}"))\n'
    e = emu()
    e.proc.send_signal(signal.SIGTERM)
    assert e.wait_exit() == -signal.SIGTERM
    assert os.path.exists(e.sock)


# -- guest behaviour -----------------------------------------------------------------------

def test_ctrl_alt_del_exits_zero(emu, files):
    e = emu()
    boot(e, files)
    assert e.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
    assert e.wait_exit() == 0
    assert "reboot: Restarting system" in e.stdout()
    assert "Firecracker exiting successfully. exit_code=0" in e.stdout()
    assert e.journal()[-1] == {"event": "exit", "code": 0}


def test_guest_prints_the_ready_line_after_boot(emu, files):
    e = emu()
    boot(e, files)
    e.wait_stdout("banger: ready in ")
    out = e.stdout()
    assert out.index("login:") < out.index("banger: ready in 0.35 s\r\n")


def test_ready_delay_and_console_after_boot(emu, files):
    lockup = "[   30.100000] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [systemd:1]"
    e = emu(behaviour={"ready_delay_ms": 300, "console_after_boot": [lockup, "second"]})
    boot(e, files)
    assert "banger: ready" not in e.stdout()  # not before the delay
    e.wait_stdout("second")
    out = e.stdout()
    assert out.index("banger: ready in 0.65 s") < out.index(lockup) < out.index("second")


def test_no_ready_line_when_ready_is_false(emu, files):
    panic = "[    2.000000] Kernel panic - not syncing: Attempted to kill init!"
    e = emu(behaviour={"ready": False, "console_after_boot": [panic]})
    boot(e, files)
    e.wait_stdout("Kernel panic")
    assert "banger: ready" not in e.stdout()


@pytest.mark.parametrize("bad", [{"ready": "yes"}, {"console_after_boot": "panic"},
                                 {"console_after_boot": [1]}, {"ready_delay_ms": -1}])
def test_bad_ready_knobs_are_fatal(emu, files, bad):
    e = emu(behaviour=bad)
    # The behaviour file is read (and checked whole) at the first request
    # that consults it: api_delay_ms makes that every request.
    with pytest.raises(Exception):
        base_config(e, files)
        e.req("PUT", "/actions", {"action_type": "InstanceStart"})
    assert e.wait_exit() == 2
    assert "FCEMU_CONFIG" in e.stderr()


def test_ctrl_alt_del_ignore_keeps_running(emu, files):
    e = emu(behaviour={"ctrl_alt_del": "ignore", "shutdown_delay_ms": 0})
    boot(e, files)
    assert e.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
    with pytest.raises(subprocess.TimeoutExpired):
        e.wait_exit(timeout=0.5)
    assert e.req("GET", "/").json()["state"] == "Running"


def test_ctrl_alt_del_crash(emu, files):
    e = emu(behaviour={"ctrl_alt_del": "crash", "shutdown_delay_ms": 0})
    boot(e, files)
    assert e.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
    assert e.wait_exit() == 150


def test_fail_instance_start(emu, files):
    e = emu(behaviour={"fail_instance_start": True})
    base_config(e, files)
    r = e.req("PUT", "/actions", {"action_type": "InstanceStart"})
    assert r.status == 400 and r.fault.startswith("Start microvm error:")
    assert e.req("GET", "/").json()["state"] == "Not started"


def test_api_delay_holds_each_answer_back(emu):
    e = emu(behaviour={"api_delay_ms": 1000})
    e.client.send_raw(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    # Nothing comes back while the delay runs (a lower bound: a sleep of 1 s).
    ready, _, _ = select.select([e.client.sock], [], [], 0.3)
    assert ready == []
    r = e.client.read_response()
    assert r.status == 200 and r.json()["state"] == "Not started"
    assert e.journal()[-1]["path"] == "/" and e.journal()[-1]["status"] == 200


def test_sigusr2_powers_off_but_process_stays(emu, files):
    e = emu()
    boot(e, files)
    e.proc.send_signal(signal.SIGUSR2)
    e.wait_stdout("reboot: Power down")
    with pytest.raises(subprocess.TimeoutExpired):
        e.wait_exit(timeout=0.5)
    assert e.req("GET", "/").status == 200
    # A halted guest ignores Ctrl+Alt+Del: FC stays alive.
    assert e.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
    with pytest.raises(subprocess.TimeoutExpired):
        e.wait_exit(timeout=0.5)


def test_sigusr1_reboots_and_exits_zero(emu, files):
    e = emu()
    boot(e, files)
    e.proc.send_signal(signal.SIGUSR1)
    assert e.wait_exit() == 0
    out = e.stdout()
    assert "reboot: Restarting system" in out and "Vmm is stopping." in out


def test_sighup_exits_156(emu):
    e = emu()
    e.proc.send_signal(signal.SIGHUP)
    assert e.wait_exit() == 156


# -- snapshots: PATCH /vm, PUT /snapshot/create and /snapshot/load ---------------------

def snapshot(e, tmp):
    """Pauses a booted emulator and writes a Full snapshot into tmp."""
    assert e.req("PATCH", "/vm", {"state": "Paused"}).status == 204
    r = e.req("PUT", "/snapshot/create", {"snapshot_type": "Full",
                                          "snapshot_path": str(tmp / "vmstate"),
                                          "mem_file_path": str(tmp / "memory")})
    assert r.status == 204, r.text
    return tmp / "vmstate", tmp / "memory"


def fresh(tmp_path, name, **kw):
    d = tmp_path / name
    d.mkdir()
    return Emu(d, **kw)


def load_body(snap, mem, **kw):
    return dict({"snapshot_path": str(snap),
                 "mem_backend": {"backend_type": "File", "backend_path": str(mem)}}, **kw)


def test_snapshot_round_trip_restores_the_vm_without_a_boot(emu, files, tmp_path):
    e = emu()
    boot(e, files)
    snap, mem = snapshot(e, tmp_path)
    assert mem.stat().st_size == 256 << 20  # the guest's memory, sparse
    assert mem.stat().st_blocks * 512 < 1 << 20
    state = json.loads(snap.read_text())
    assert state["state"]["drives"][0]["path_on_host"] == str(files / "rootfs.ext4")
    # Paused: the guest does not react to the keyboard.
    assert e.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
    time.sleep(0.4)
    assert e.proc.poll() is None
    e.stop()

    f = fresh(tmp_path, "second")
    try:
        assert f.req("PUT", "/logger", {"level": "Info"}).status == 204
        r = f.req("PUT", "/snapshot/load", load_body(snap, mem, resume_vm=True))
        assert r.status == 204, r.text
        assert f.req("GET", "/").json()["state"] == "Running"
        cfg = f.req("GET", "/vm/config").json()
        assert cfg["machine-config"]["mem_size_mib"] == 256
        assert cfg["drives"][0]["drive_id"] == "rootfs"
        assert "login:" not in f.stdout() and "banger: ready" not in f.stdout()
        # After a load, pre-boot calls are refused as after a boot.
        r = f.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128})
        assert r.status == 400 and "after starting" in r.fault
        assert f.req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}).status == 204
        assert f.wait_exit() == 0
    finally:
        f.stop()


def test_snapshot_load_paused_until_resumed(emu, files, tmp_path):
    e = emu()
    boot(e, files)
    snap, mem = snapshot(e, tmp_path)
    e.stop()
    f = fresh(tmp_path, "second")
    try:
        assert f.req("PUT", "/snapshot/load", load_body(snap, mem)).status == 204
        assert f.req("GET", "/").json()["state"] == "Paused"
        assert f.req("PATCH", "/vm", {"state": "Resumed"}).status == 204
        assert f.req("GET", "/").json()["state"] == "Running"
    finally:
        f.stop()


def test_snapshot_create_rules(emu, files, tmp_path):
    e = emu()
    r = e.req("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s"),
                                          "mem_file_path": str(tmp_path / "m")})
    assert r.status == 400 and "before starting" in r.fault
    r = e.req("PATCH", "/vm", {"state": "Paused"})
    assert r.status == 400 and "before starting" in r.fault
    boot(e, files)
    r = e.req("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s"),
                                          "mem_file_path": str(tmp_path / "m")})
    assert r.status == 400 and "must be paused" in r.fault
    assert e.req("PATCH", "/vm", {"state": "Paused"}).status == 204
    r = e.req("PUT", "/snapshot/create", {"snapshot_type": "Diff",
                                          "snapshot_path": str(tmp_path / "s"),
                                          "mem_file_path": str(tmp_path / "m")})
    assert r.status == 400 and "dirty page tracking" in r.fault
    r = e.req("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s")})
    assert r.status == 400  # mem_file_path is required
    r = e.req("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s"),
                                          "mem_file_path": str(tmp_path / "m"), "version": "1"})
    assert r.status == 400  # removed in 1.6: an unknown field now
    r = e.req("PATCH", "/vm", {"state": "Stopped"})
    assert r.status == 400


@pytest.mark.parametrize("damage", ["corrupt", "truncate", "missing_disk", "other_memory"])
def test_snapshot_load_failures_end_the_process(emu, files, tmp_path, damage):
    e = emu()
    boot(e, files)
    snap, mem = snapshot(e, tmp_path)
    e.stop()
    if damage == "corrupt":
        snap.write_text(snap.read_text().replace("256", "512"))
    elif damage == "truncate":
        os.truncate(mem, 1 << 20)
    elif damage == "missing_disk":
        os.unlink(files / "rootfs.ext4")
    else:
        with open(mem, "r+b") as f:
            f.write(b"X")
    f = fresh(tmp_path, "second")
    try:
        r = f.req("PUT", "/snapshot/load", load_body(snap, mem, resume_vm=True))
        assert r.status == 400 and r.fault.startswith("Load snapshot error"), r.text
        assert f.wait_exit() == 1  # FC ends after a failed load
    finally:
        f.stop()


def test_snapshot_load_only_on_a_fresh_process(emu, files, tmp_path):
    e = emu()
    boot(e, files)
    snap, mem = snapshot(e, tmp_path)
    e.stop()
    f = fresh(tmp_path, "second")
    try:
        assert f.req("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 128}).status \
            == 204
        r = f.req("PUT", "/snapshot/load", load_body(snap, mem))
        assert r.status == 400 and "not allowed after configuring" in r.fault
        both = load_body(snap, mem, mem_file_path=str(mem))
        g = fresh(tmp_path, "third")
        try:
            r = g.req("PUT", "/snapshot/load", both)
            assert r.status == 400 and "exactly one" in r.fault
        finally:
            g.stop()
    finally:
        f.stop()


def test_snapshot_fail_knobs(emu, files, tmp_path):
    e = emu(behaviour={"fail_snapshot_create": True})
    boot(e, files)
    assert e.req("PATCH", "/vm", {"state": "Paused"}).status == 204
    r = e.req("PUT", "/snapshot/create", {"snapshot_path": str(tmp_path / "s"),
                                          "mem_file_path": str(tmp_path / "m")})
    assert r.status == 400 and "fail_snapshot_create" in r.fault
