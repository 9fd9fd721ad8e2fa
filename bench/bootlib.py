"""Booting the runtime bundle by hand, for bench/boot and bench/boot-soak: the
same kernel, initrd and disks banger uses, a QEMU command written out here,
a tap on a bridge inside a throw-away network namespace, and console
watching. Benchmarks print figures; they assert nothing."""
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
READY_RE = re.compile(r"banger: ready(?: in ([0-9.]+) ?s)?")
# What a hung or failed guest shows on the console (bench output only; the
# daemon's classifier is src/vmm/console_scan.c).
TROUBLE_RE = re.compile(r"soft lockup|Kernel panic|rcu_sched self-detected stall|"
                        r"rcu: INFO: rcu_(?:sched|preempt) detected stalls|banger-init: ")


def host_tsc_khz():
    """As the QEMU driver does: under TCG the guest's TSC is the host's."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("cpu MHz"):
                return int(float(line.split(":")[1]) * 1000)
    return None


def sh(*argv, **kw):
    return subprocess.run(list(argv), check=kw.pop("check", True), **kw)


class Netns:
    """A namespace with bridge br0 (172.30.77.1/24) for hand-booted guests."""

    GW = "172.30.77.1"

    def __enter__(self):
        self.name = "bgs-" + secrets.token_hex(4)
        sh("ip", "netns", "add", self.name)
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "link", "add", "br0", "type", "bridge"],
                    ["ip", "addr", "add", f"{self.GW}/24", "dev", "br0"],
                    ["ip", "link", "set", "br0", "up"]):
            self.run(*cmd)
        return self

    def run(self, *argv, **kw):
        return sh("ip", "netns", "exec", self.name, *argv, **kw)

    def tap(self, name):
        self.run("ip", "tuntap", "add", "dev", name, "mode", "tap")
        self.run("ip", "link", "set", name, "master", "br0", "up")

    def __exit__(self, *a):
        sh("ip", "netns", "del", self.name, check=False)


def bundle(runtime):
    info = json.loads((Path(runtime) / "bundle.json").read_text())
    return {k: Path(runtime) / info[k] for k in ("kernel", "initrd", "rootfs")}


def make_disks(work, pubkey=None):
    """Fresh overlay (with a host key) and work disks, the way bangerd makes
    them; root's authorized_keys on the work disk when pubkey is given."""
    stage = tempfile.mkdtemp(dir=work)
    os.makedirs(f"{stage}/o/upper/etc/ssh")
    os.makedirs(f"{stage}/o/work")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
       f"{stage}/o/upper/etc/ssh/ssh_host_ed25519_key")
    os.makedirs(f"{stage}/w/.ssh", mode=0o700)
    if pubkey:
        Path(f"{stage}/w/.ssh/authorized_keys").write_text(Path(pubkey).read_text())
    out = []
    for name, src, size in (("overlay", "o", "8G"), ("work", "w", "16G")):
        p = os.path.join(work, f"{name}.ext4")
        if os.path.exists(p):
            os.unlink(p)
        sh("truncate", "-s", size, p)
        sh("mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
           "-d", f"{stage}/{src}", p)
        out.append(p)
    shutil.rmtree(stage)
    return out


def variant_args(variant):
    """QEMU variants to compare: (accel option, -smp, extra kernel args)."""
    table = {
        "default": ("tcg", 2, ""),
        "thread-single": ("tcg,thread=single", 2, ""),
        "smp1": ("tcg", 1, ""),
        "nokaslr": ("tcg", 2, "nokaslr"),
    }
    if variant not in table:
        raise SystemExit(f"unknown variant {variant!r}; one of {', '.join(table)}")
    return table[variant]


