"""A stand-in guest for network tests: sshd in its own network namespace,
wired to a VM's tap through tests/standin/tap_relay.

Nothing boots under the Firecracker emulator, so a test that wants to reach
"the guest" over the network builds one: a second namespace (the guest)
holds an eth0 whose frames tap_relay copies to and from the VM's tap in the
daemon's namespace. The guest side gets the VM's MAC and address and a
default route via the bridge, so traffic takes the same path a real guest's
would: CLI -> bridge banger0 -> tap bgr... -> eth0 -> sshd.

Run the VMs with FCEMU_RELEASE_TAP=1 in the daemon's environment, or the
emulator holds the (single-queue) tap and the relay cannot attach.
"""
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RELAY_SRC = REPO / "tests" / "standin" / "tap_relay.c"


def build_relay(out_dir):
    """Compiles tap_relay into out_dir; returns its path."""
    exe = Path(out_dir) / "tap_relay"
    subprocess.run(["gcc", "-std=c17", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-O2",
                    "-o", str(exe), str(RELAY_SRC)], check=True)
    return exe


def _stop(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Guest:
    """One stand-in guest behind a running VM's tap. Use as a context
    manager: the namespace, relay and sshd are always removed on exit."""

    def __init__(self, env, vm, relay, prefix=24, gateway="172.30.77.1"):
        self.env = env
        self.vm = vm
        self.relay_bin = relay
        self.prefix = prefix
        self.gateway = gateway
        self.netns = "bgg-" + secrets.token_hex(4)
        self.dir = Path(tempfile.mkdtemp(prefix="bgg-"))
        self.tap = "bgr" + vm["id"][:12]
        self.relay = None
        self.sshd = None
        self.sshd_log = self.dir / "sshd.log"

    def ip(self, *args):
        subprocess.run(["ip", "-n", self.netns, *args], check=True, capture_output=True,
                       text=True)

    def __enter__(self):
        try:
            self._start_net()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _start_net(self):
        subprocess.run(["ip", "netns", "add", self.netns], check=True)
        self.ip("link", "set", "lo", "up")
        # The relay attaches to the VM's tap in the daemon's namespace, then
        # makes eth0 in the guest's.
        self.relay = subprocess.Popen(
            ["ip", "netns", "exec", self.env.netns, str(self.relay_bin), self.tap, self.netns],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.relay.stdout.readline()
        if line.strip() != "ready":
            self.relay.wait(timeout=5)
            raise AssertionError(f"tap_relay failed: {self.relay.stderr.read()}")
        self.ip("link", "set", "eth0", "address", self.vm["mac"])
        self.ip("addr", "add", f"{self.vm['address']}/{self.prefix}", "dev", "eth0")
        self.ip("link", "set", "eth0", "up")
        self.ip("route", "add", "default", "via", self.gateway)

    def start_sshd(self, host_key):
        """Runs sshd on the VM's address with host_key, accepting banger's
        user key for root. Returns once it listens."""
        _stop(self.sshd)
        pub = (self.env.state / "ssh" / "id_ed25519.pub").read_text()
        auth = self.dir / "authorized_keys"
        auth.write_text(pub)
        os.chmod(auth, 0o600)
        # sshd refuses to start without its privilege separation directory.
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        argv = ["ip", "netns", "exec", self.netns, "/usr/sbin/sshd", "-D", "-e",
                "-f", "/dev/null",
                "-o", f"HostKey={host_key}",
                "-o", f"ListenAddress={self.vm['address']}:22",
                "-o", f"AuthorizedKeysFile={auth}",
                "-o", "PermitRootLogin=prohibit-password",
                "-o", "PasswordAuthentication=no",
                "-o", "KbdInteractiveAuthentication=no",
                "-o", "UsePAM=no",
                "-o", "StrictModes=no",  # the key lives under world-writable /tmp
                "-o", f"PidFile={self.dir / 'sshd.pid'}"]
        with open(self.sshd_log, "w") as log:
            self.sshd = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.sshd.poll() is not None:
                raise AssertionError(f"sshd exited: {self.sshd_log.read_text()}")
            ss = subprocess.run(["ip", "netns", "exec", self.netns, "ss", "-Hltn",
                                 "sport = :22"], capture_output=True, text=True).stdout
            if self.vm["address"] in ss:
                return
            time.sleep(0.05)
        raise AssertionError(f"sshd did not listen: {self.sshd_log.read_text()}")

    def close(self):
        _stop(self.sshd)
        _stop(self.relay)
        for p in (self.relay, self.sshd):
            for f in (getattr(p, "stdout", None), getattr(p, "stderr", None)):
                if f:
                    f.close()
        subprocess.run(["ip", "netns", "del", self.netns], check=False, capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
