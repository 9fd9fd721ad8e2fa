"""Fixtures for banger's integration tests.

Every test that talks to the daemon gets its own temporary HOME / XDG tree
and its own network namespace; `banger` and `bangerd` run inside that
namespace (ip netns exec), so the host's links, addresses and firewall are
never touched. Firecracker is replaced by the strict API emulator in
tests/fcemu, which checks every request against the Firecracker spec.
"""
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BANGER = REPO / "banger"
BANGERD = REPO / "bangerd"
FCEMU = REPO / "tests" / "fcemu" / "firecracker"
# The sanitizer build (`make unit-asan`); ASAN_BUILD as in the Makefile.
ASAN_DIR = REPO / os.environ.get("ASAN_BUILD", "build-asan")
TRANSITIONAL = ("creating", "starting", "stopping", "deleting", "suspending")


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


def proc_state(pid):
    """The state letter in /proc/PID/stat (R, S, Z, ...); None when gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return None


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over the daemon's Unix socket (no curl per request)."""

    def __init__(self, path, timeout=60):
        super().__init__("banger", timeout=timeout)
        self.unix_path = str(path)

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def unix_api(sock_path, method, path, body=None, timeout=60):
    """One request on a fresh connection, as the CLI makes them: (status,
    parsed JSON or text)."""
    c = UnixHTTPConnection(sock_path, timeout)
    try:
        data = json.dumps(body) if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        c.request(method, path, body=data, headers=headers)
        r = c.getresponse()
        text = r.read().decode()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text
    finally:
        c.close()


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
        # A worktree outside the usual layout points the emulator at its spec.
        if os.environ.get("FCEMU_SPEC"):
            self.env["FCEMU_SPEC"] = os.environ["FCEMU_SPEC"]
        self.config_dir = self.home / ".config" / "banger"
        self.config_dir.mkdir(parents=True)
        self.state = self.home / ".local" / "state" / "banger"
        self.images = self.root / "img"
        self.images.mkdir()
        self.banger_bin = BANGER
        self.sanitizer_logs = None

    # -- options (before the daemon starts) ------------------------------
    def use_state_home(self, path):
        """XDG_STATE_HOME elsewhere (a small filesystem, say): the state
        directory becomes path/banger."""
        self.env["XDG_STATE_HOME"] = str(path)
        self.state = Path(path) / "banger"

    def use_asan(self):
        """Runs the sanitizer build's banger and bangerd (copied side by side,
        so the CLI starts that bangerd), with every ASan/UBSan/LSan report
        written under self.sanitizer_logs. False when that build is missing."""
        bins = {"banger": ASAN_DIR / "src" / "cli" / "banger",
                "bangerd": ASAN_DIR / "src" / "daemon" / "bangerd",
                "banger-netd": ASAN_DIR / "src" / "net" / "banger-netd",
                "banger-sftp": ASAN_DIR / "src" / "share" / "banger-sftp"}
        if not all(b.exists() for b in bins.values()):
            return False
        d = self.root / "asan-bin"
        d.mkdir()
        for name, b in bins.items():
            shutil.copy2(b, d / name)
        self.banger_bin = d / "banger"
        self.sanitizer_logs = self.root / "sanitizer"
        self.sanitizer_logs.mkdir()
        self.env["ASAN_OPTIONS"] = f"log_path={self.sanitizer_logs}/asan:detect_leaks=1"
        self.env["UBSAN_OPTIONS"] = f"log_path={self.sanitizer_logs}/ubsan:print_stacktrace=1"
        self.env["LSAN_OPTIONS"] = f"log_path={self.sanitizer_logs}/lsan"
        return True

    def assert_sanitizer_clean(self):
        """Stops the daemon cleanly (so LeakSanitizer runs) and fails on any
        sanitizer report from the daemon or a CLI run."""
        if not self.sanitizer_logs:
            return
        # SIGTERM is the same clean shutdown as `banger daemon stop`, without
        # the CLI's own connection in the way.
        pid = self.daemon_pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            self.wait_for(lambda: proc_state(pid) in (None, "Z"), 60, "bangerd to exit")
        reports = self.sanitizer_reports()
        assert not reports, "sanitizer reports:\n" + "\n".join(
            f"== {k}\n{v[:4000]}" for k, v in reports.items())

    def sanitizer_reports(self):
        """{file name: text} of every sanitizer report written so far."""
        if not self.sanitizer_logs:
            return {}
        return {p.name: p.read_text(errors="replace")
                for p in sorted(self.sanitizer_logs.iterdir())}

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
    def cmd(self, argv, timeout=120, input=None, check=False, cwd=None):
        full = ["ip", "netns", "exec", self.netns] + [str(a) for a in argv]
        r = subprocess.run(full, env=self.env, capture_output=True, text=True,
                           timeout=timeout, input=input, cwd=cwd)
        if check and r.returncode != 0:
            raise AssertionError(f"{argv} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def banger(self, *args, timeout=120, check=False, cwd=None):
        return self.cmd([self.banger_bin, *args], timeout=timeout, check=check, cwd=cwd)

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
        if int(code or 0) and os.environ.get("BANGER_OPENAPI_CHECK") == "1":
            import openapi_check  # only then: it needs python3-jsonschema
            openapi_check.check(method, path, int(code), parsed)
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

    # -- what a user would check after a crash -----------------------
    def vmm_processes(self):
        """{API socket: pid} of the live (not zombie) VMM processes started
        for this env, found by their --api-sock under its runtime dir."""
        found = {}
        run = str(self.runtime) + "/"
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                argv = [a.decode(errors="replace")
                        for a in (p / "cmdline").read_bytes().split(b"\0")]
            except OSError:
                continue
            if "--api-sock" not in argv[:-1]:
                continue
            sock = argv[argv.index("--api-sock") + 1]
            if sock.startswith(run) and proc_state(p.name) not in (None, "Z", "X"):
                found[sock] = int(p.name)
        return found

    def taps(self):
        """Names of the per-VM taps in the namespace."""
        out = self.cmd(["ip", "-j", "link", "show"], check=True).stdout
        return {l["ifname"] for l in json.loads(out) if l["ifname"].startswith("bgr")}

    def nat_rule_vm_ids(self):
        """VM ids that have a rule in nft table ip banger."""
        r = self.cmd(["nft", "-j", "list", "table", "ip", "banger"])
        if r.returncode != 0:
            return set()
        ids = set()
        for item in json.loads(r.stdout)["nftables"]:
            tag = item.get("rule", {}).get("comment", "")
            if tag.startswith("banger-vm:"):
                ids.add(tag[len("banger-vm:"):])
        return ids

    def reality_problems(self):
        """Everything that disagrees between what banger says and what is on
        the host: VMs in a transitional state, a running VM without its VMM
        (or a zombie), a stopped VM with one, orphan VMMs, taps and NAT
        rules of VMs that are not running (and missing ones of VMs that
        are), disks that do not match the record, VM and image directories
        without a record. The first command starts the daemon if needed; it
        answers only once its reconcile is done."""
        problems = []
        vms = self.bjson("vm", "list")
        imgs = self.bjson("image", "list")
        procs = self.vmm_processes()
        socks = {v["api_socket"] for v in vms}
        running = {v["id"]: v for v in vms if v["state"] == "running"}
        for v in vms:
            n, st = v["name"], v["state"]
            pid = procs.get(v["api_socket"])
            if st in TRANSITIONAL:
                problems.append(f"{n} is still {st}")
            if st == "running" and not pid:
                problems.append(f"{n} is running (pid {v['pid']}) but no live VMM has its "
                                f"API socket (pid state {proc_state(v['pid'])})")
            elif st == "running" and pid != v["pid"]:
                problems.append(f"{n} is running as pid {v['pid']} but its VMM is pid {pid}")
            elif st in ("stopped", "suspended") and pid:
                problems.append(f"{n} is {st} but its VMM (pid {pid}) runs")
            vdir = Path(v["dir"])
            if st == "suspended" and not (vdir / "suspend" / "manifest.json").is_file():
                problems.append(f"{n} is suspended but has no complete saved state")
            if st in ("stopped", "running") and (vdir / "suspend").exists():
                problems.append(f"{n} is {st} but a saved state is left in {vdir}")
            for left in ("suspend.tmp", "suspend.used"):
                if (vdir / left).exists():
                    problems.append(f"{n} has a leftover {left}")
            work = Path(v["work_disk"]["path"])
            if st not in ("creating", "deleting"):
                if not (Path(v["overlay"]["path"]).is_file() and work.is_file()):
                    problems.append(f"{n} is {st} but its disks are missing from {v['dir']}")
                elif work.stat().st_size != v["disk_size"]:
                    problems.append(f"{n} records disk_size {v['disk_size']} but its work disk "
                                    f"is {work.stat().st_size} bytes")
        for sock, pid in procs.items():
            if sock not in socks:
                problems.append(f"orphan VMM pid {pid} (--api-sock {sock}) of no VM")
        want_taps = {"bgr" + i[:12] for i in running}
        taps = self.taps()
        problems += [f"tap {t} of no running VM" for t in sorted(taps - want_taps)]
        problems += [f"running VM {running[i]['name']} has no tap" for i in running
                     if "bgr" + i[:12] not in taps]
        rules = self.nat_rule_vm_ids()
        problems += [f"NAT rule of VM {i}, which is not running" for i in sorted(rules)
                     if i not in running]
        problems += [f"running VM {v['name']} has NAT on but no rule"
                     for i, v in running.items() if v["nat"] and i not in rules]
        ids = {v["id"] for v in vms}
        vdir = self.state / "vms"
        if vdir.exists():
            problems += [f"VM directory {p} has no record" for p in sorted(vdir.iterdir())
                         if p.name not in ids]
        img_ids = {i["id"] for i in imgs}
        problems += [f"image {i['name']} is still {i['state']}" for i in imgs
                     if i["state"] != "ready"]
        idir = self.state / "images"
        if idir.exists():
            problems += [f"image directory {p} has no record" for p in sorted(idir.iterdir())
                         if p.name not in img_ids]
        return problems

    def settled_problems(self, timeout=15):
        """reality_problems() once they are gone, or the last ones after
        timeout seconds (an interrupted stop finishes after the restart)."""
        deadline = time.time() + timeout
        while True:
            problems = self.reality_problems()
            if not problems or time.time() > deadline:
                return problems
            time.sleep(0.1)

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


@pytest.fixture(params=["plain", "asan"])
def flavoured_env(request, env):
    """env twice: with the normal build, then with the ASan/UBSan build
    (skipped when build-asan/ is not built). A test ends with
    env.assert_sanitizer_clean()."""
    if request.param == "asan" and not env.use_asan():
        pytest.skip(f"no sanitizer build in {ASAN_DIR} (make unit-asan)")
    env.flavour = request.param
    return env


@pytest.fixture
def booted(env):
    """An env with the default image registered."""
    env.register_default_image()
    return env