class Guest:
    """One hand-started QEMU guest; console in work/console.log."""

    def __init__(self, ns, runtime, work, disks, addr, tap, variant="default",
                 initrd=None, extra_args="", mem=1024, qemu_out=None):
        accel, smp, vargs = variant_args(variant)
        b = bundle(runtime)
        self.console = Path(work) / "console.log"
        if self.console.exists():
            self.console.unlink()
        khz = host_tsc_khz()
        args = "console=ttyS0 reboot=k panic=1"
        args += f" tsc_early_khz={khz}" if khz else ""
        args += f" banger.hostname=bench banger.ip={addr}/24 banger.gw={Netns.GW}"
        args += f" banger.dns={Netns.GW}"
        args += "".join(f" {a}" for a in (vargs, extra_args) if a)
        argv = (["ip", "netns", "exec", ns.name] if ns else []) + [
                "qemu-system-x86_64", "-M", "microvm",
                "-accel", accel, "-cpu", "max", "-m", str(mem), "-smp", str(smp),
                "-nodefaults", "-no-user-config", "-nographic", "-device", "i8042",
                "-no-reboot", "-serial", f"file:{self.console}",
                "-kernel", str(b["kernel"]), "-initrd", str(initrd or b["initrd"]),
                "-append", args]
        drives = [(b["rootfs"], True)] + [(d, False) for d in disks]
        for i, (p, ro) in enumerate(drives):
            argv += ["-drive", f"id=d{i},file={p},format=raw,if=none"
                     + (",readonly=on" if ro else ""),
                     "-device", f"virtio-blk-device,drive=d{i}"]
        # No tap: a NIC on a QEMU hub with no other port (banger-init wants eth0).
        net = (f"tap,id=n0,ifname={tap},script=no,downscript=no" if tap
               else "hubport,id=n0,hubid=0")
        argv += ["-netdev", net, "-device", "virtio-net-device,netdev=n0,mac=06:00:00:00:be:ef"]
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=qemu_out or subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def text(self):
        try:
            return self.console.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_console(self, regex, timeout):
        """Seconds from start to the first match of regex, or None."""
        deadline = self.t0 + timeout
        while time.monotonic() < deadline:
            m = regex.search(self.text())
            if m:
                return time.monotonic() - self.t0, m
            if self.proc.poll() is not None:
                m = regex.search(self.text())
                return (time.monotonic() - self.t0, m) if m else (None, None)
            time.sleep(0.05)
        return None, None

    def kill(self):
        # The whole session: `ip netns exec` forks, so QEMU is its child.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def wait_ssh_banner(ns_name, addr, deadline):
    """Until sshd on addr:22 sends its banner (inside the namespace)."""
    while time.monotonic() < deadline:
        r = subprocess.run(["ip", "netns", "exec", ns_name, "bash", "-c",
                            f"exec 3<>/dev/tcp/{addr}/22 && head -c 4 <&3"],
                           capture_output=True, timeout=10)
        if r.stdout == b"SSH-":
            return True
        time.sleep(0.05)
    return False


def ssh_cmd(ns_name, key, addr, *cmd):
    return ["ip", "netns", "exec", ns_name, "ssh", "-i", str(key), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10", f"root@{addr}", *cmd]


def floor_initrd(work):
    """An initrd whose /init only says it is ready and powers off: the floor
    for boot time (kernel, initrd unpacking, console)."""
    src = Path(__file__).with_name("floor-init.c")
    d = Path(tempfile.mkdtemp(dir=work))
    sh("cc", "-static", "-Os", "-o", str(d / "init"), str(src))
    (d / "dev").mkdir()
    sh("mknod", "-m", "0600", str(d / "dev/console"), "c", "5", "1")
    out = Path(work) / "floor-initrd.img"
    with open(out, "wb") as f:
        cpio = subprocess.Popen(["cpio", "--create", "--format=newc", "--quiet",
                                 "--owner=0:0"], cwd=d, stdin=subprocess.PIPE,
                                stdout=f)
        cpio.communicate(b"init\ndev\ndev/console\n")
    shutil.rmtree(d)
    return out
