"""Fixtures for banger's integration tests.

Every test that talks to the daemon gets its own temporary HOME / XDG tree
and its own network namespace; `banger` and `bangerd` run inside that
namespace (ip netns exec), so the host's links, addresses and firewall are
never touched. Firecracker is replaced by the strict API emulator in
tests/fcemu, which checks every request against the Firecracker spec.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BANGER = REPO / "banger"
BANGERD = REPO / "bangerd"
FCEMU = REPO / "tests" / "fcemu" / "firecracker"


def alive(pid):
    """True while pid runs (a zombie waiting to be reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return "zombie" not in f.read()
    except OSError:
        return False


def _require_binaries():
    for b in (BANGER, BANGERD):
        if not b.exists():
            pytest.fail(f"{b} is missing: run `make build` first")


def make_fake_kernel(path):
    """A file that starts like an x86-64 ELF image (the emulator checks the
    magic; nothing boots it)."""
    hdr = bytearray(64)
    hdr[0:4] = b"\x7fELF"
    hdr[4] = 2  # 64-bit
    hdr[5] = 1  # little endian
    hdr[6] = 1
    hdr[16] = 2  # ET_EXEC
    hdr[18] = 0x3E  # x86-64
    path.write_bytes(bytes(hdr) + b"\0" * 4096)


def make_rootfs(path, size="32M"):
    stage = Path(tempfile.mkdtemp())
    try:
        (stage / "etc").mkdir()
        (stage / "etc" / "os-release").write_text("ID=banger-test\n")
        (stage / "sbin").mkdir()
        subprocess.run(["truncate", "-s", size, str(path)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", "-d", str(stage), str(path)], check=True)
    finally:
        shutil.rmtree(stage)


class Env:
    """One isolated banger installation: HOME, XDG dirs, netns, config."""

    def __init__(self, root, netns):
        self.root = Path(root)
        self.netns = netns
        self.home = self.root / "home"
        self.home.mkdir()
        # Short runtime dir: socket paths must fit sun_path.
        self.runtime = Path(tempfile.mkdtemp(prefix="bgr-", dir="/tmp"))
        os.chmod(self.runtime, 0o700)
        self.journal = self.root / "journal"
        self.journal.mkdir()
        self.fcemu_config = self.root / "fcemu.json"
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin:/usr/sbin:/sbin"),
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_RUNTIME_DIR": str(self.runtime),
            "FCEMU_JOURNAL_DIR": str(self.journal),
            "FCEMU_CONFIG": str(self.fcemu_config),
            "BANGER_SSH_WAIT": "20",
            "LANG": "C.UTF-8",
        }
        self.config_dir = self.home / ".config" / "banger"
        self.config_dir.mkdir(parents=True)
        self.state = self.home / ".local" / "state" / "banger"
        self.images = self.root / "img"
        self.images.mkdir()

    # -- configuration -------------------------------------------------
    def write_config(self, text):
        (self.config_dir / "config.toml").write_text(text)

    def default_config(self, extra=""):
        self.write_config(
            f'log_level = "debug"\n'
            f'firecracker_bin = "{FCEMU}"\n'
            f'vmm = "firecracker"\n'
            f'stop_timeout = 2\n'
            f'default_memory = 256\n'
            f'default_vcpu = 1\n'
            f'default_disk_size = "128M"\n'
            f'default_overlay_size = "128M"\n'
            f'runtime_dir = "{self.root / "no-bundle"}"\n' + extra
        )

    def fcemu(self, **kw):
        self.fcemu_config.write_text(json.dumps(kw))

    def make_image_files(self):
        kernel = self.images / "vmlinux"
        make_fake_kernel(kernel)
        rootfs = self.images / "rootfs.ext4"
        make_rootfs(rootfs)
        initrd = self.images / "initrd.img"
        initrd.write_bytes(b"070701" + b"0" * 100)
        return kernel, rootfs, initrd

    def register_default_image(self):
        kernel, rootfs, initrd = self.make_image_files()
        r = self.banger("image", "register", "--name", "default", "--rootfs", str(rootfs),
                        "--kernel", str(kernel), "--initrd", str(initrd))
        assert r.returncode == 0, r.stderr
        return kernel, rootfs, initrd

    # -- running things ------------------------------------------------
    def cmd(self, argv, timeout=120, input=None, check=False):
        full = ["ip", "netns", "exec", self.netns] + [str(a) for a in argv]
        r = subprocess.run(full, env=self.env, capture_output=True, text=True,
                           timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{argv} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def banger(self, *args, timeout=120, check=False):
        return self.cmd([BANGER, *args], timeout=timeout, check=check)

    def bjson(self, *args):
        r = self.banger(*args, "--json", check=True)
        return json.loads(r.stdout)

    def vm(self, name):
        return self.bjson("vm", "show", name)

    def socket(self):
        return self.runtime / "banger" / "bangerd.sock"

    def daemon_pid(self):
        p = self.runtime / "banger" / "bangerd.pid"
        try:
            return int(p.read_text().strip())
        except (OSError, ValueError):
            return None

    def log_lines(self):
        p = self.state / "bangerd.log"
        if not p.exists():
            return []
        return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]

    def journal_of(self, vm_id):
        p = self.journal / f"{vm_id}.jsonl"
        if not p.exists():
            return []
        return [json.loads(l) for l in p.read_text().splitlines() if l.strip()]

    def api(self, method, path, body=None, raw=None, timeout=30):
        """curl over the Unix socket; returns (status, parsed JSON or text)."""
        argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--unix-socket",
                str(self.socket()), "-X", method, f"http://banger{path}"]
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            argv += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
        r = subprocess.run(argv, capture_output=True, text=True, input=data, timeout=timeout)
        out, _, code = r.stdout.rpartition("\n")
        try:
            parsed = json.loads(out)
        except ValueError:
            parsed = out
        return int(code or 0), parsed

    def wait_for(self, pred, timeout=10, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def stop_daemon(self):
        pid = self.daemon_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            for _ in range(200):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)

    def kill_vmms(self):
        """Kills every VMM this env's VMs started (test cleanup)."""
        vms_dir = self.state / "vms"
        if not vms_dir.exists():
            return
        out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
        for line in out.splitlines()[1:]:
            pid, _, args = line.strip().partition(" ")
            if str(self.runtime) in args and ("firecracker" in args or "qemu" in args):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass


@pytest.fixture
def netns():
    name = "bgt-" + secrets.token_hex(4)
    subprocess.run(["ip", "netns", "add", name], check=True)
    subprocess.run(["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"], check=True)
    try:
        yield name
    finally:
        # Taps and bridges die with the namespace; the nft table too.
        subprocess.run(["ip", "netns", "del", name], check=False)


@pytest.fixture
def env(tmp_path, netns):
    _require_binaries()
    e = Env(tmp_path, netns)
    e.default_config()
    try:
        yield e
    finally:
        e.stop_daemon()
        e.kill_vmms()
        shutil.rmtree(e.runtime, ignore_errors=True)


@pytest.fixture
def booted(env):
    """An env with the default image registered."""
    env.register_default_image()
    return env
